// The backend conformance scenarios (suite.ts) on the Ethereum backend: the embedded chain with
// the Solidity contracts, ETH in one asset holder, each party withdrawing to a fresh address.
import { Wallet, parseEther } from 'ethers';
import {
  EthereumAdjudicatorAdapter,
  EthereumEventSource,
  ethereumBackend,
} from '../../src/channels/ethereum/backend.js';
import { ethAsset, ETH_BACKEND_ID } from '../../src/channels/ethereum/encoding.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { conformanceSuite } from './suite.js';

let world: World;

conformanceSuite(() => ({
  name: 'Ethereum',
  backend: ethereumBackend,
  unit: parseEther('1'),
  start: async () => {
    world = await startWorld();
  },
  stop: () => world.stop(),
  party: (i) => {
    const party = world.party(i, `party-${i}`);
    const receiver = Wallet.createRandom().address;
    return Promise.resolve({
      signer: party.signer,
      funder: party.funder,
      adjudicator: new EthereumAdjudicatorAdapter(party.adjudicator, party.signer, receiver),
      events: new EthereumEventSource(world.chain.provider(), world.deployment.adjudicator, {
        pollIntervalMs: 20,
      }),
      received: () => world.chain.provider().getBalance(receiver),
    });
  },
  allocation: (a, b) => ({
    assets: [ethAsset(world.chainId, world.deployment.assetHolderETH)],
    backends: [ETH_BACKEND_ID],
    balances: [[a, b]],
    locked: [],
  }),
  advance: (seconds) => world.chain.increaseTime(seconds),
}));
