// The public API of the agent layer (`perun-agent/agent`): the agent node (the composition root of
// Credo, identity, channels and chain), its configuration and start, the REST API server with its
// route table and OpenAPI document, and the views it answers with. The typed REST client is its
// own entry point (`perun-agent/client`).
export { PerunNode, type NodeOptions } from './node/node.js';
export { startAgent, type RunningAgent } from './node/start.js';
export {
  AgentConfigError,
  initAgent,
  loadAgentConfig,
  type AgentConfig,
  type AgentConfigFile,
  type InitOptions,
  type InitResult,
} from './node/config.js';
export { runChain, readChainFile, type RunningChain } from './node/chain.js';
export type * from './node/types.js';
export { createApiServer, listenApi, type ApiListener, type ApiServerOptions } from './api/server.js';
export { API_ROUTES, type ApiRoute, type JsonRoute, type ViewName } from './api/routes.js';
export { OPENAPI_DOCUMENT, buildOpenApiDocument } from './api/openapi.js';
export { toApiError, type ApiError, type ApiErrorCategory } from './api/api-error.js';
export type { TokenScope } from './api/scoped-tokens.js';
export { createLogger, type Logger } from './log/logger.js';

// Building blocks of a Credo agent of one's own (examples/credo.ts): dependencies, storage on the
// agent's DataSource, the passphrase-sealed KMS, the inbound DIDComm transports.
export { createPerunAgent, type PerunAgent, type PerunAgentOptions } from './credo/agent.js';
export { createAgentDependencies } from './credo/dependencies.js';
export { openAgentStore } from './datasource.js';
export { InMemoryKmsKeyStorage, PerunKeyManagementService, perunKmsModuleConfig } from './kms/index.js';
export { TypeOrmStorageModule } from './storage/index.js';
export { HttpInboundTransport, WsInboundTransport } from './transport/index.js';
