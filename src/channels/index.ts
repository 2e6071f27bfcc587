// The public API of the channel layer (`perun-agent/channels`): the ChannelClient, the core types
// and interfaces a backend implements, the typed errors, the channel stores and the in-memory wire.
// Chain backends are separate entry points (`perun-agent/ethereum`, `perun-agent/ton`).
export { ChannelClient, channelNonce } from './client.js';
export type * from './client/types.js';
export type { App } from './app.js';
export * from './errors.js';
export type * from './interfaces.js';
export type {
  ChannelFilter,
  ChannelPhase,
  ChannelRecord,
  ChannelStore,
  ChannelStoreTx,
  EarlierPayments,
  LoggedPayments,
  NewChannelRecord,
  OwnSignedState,
  PaymentFilter,
  SignedState as StoredSignedState,
  StagedState,
  StoredPayment,
  UpdatePayments,
} from './store.js';
export * from './types.js';
export * from './watcher.js';
export * from './multi/index.js';
export { MemoryBus, MemoryWire, type MemoryBusOptions, type MessageFilter } from './wire/memory.js';
export * from './persistence/index.js';
