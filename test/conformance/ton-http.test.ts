// The backend conformance scenarios (suite.ts) on the TON backend reached over HTTP: the chain
// server (sandbox + Perun contract behind the toncenter-shaped API) and HttpTonChain with the
// server's development wallets, as separate agent processes use it.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import { tonBackend, tonEnvironment } from '../../src/channels/ton/backend.js';
import { tonAsset, TON_BACKEND_ID } from '../../src/channels/ton/encoding.js';
import { HttpTonChain } from '../../src/channels/ton/http-chain.js';
import { startTonChainServer, type TonChainServer } from '../../src/channels/ton/http-server.js';
import { TonSigner } from '../../src/channels/ton/signer.js';
import { conformanceSuite } from './suite.js';

let server: TonChainServer | undefined;
let chain: HttpTonChain;

conformanceSuite(() => ({
  name: 'TON over HTTP',
  backend: tonBackend,
  unit: 1_000_000_000n,
  start: async () => {
    server = await startTonChainServer();
    chain = await HttpTonChain.connect(server.url);
  },
  stop: async () => {
    await server?.close();
    server = undefined;
  },
  party: async (i) => {
    const receiver = new TonAddress(0, randomBytes(32));
    const env = tonEnvironment(
      chain,
      server!.perun,
      TonSigner.random(),
      await chain.devWallet(`party-${i}`),
      {
        receiver,
        timeoutMs: 5_000,
        pollIntervalMs: 20,
        eventPollMs: 20,
      },
    );
    return { ...env, received: () => chain.balance(receiver) };
  },
  allocation: (a, b) => ({
    assets: [tonAsset(chain.chainID, server!.perun)],
    backends: [TON_BACKEND_ID],
    balances: [[a, b]],
    locked: [],
  }),
  advance: (seconds) => chain.advance(seconds),
}));
