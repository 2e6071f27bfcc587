// The backend conformance scenarios (suite.ts) on the TON backend reached over HTTP: the chain
// server (sandbox + Perun contract behind the toncenter-shaped API) and HttpTonChain with the
// server's development wallets, as separate agent processes use it.
import { HttpTonChain } from '../../src/channels/ton/http-chain.js';
import { startTonChainServer } from '../../src/channels/ton/http-server.js';
import { conformanceSuite } from './suite.js';
import { tonConformanceBackend } from './ton-backend.js';

conformanceSuite(() =>
  tonConformanceBackend('TON over HTTP', async () => {
    const server = await startTonChainServer();
    const chain = await HttpTonChain.connect(server.url);
    return {
      chain,
      perun: server.perun,
      wallet: (name) => chain.devWallet(name),
      advance: (seconds) => chain.advance(seconds),
      stop: () => server.close(),
    };
  }),
);
