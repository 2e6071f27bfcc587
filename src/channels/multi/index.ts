// Channels whose assets live on several chains (go-perun channel/multi): the ledgers (one
// Funder, Adjudicator and event source per chain ID), and the Funder, Adjudicator and Watcher
// that hand every call to each chain the channel has assets on. Hand them to a ChannelClient in
// place of one chain's; docs/cross-chain.md tells what they guarantee.
export { Ledgers, chainsOf, onEvery, type Ledger } from './ledgers.js';
export { storedChainCursors } from './cursors.js';
export { MultiLedgerFunder } from './funder.js';
export { MultiLedgerAdjudicator, type LedgerDispute } from './adjudicator.js';
export {
  MultiLedgerWatcher,
  type AlignmentReport,
  type LedgerEvent,
  type MultiLedgerWatcherOptions,
} from './watcher.js';
