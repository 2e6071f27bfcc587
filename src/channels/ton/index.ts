// The public API of the TON backend (`perun-agent/ton`): the backend, Ed25519 signer, funder and
// adjudicator the ChannelClient takes, the chain interface with its sandbox, and the encodings.
export { TonAdjudicator, TonFunder, type TonFunderOptions } from './adjudicator.js';
export { tonBackend, tonEnvironment, type TonEnvironment } from './backend.js';
export * from './chain.js';
export * from './encoding.js';
export { TonEventSource } from './events.js';
export * from './signer.js';
