// A chain-backed test world: an embedded chain with the contracts deployed and named
// participants, each with a participant key (signs states) and a funded account (sends txs).
import { Wallet, parseEther } from 'ethers';
import { ChainError } from '../../src/channels/errors.js';
import { EmbeddedChain } from '../../src/channels/ethereum/embedded-chain.js';
import { deployContracts, type Deployment } from '../../src/channels/ethereum/deploy.js';
import { EthereumAdjudicator } from '../../src/channels/ethereum/adjudicator.js';
import { EthereumFunder } from '../../src/channels/ethereum/funder.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { TxSender } from '../../src/channels/ethereum/tx.js';
import {
  adjudicatorContract,
  assetHolderContract,
  erc20Contract,
} from '../../src/channels/ethereum/contracts.js';
import { channelId, type Address, type Params, type State } from '../../src/channels/ethereum/encoding.js';
import type { Contract } from 'ethers';
import { allocation, ledgerParams, signAll } from './fixtures.js';

export interface Party {
  name: string;
  /** Signs channel states and withdrawal authorizations. */
  signer: EthereumSigner;
  /** Sends this party's transactions. */
  tx: TxSender;
  account: Address;
  funder: EthereumFunder;
  adjudicator: EthereumAdjudicator;
}

export interface World {
  chain: EmbeddedChain;
  deployment: Deployment & { assetHolderERC20: Address; token: Address; credentialPaymentApp: Address };
  chainId: bigint;
  party(i: number, name: string): Party;
  adjudicator: Contract;
  ethHolder: Contract;
  erc20Holder: Contract;
  token: Contract;
  stop(): Promise<void>;
}

export const TOKEN_SUPPLY = parseEther('1000');

export async function startWorld(): Promise<World> {
  const chain = await EmbeddedChain.start();
  const deployer = chain.wallet(0);
  const deployment = (await deployContracts(deployer, {
    testToken: { holders: chain.accounts.map((a) => a.address), supply: TOKEN_SUPPLY },
    trivialApp: true,
    credentialPaymentApp: true,
  })) as World['deployment'];
  const provider = chain.provider();
  const parties = new Map<number, Party>();
  return {
    chain,
    deployment,
    chainId: deployment.chainId,
    party(i: number, name: string): Party {
      let p = parties.get(i);
      if (p === undefined) {
        const wallet = new Wallet(chain.accounts[i]!.privateKey, provider);
        const tx = new TxSender(wallet);
        p = {
          name,
          signer: EthereumSigner.random(),
          tx,
          account: wallet.address,
          funder: new EthereumFunder(tx, { timeoutMs: 30_000, pollIntervalMs: 20 }),
          adjudicator: new EthereumAdjudicator(tx, deployment.adjudicator),
        };
        parties.set(i, p);
      }
      return p;
    },
    adjudicator: adjudicatorContract(deployment.adjudicator, provider),
    ethHolder: assetHolderContract(deployment.assetHolderETH, provider),
    erc20Holder: assetHolderContract(deployment.assetHolderERC20, provider),
    token: erc20Contract(deployment.token, provider),
    stop: () => chain.stop(),
  };
}

/** A two-party ETH ledger channel between `a` and `b` with initial balances `bals`. */
export function ethChannel(
  world: World,
  a: Party,
  b: Party,
  bals: [bigint, bigint],
  overrides: Partial<Params> = {},
) {
  const params = ledgerParams([a.signer.address, b.signer.address], overrides);
  const init: State = {
    channelID: channelId(params),
    version: 0n,
    outcome: allocation(world.chainId, [world.deployment.assetHolderETH], [bals]),
    appData: '0x',
    isFinal: false,
  };
  return { params, init };
}

/** `state` with new balances of the first asset, a version and a final flag. */
export function next(state: State, version: bigint, bals: bigint[], isFinal = false): State {
  return {
    ...state,
    version,
    isFinal,
    outcome: { ...state.outcome, balances: [bals, ...state.outcome.balances.slice(1)] },
  };
}

export function signed(params: Params, state: State, parties: Party[]) {
  return {
    params,
    state,
    sigs: signAll(
      parties.map((p) => p.signer),
      state,
    ),
  };
}

/** Fails the test unless `call` is refused with a ChainError carrying exactly `reason`. */
export async function expectRefused(call: Promise<unknown>, reason: string): Promise<void> {
  const err = await call.then(
    () => new Error(`expected a refusal with "${reason}", but the call succeeded`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChainError);
  expect((err as ChainError).details.reason).toBe(reason);
}
