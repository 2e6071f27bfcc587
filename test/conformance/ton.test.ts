// The backend conformance scenarios (suite.ts) on the TON backend: the sandbox with the Tolk
// Perun contract, Toncoin, each party withdrawing to a fresh (uninitialised) account.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import { tonBackend, tonEnvironment } from '../../src/channels/ton/backend.js';
import { SandboxTonChain } from '../../src/channels/ton/chain.js';
import { tonAsset, TON_BACKEND_ID } from '../../src/channels/ton/encoding.js';
import { TonSigner } from '../../src/channels/ton/signer.js';
import { conformanceSuite } from './suite.js';

let chain: SandboxTonChain;
let perun: TonAddress;

conformanceSuite(() => ({
  name: 'TON',
  backend: tonBackend,
  unit: 1_000_000_000n,
  start: async () => {
    chain = await SandboxTonChain.create();
    perun = await chain.deployPerun();
  },
  stop: () => Promise.resolve(),
  party: async (i) => {
    const receiver = new TonAddress(0, randomBytes(32));
    const env = tonEnvironment(chain, perun, TonSigner.random(), await chain.wallet(`party-${i}`), {
      receiver,
      timeoutMs: 5_000,
      pollIntervalMs: 20,
      eventPollMs: 20,
    });
    return { ...env, received: () => chain.balance(receiver) };
  },
  allocation: (a, b) => ({
    assets: [tonAsset(chain.chainID, perun)],
    backends: [TON_BACKEND_ID],
    balances: [[a, b]],
    locked: [],
  }),
  advance: (seconds) => {
    chain.advance(seconds);
    return Promise.resolve();
  },
}));
