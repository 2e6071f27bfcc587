// The REST API's route table: every route once, with its method, path, auth, input fields,
// response and handler. The express app (./server.ts) and the OpenAPI document (./openapi.ts)
// are both built from it, so what is served and what is documented cannot drift apart. Each route
// states the least token scope that may call it: every GET is `read-only`, paying on a channel is
// `payment`, every other POST is `admin`.
import type { AgentNodeApi } from '../node/types.js';
import { newestNeeded, pageOf } from './paging.js';
import type { TokenScope } from './scoped-tokens.js';
import {
  ACCEPT_INVITATION,
  EVENTS_QUERY,
  IMPORT_CREDENTIAL,
  ISSUE_CREDENTIAL,
  MESSAGES_QUERY,
  NO_FIELDS,
  PAGE_QUERY,
  OFFER_CREDENTIAL,
  OPEN_CHANNEL,
  OPEN_SUB_CHANNEL,
  OPEN_VIRTUAL_CHANNEL,
  PAY,
  PAYMENTS_QUERY,
  REJECT_PROPOSAL,
  REQUEST_CREDENTIAL,
  SEND_MESSAGE,
  SIGN_CREDENTIAL,
  type Checked,
  type Fields,
} from './validate.js';

/** Names of the response schemas in the OpenAPI document's components. */
export type ViewName =
  | 'AgentInfo'
  | 'InvitationView'
  | 'ConnectionView'
  | 'CredentialView'
  | 'ChannelView'
  | 'PaymentView'
  | 'SettlementView'
  | 'SignedCredentialView'
  | 'SignedStateView'
  | 'ProposalView'
  | 'BalanceView'
  | 'MessageView'
  | 'CredentialSaleView';

/**
 * `bearer`: `Authorization: Bearer <token>`; `bearer-or-query`: also `?token=<token>` (for
 * EventSource, which cannot set headers); `none`: public.
 */
export type RouteAuth = 'bearer' | 'bearer-or-query' | 'none';

export interface RouteInput<B extends Fields, Q extends Fields> {
  params: Record<string, string>;
  body: Checked<B>;
  query: Checked<Q>;
  /** The checked `Idempotency-Key` header, on an idempotent route that got one. */
  idempotencyKey?: string;
}

interface RouteBase {
  method: 'get' | 'post';
  /** Express syntax (`/channels/:id`). */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  /** The least scope of a token that may call it (public routes: `read-only`, unchecked). */
  scope: TokenScope;
  query: Fields;
}

/** A route answering JSON from the node. */
export interface JsonRoute extends RouteBase {
  kind: 'json';
  status: 200 | 201;
  /** Body fields of a POST (an empty table: no body, or `{}`). */
  body: Fields | undefined;
  response: { view: ViewName; list: boolean };
  /** Takes an `Idempotency-Key` header (the only routes that do). */
  idempotent: boolean;
  handle(node: AgentNodeApi, input: RouteInput<Fields, Fields>): unknown;
}

/** The event stream, the OpenAPI document and its page: served by ./events.ts, ./openapi.ts, ./docs-page.ts. */
export interface SpecialRoute extends RouteBase {
  kind: 'events' | 'openapi' | 'docs';
}

export type ApiRoute = JsonRoute | SpecialRoute;

interface JsonRouteSpec<B extends Fields, Q extends Fields> {
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  status?: 200 | 201;
  body?: B;
  query?: Q;
  response: ViewName | [ViewName];
  idempotent?: boolean;
  /** Default: `read-only` for a GET, `admin` for a POST. */
  scope?: TokenScope;
  handle(node: AgentNodeApi, input: RouteInput<B, Q>): unknown;
}

function json<B extends Fields, Q extends Fields>(
  method: 'get' | 'post',
  spec: JsonRouteSpec<B, Q>,
): JsonRoute {
  return {
    kind: 'json',
    method,
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    tag: spec.tag,
    auth: 'bearer',
    scope: spec.scope ?? (method === 'get' ? 'read-only' : 'admin'),
    status: spec.status ?? 200,
    body: method === 'post' ? (spec.body ?? NO_FIELDS) : undefined,
    query: spec.query ?? NO_FIELDS,
    response: Array.isArray(spec.response)
      ? { view: spec.response[0], list: true }
      : { view: spec.response, list: false },
    idempotent: spec.idempotent ?? false,
    handle: spec.handle as JsonRoute['handle'],
  };
}

const get = <Q extends Fields>(spec: Omit<JsonRouteSpec<typeof NO_FIELDS, Q>, 'body' | 'status'>) =>
  json('get', spec);
const post = <B extends Fields>(spec: Omit<JsonRouteSpec<B, typeof NO_FIELDS>, 'query'>) =>
  json('post', spec);

export const API_ROUTES: readonly ApiRoute[] = [
  get({
    path: '/info',
    operationId: 'getInfo',
    summary: 'Who this agent is: label, DIDs, address, chain and contracts',
    tag: 'agent',
    response: 'AgentInfo',
    handle: (node) => node.info(),
  }),
  get({
    path: '/balance',
    operationId: 'getBalance',
    summary: 'Our ETH on chain and in open channels',
    tag: 'agent',
    response: 'BalanceView',
    handle: (node) => node.balance(),
  }),

  post({
    path: '/invitations',
    operationId: 'createInvitation',
    summary: 'Create an out-of-band invitation for a peer',
    tag: 'connections',
    status: 201,
    response: 'InvitationView',
    handle: (node) => node.createInvitation(),
  }),
  post({
    path: '/connections',
    operationId: 'acceptInvitation',
    summary: 'Accept an invitation; answers once the connection is ready',
    tag: 'connections',
    status: 201,
    body: ACCEPT_INVITATION,
    response: 'ConnectionView',
    handle: (node, { body }) => node.acceptInvitation(body.invitationUrl),
  }),
  get({
    path: '/connections',
    operationId: 'listConnections',
    summary: 'Our DIDComm connections',
    tag: 'connections',
    query: PAGE_QUERY,
    response: ['ConnectionView'],
    handle: async (node, { query }) => pageOf(await node.connections(), query),
  }),
  get({
    path: '/connections/:id',
    operationId: 'getConnection',
    summary: 'One connection',
    tag: 'connections',
    response: 'ConnectionView',
    handle: (node, { params }) => node.connection(params.id!),
  }),
  post({
    path: '/connections/:id/ping',
    operationId: 'pingConnection',
    summary: 'Trust ping the peer and answer once its response came',
    tag: 'connections',
    response: 'ConnectionView',
    handle: (node, { params }) => node.pingConnection(params.id!),
  }),

  get({
    path: '/credentials',
    operationId: 'listCredentials',
    summary: 'The peer credentials we hold',
    tag: 'credentials',
    response: ['CredentialView'],
    handle: (node) => node.credentials(),
  }),
  post({
    path: '/credentials/issue',
    operationId: 'issueCredential',
    summary: 'Issuer role: sign a peer credential for the holder on the connection and deliver it',
    tag: 'credentials',
    status: 201,
    body: ISSUE_CREDENTIAL,
    response: 'CredentialView',
    handle: (node, { body }) => node.issueCredential(body),
  }),
  post({
    path: '/credentials/sign',
    operationId: 'signCredential',
    summary: 'Issuer role: sign a peer credential without sending it (the holder imports it)',
    tag: 'credentials',
    status: 201,
    body: SIGN_CREDENTIAL,
    response: 'SignedCredentialView',
    handle: (node, { body }) => node.signCredential(body),
  }),
  post({
    path: '/credentials/import',
    operationId: 'importCredential',
    summary: 'Holder role: store a peer credential obtained outside DIDComm',
    tag: 'credentials',
    status: 201,
    body: IMPORT_CREDENTIAL,
    response: 'CredentialView',
    handle: (node, { body }) => node.importCredential(body.credential),
  }),
  post({
    path: '/credentials/request',
    operationId: 'requestCredential',
    summary: 'Holder role: ask the issuer on the connection for a peer credential',
    tag: 'credentials',
    status: 201,
    body: REQUEST_CREDENTIAL,
    response: 'CredentialView',
    handle: (node, { body }) => node.requestCredential(body.connectionId, body.name),
  }),

  get({
    path: '/channels',
    operationId: 'listChannels',
    summary: 'Our channels',
    tag: 'channels',
    query: PAGE_QUERY,
    response: ['ChannelView'],
    handle: (node, { query }) => pageOf(node.channels(), query),
  }),
  post({
    path: '/channels',
    operationId: 'openChannel',
    summary: "Verify the peer's credential, propose a channel; answers once it is funded",
    tag: 'channels',
    status: 201,
    body: OPEN_CHANNEL,
    response: 'ChannelView',
    handle: (node, { body }) => node.openChannel(body),
  }),
  get({
    path: '/channels/:id',
    operationId: 'getChannel',
    summary: 'One channel',
    tag: 'channels',
    response: 'ChannelView',
    handle: (node, { params }) => node.channel(params.id!),
  }),
  post({
    path: '/virtual-channels',
    operationId: 'openVirtualChannel',
    summary:
      "Verify the peer's credential, open a virtual channel through our intermediary; answers once it is funded",
    tag: 'channels',
    status: 201,
    body: OPEN_VIRTUAL_CHANNEL,
    response: 'ChannelView',
    handle: (node, { body }) => node.openVirtualChannel(body),
  }),
  post({
    path: '/channels/:id/sub-channels',
    operationId: 'openSubChannel',
    summary: 'Open a sub-channel funded by an update of this channel; answers once it is open',
    tag: 'channels',
    status: 201,
    body: OPEN_SUB_CHANNEL,
    response: 'ChannelView',
    handle: (node, { params, body }) => node.openSubChannel(params.id!, body),
  }),
  post({
    path: '/channels/:id/payments',
    operationId: 'pay',
    summary: 'Pay the peer on the channel (once per Idempotency-Key)',
    tag: 'channels',
    status: 201,
    body: PAY,
    response: 'PaymentView',
    idempotent: true,
    scope: 'payment',
    handle: (node, { params, body, idempotencyKey }) =>
      idempotencyKey === undefined && body.asset === undefined && body.chainId === undefined
        ? node.pay(params.id!, body.amount, body.id)
        : node.pay(params.id!, body.amount, body.id, {
            ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
            ...(body.asset === undefined ? {} : { asset: body.asset }),
            ...(body.chainId === undefined ? {} : { chainId: body.chainId }),
          }),
  }),
  post({
    path: '/channels/:id/close',
    operationId: 'closeChannel',
    summary: 'Cooperative close: final state, concludeFinal, withdrawal',
    tag: 'channels',
    response: 'SettlementView',
    handle: (node, { params }) => node.close(params.id!),
  }),
  post({
    path: '/channels/:id/dispute',
    operationId: 'disputeChannel',
    summary: 'Register the latest state on chain, wait out the challenge duration, withdraw',
    tag: 'channels',
    response: 'SettlementView',
    handle: (node, { params }) => node.dispute(params.id!),
  }),
  get({
    path: '/channels/:id/signed-state',
    operationId: 'getSignedState',
    summary: 'The latest state both participants signed, with the signatures (for backups and audits)',
    tag: 'channels',
    response: 'SignedStateView',
    handle: (node, { params }) => node.signedState(params.id!),
  }),
  get({
    path: '/payments',
    operationId: 'listPayments',
    summary: 'Payments sent and received, optionally of one channel',
    tag: 'channels',
    query: PAYMENTS_QUERY,
    response: ['PaymentView'],
    handle: async (node, { query }) =>
      pageOf(await node.payments(query.channelId, newestNeeded(query)), query),
  }),

  get({
    path: '/proposals',
    operationId: 'listProposals',
    summary: 'Channel proposals peers sent us',
    tag: 'proposals',
    response: ['ProposalView'],
    handle: (node) => node.proposals(),
  }),
  post({
    path: '/proposals/:id/accept',
    operationId: 'acceptProposal',
    summary: 'Accept a channel proposal',
    tag: 'proposals',
    response: 'ProposalView',
    handle: (node, { params }) => node.decideProposal(params.id!, true),
  }),
  post({
    path: '/proposals/:id/reject',
    operationId: 'rejectProposal',
    summary: 'Reject a channel proposal',
    tag: 'proposals',
    body: REJECT_PROPOSAL,
    response: 'ProposalView',
    handle: (node, { params, body }) => node.decideProposal(params.id!, false, body.reason),
  }),

  get({
    path: '/credential-sales',
    operationId: 'listCredentialSales',
    summary: 'Credentials we offered for a price or were offered, and where each sale stands',
    tag: 'credential-sales',
    response: ['CredentialSaleView'],
    handle: (node) => node.credentialSales(),
  }),
  post({
    path: '/credential-sales',
    operationId: 'offerCredential',
    summary:
      'Issuer: offer the holder on a connection a credential for a price (paid through an app channel)',
    tag: 'credential-sales',
    status: 201,
    body: OFFER_CREDENTIAL,
    response: 'CredentialSaleView',
    handle: (node, { body }) => node.offerCredential(body),
  }),
  post({
    path: '/credential-sales/:id/buy',
    operationId: 'buyCredential',
    summary: 'Holder: pay for an offered credential; answers once the app channel is open',
    tag: 'credential-sales',
    response: 'CredentialSaleView',
    handle: (node, { params }) => node.buyCredential(params.id!),
  }),

  get({
    path: '/messages',
    operationId: 'listMessages',
    summary: 'Basic messages sent and received, optionally on one connection',
    tag: 'messages',
    query: MESSAGES_QUERY,
    response: ['MessageView'],
    handle: async (node, { query }) => pageOf(await node.messages(query.connectionId), query),
  }),
  post({
    path: '/messages',
    operationId: 'sendMessage',
    summary: 'Send a basic message on a connection',
    tag: 'messages',
    status: 201,
    body: SEND_MESSAGE,
    response: 'MessageView',
    handle: (node, { body }) => node.sendMessage(body.connectionId, body.content),
  }),

  {
    kind: 'events',
    method: 'get',
    path: '/events',
    operationId: 'streamEvents',
    summary: 'Live events (server-sent events); replays buffered events after Last-Event-ID',
    tag: 'events',
    auth: 'bearer-or-query',
    scope: 'read-only',
    query: EVENTS_QUERY,
  },
  {
    kind: 'openapi',
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document',
    tag: 'meta',
    auth: 'none',
    scope: 'read-only',
    query: NO_FIELDS,
  },
  {
    kind: 'docs',
    method: 'get',
    path: '/docs',
    operationId: 'getDocsPage',
    summary: 'This document as a web page: routes, parameters, schemas and examples',
    tag: 'meta',
    auth: 'none',
    scope: 'read-only',
    query: NO_FIELDS,
  },
];

/** `/channels/:id` as OpenAPI writes it: `/channels/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

/** The `:name` parameters of an express path. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
}
