// DIDComm v1 transports of the agent. Inbound: our own HTTP and WebSocket servers (loopback by
// default), which try the Perun lean path first where the agent runs it. Outbound: Credo's own
// HTTP and WebSocket transports, re-exported so callers have one import for the whole set, and
// the lean path's carrier.
export { HttpInboundTransport, HttpTransportSession, HTTP_SESSION_TYPE } from './http-inbound.js';
export type { HttpInboundTransportOptions } from './http-inbound.js';
export { WsInboundTransport, WsTransportSession, WS_SESSION_TYPE } from './ws-inbound.js';
export type { WsInboundTransportOptions } from './ws-inbound.js';
export { DEFAULT_HOST, DEFAULT_MAX_MESSAGE_BYTES, DIDCOMM_CONTENT_TYPES } from './common.js';
export { INBOUND_LIMIT_DEFAULTS, inboundLimits } from './inbound-limits.js';
export type { InboundLimitOptions, InboundLimits } from './inbound-limits.js';
export { DidCommHttpOutboundTransport, DidCommWsOutboundTransport } from '@credo-ts/didcomm';
export { LeanDeliveryError, LeanOutboundTransport } from './lean-outbound.js';
