// The public API of the DIDComm layer (`perun-agent/credo`): the Credo modules a Credo agent adds
// for Perun payments over DIDComm (PerunModule with its channel wire), identity and gating
// (IdentityModule), credential sales and replay protection, with their APIs and message URIs.
export { PerunApi, PerunModule, type PerunModuleOptions } from './perun/perun-module.js';
export { DidCommChannelWire } from './perun/didcomm-wire.js';
export {
  PerunChannels,
  PerunModuleError,
  type OpenChannelOptions,
  type PerunChainChannelOptions,
  type PerunChannelOptions,
  type PerunEthereumOptions,
  type PerunGateOptions,
  type PerunModuleErrorCode,
} from './perun/perun-channels.js';
export { ConnectionDidDirectory, type PeerConnection, type PeerDirectory } from './perun/peer-directory.js';
export * from './identity/index.js';
export { CredentialSaleApi } from './credential-sale/credential-sale-api.js';
export { CredentialSaleModule } from './credential-sale/credential-sale-module.js';
export { ReplayModule, replayMiddleware, type ReplayModuleOptions } from './replay/replay-module.js';
export { PROTOCOL_NAMESPACE, protocolUri } from './protocol-uris.js';
