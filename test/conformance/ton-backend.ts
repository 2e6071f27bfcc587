// The TON backend as the conformance suite takes it, on any TonChain with the Perun contract: the
// sandbox in-process (ton.test.ts) or the chain server over HTTP (ton-http.test.ts). Each party
// withdraws to a fresh (uninitialised) account.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import { tonBackend, tonEnvironment } from '../../src/channels/ton/backend.js';
import type { TonChain, TonWallet } from '../../src/channels/ton/chain.js';
import { tonAsset, TON_BACKEND_ID } from '../../src/channels/ton/encoding.js';
import { TonSigner } from '../../src/channels/ton/signer.js';
import type { ConformanceBackend } from './suite.js';

export interface TonConformanceWorld {
  chain: TonChain;
  perun: TonAddress;
  wallet(name: string): Promise<TonWallet>;
  advance(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export function tonConformanceBackend(
  name: string,
  start: () => Promise<TonConformanceWorld>,
): ConformanceBackend {
  let world: TonConformanceWorld | undefined;
  const w = () => world!;
  return {
    name,
    backend: tonBackend,
    unit: 1_000_000_000n,
    start: async () => {
      world = await start();
    },
    stop: () => world?.stop() ?? Promise.resolve(),
    party: async (i) => {
      const receiver = new TonAddress(0, randomBytes(32));
      const env = tonEnvironment(w().chain, w().perun, TonSigner.random(), await w().wallet(`party-${i}`), {
        receiver,
        timeoutMs: 5_000,
        pollIntervalMs: 20,
        eventPollMs: 20,
      });
      return { ...env, received: () => w().chain.balance(receiver) };
    },
    allocation: (a, b) => ({
      assets: [tonAsset(w().chain.chainID, w().perun)],
      backends: [TON_BACKEND_ID],
      balances: [[a, b]],
      locked: [],
    }),
    advance: (seconds) => w().advance(seconds),
  };
}
