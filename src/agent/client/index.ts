// The public API of the typed REST client (`perun-agent/client`): the client, its error, its
// route table, and the views and requests of the API it is typed with.
export {
  PerunAgentClient,
  PerunApiError,
  type PageQuery,
  type PayRequest,
  type PerunAgentClientOptions,
  type PerunApiErrorCategory,
} from './rest-client.js';
export { CLIENT_ROUTES, routePath, type ClientRoute, type OperationId } from './routes.js';
export { parseSse, type SseMessage } from './sse.js';
export type * from '../node/types.js';
