// The Perun protocol's lean path, as the agent's transports and assembly use it.
export { PerunLeanPath } from './lean-path.js';
export type { Envelope } from './envelope.js';
export type { LeanKeyAgreement, LeanPeer } from './peers.js';
export {
  LEAN_MESSAGE_TYPES,
  LEAN_OPENING_TYPES,
  PerunLeanEventTypes,
  type LeanCarrier,
  type LeanOptions,
  type LeanOutcome,
  type LeanReplyChannel,
  type PerunLeanMessageProcessedEvent,
  type PerunLeanMessageSentEvent,
} from './types.js';
