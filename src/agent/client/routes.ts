// The REST client's own table of the routes it calls: operation name, HTTP method and path, as the
// agent serves them (../api/routes.ts). Kept apart from the server's table so that a program using
// the client loads no server code; test/agent/rest-client.test.ts checks the two agree route by route.

export interface ClientRoute {
  method: 'GET' | 'POST';
  /** Express syntax, as in the server's table (`/channels/:id`). */
  path: string;
}

export const CLIENT_ROUTES = {
  getInfo: { method: 'GET', path: '/info' },
  getBalance: { method: 'GET', path: '/balance' },
  createInvitation: { method: 'POST', path: '/invitations' },
  acceptInvitation: { method: 'POST', path: '/connections' },
  listConnections: { method: 'GET', path: '/connections' },
  getConnection: { method: 'GET', path: '/connections/:id' },
  pingConnection: { method: 'POST', path: '/connections/:id/ping' },
  listCredentials: { method: 'GET', path: '/credentials' },
  issueCredential: { method: 'POST', path: '/credentials/issue' },
  signCredential: { method: 'POST', path: '/credentials/sign' },
  importCredential: { method: 'POST', path: '/credentials/import' },
  requestCredential: { method: 'POST', path: '/credentials/request' },
  listChannels: { method: 'GET', path: '/channels' },
  openChannel: { method: 'POST', path: '/channels' },
  getChannel: { method: 'GET', path: '/channels/:id' },
  openVirtualChannel: { method: 'POST', path: '/virtual-channels' },
  openSubChannel: { method: 'POST', path: '/channels/:id/sub-channels' },
  pay: { method: 'POST', path: '/channels/:id/payments' },
  closeChannel: { method: 'POST', path: '/channels/:id/close' },
  disputeChannel: { method: 'POST', path: '/channels/:id/dispute' },
  getSignedState: { method: 'GET', path: '/channels/:id/signed-state' },
  listPayments: { method: 'GET', path: '/payments' },
  listProposals: { method: 'GET', path: '/proposals' },
  acceptProposal: { method: 'POST', path: '/proposals/:id/accept' },
  rejectProposal: { method: 'POST', path: '/proposals/:id/reject' },
  listCredentialSales: { method: 'GET', path: '/credential-sales' },
  offerCredential: { method: 'POST', path: '/credential-sales' },
  buyCredential: { method: 'POST', path: '/credential-sales/:id/buy' },
  listMessages: { method: 'GET', path: '/messages' },
  sendMessage: { method: 'POST', path: '/messages' },
  streamEvents: { method: 'GET', path: '/events' },
  getOpenApi: { method: 'GET', path: '/openapi.json' },
  getDocsPage: { method: 'GET', path: '/docs' },
} as const satisfies Record<string, ClientRoute>;

export type OperationId = keyof typeof CLIENT_ROUTES;

/** The route's path with its `:name` parameters filled in (URI-encoded). */
export function routePath(operation: OperationId, params: Record<string, string> = {}): string {
  return CLIENT_ROUTES[operation].path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`${operation}: missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}
