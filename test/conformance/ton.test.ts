// The backend conformance scenarios (suite.ts) on the TON backend: the sandbox with the Tolk
// Perun contract, Toncoin, each party withdrawing to a fresh (uninitialised) account.
import { SandboxTonChain } from '../../src/channels/ton/chain.js';
import { conformanceSuite } from './suite.js';
import { tonConformanceBackend } from './ton-backend.js';

conformanceSuite(() =>
  tonConformanceBackend('TON', async () => {
    const chain = await SandboxTonChain.create();
    return {
      chain,
      perun: await chain.deployPerun(),
      wallet: (name) => chain.wallet(name),
      advance: (seconds) => Promise.resolve(chain.advance(seconds)),
      stop: () => Promise.resolve(),
    };
  }),
);
