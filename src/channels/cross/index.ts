// Channels with one asset on Ethereum and one on TON (docs/cross-chain.md): the backend the
// core takes (IDs, 129-byte signatures for both chains), the signer, the projection onto TON and
// the two ledgers for the multi-ledger Funder, Adjudicator and Watcher of ../multi/.
export { CrossBackend, CrossSigner } from './backend.js';
export {
  CROSS_SIG_BYTES,
  checkCrossParams,
  crossAssets,
  crossChannelId,
  joinSig,
  sigParts,
  tonParams,
  tonState,
  type CrossAssets,
} from './projection.js';
export { crossEthereumLedger, crossTonLedger } from './ledgers.js';
