// The typed REST client of a running agent (`perun-agent/client`): one method per route of the API,
// typed with the node's views, over node:http(s) with keep-alive and no response timeout (a
// dispute answers after the challenge duration). An error response becomes a PerunApiError
// carrying the API's `{ category, code, message, details }`.
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type {
  AgentInfo,
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialSaleView,
  CredentialView,
  InvitationView,
  IssueCredentialRequest,
  MessageView,
  NodeEventWithId,
  OfferCredentialRequest,
  OpenChannelRequest,
  OpenSubChannelRequest,
  OpenVirtualChannelRequest,
  PaymentView,
  ProposalView,
  SettlementView,
  SignCredentialRequest,
  SignedCredentialView,
  SignedStateView,
} from '../node/types.js';
import { CLIENT_ROUTES, routePath, type OperationId } from './routes.js';
import { parseSse } from './sse.js';

/** The API's categories, and `transport` when the agent could not be reached or did not answer JSON. */
export type PerunApiErrorCategory = 'client' | 'peer' | 'protocol' | 'chain' | 'internal' | 'transport';

/** An error answer of the API (or a failure to reach it), with the API's fields. */
export class PerunApiError extends Error {
  constructor(
    /** The HTTP status; 0 when there was no answer. */
    readonly status: number,
    readonly category: PerunApiErrorCategory,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'PerunApiError';
  }
}

export interface PerunAgentClientOptions {
  /** The agent's API, e.g. `http://127.0.0.1:8080` (as `start` prints it, or the data dir's api-url). */
  url: string;
  /** An admin, read-only or payment token (the data dir's api-token, or `perun-agent token create`). */
  token: string;
}

/** Paging of a list: oldest first unless `reversed`; `offset` items skipped, then at most `limit`. */
export interface PageQuery {
  limit?: number;
  offset?: number;
  reversed?: boolean;
}

export interface PayRequest {
  /** ETH, more than 0. */
  amount: string;
  /** The payment's ID; default a fresh UUID. */
  id?: string;
  /** Of a channel with several assets, the one paid in ('ETH', a token symbol or address); default its first. */
  asset?: string;
  /** The paid asset's chain, where the channel holds it on several. */
  chainId?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

interface Call {
  params?: Record<string, string>;
  query?: Query;
  body?: object;
  headers?: Record<string, string>;
}

export class PerunAgentClient {
  readonly url: string;
  readonly #token: string;
  readonly #agent: http.Agent;
  readonly #transport: typeof http | typeof https;

  constructor(o: PerunAgentClientOptions) {
    const url = new URL(o.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`not an http(s) URL: ${o.url}`);
    }
    this.url = o.url.replace(/\/+$/, '');
    this.#token = o.token;
    this.#transport = url.protocol === 'https:' ? https : http;
    this.#agent = new this.#transport.Agent({ keepAlive: true });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  getInfo = () => this.#json<AgentInfo>('getInfo');
  getBalance = () => this.#json<BalanceView>('getBalance');

  createInvitation = () => this.#json<InvitationView>('createInvitation', { body: {} });
  acceptInvitation = (invitationUrl: string) =>
    this.#json<ConnectionView>('acceptInvitation', { body: { invitationUrl } });
  listConnections = (page: PageQuery = {}) =>
    this.#json<ConnectionView[]>('listConnections', { query: { ...page } });
  getConnection = (id: string) => this.#json<ConnectionView>('getConnection', { params: { id } });
  pingConnection = (id: string) => this.#json<ConnectionView>('pingConnection', { params: { id }, body: {} });

  listCredentials = () => this.#json<CredentialView[]>('listCredentials');
  issueCredential = (req: IssueCredentialRequest) =>
    this.#json<CredentialView>('issueCredential', { body: req });
  signCredential = (req: SignCredentialRequest) =>
    this.#json<SignedCredentialView>('signCredential', { body: req });
  importCredential = (credential: string) =>
    this.#json<CredentialView>('importCredential', { body: { credential } });
  requestCredential = (connectionId: string, name: string) =>
    this.#json<CredentialView>('requestCredential', { body: { connectionId, name } });

  listChannels = (page: PageQuery = {}) => this.#json<ChannelView[]>('listChannels', { query: { ...page } });
  openChannel = (req: OpenChannelRequest) => this.#json<ChannelView>('openChannel', { body: req });
  getChannel = (id: string) => this.#json<ChannelView>('getChannel', { params: { id } });
  openVirtualChannel = (req: OpenVirtualChannelRequest) =>
    this.#json<ChannelView>('openVirtualChannel', { body: req });
  openSubChannel = (parentId: string, req: OpenSubChannelRequest) =>
    this.#json<ChannelView>('openSubChannel', { params: { id: parentId }, body: req });
  /** With an `idempotencyKey`, the agent pays once per key and answers a repeat with the same payment. */
  pay = (channelId: string, req: PayRequest, o: { idempotencyKey?: string } = {}) =>
    this.#json<PaymentView>('pay', {
      params: { id: channelId },
      body: req,
      headers: o.idempotencyKey === undefined ? {} : { 'idempotency-key': o.idempotencyKey },
    });
  closeChannel = (id: string) => this.#json<SettlementView>('closeChannel', { params: { id }, body: {} });
  disputeChannel = (id: string) => this.#json<SettlementView>('disputeChannel', { params: { id }, body: {} });
  getSignedState = (id: string) => this.#json<SignedStateView>('getSignedState', { params: { id } });
  listPayments = (q: PageQuery & { channelId?: string } = {}) =>
    this.#json<PaymentView[]>('listPayments', { query: { ...q } });

  listProposals = () => this.#json<ProposalView[]>('listProposals');
  acceptProposal = (id: string) => this.#json<ProposalView>('acceptProposal', { params: { id }, body: {} });
  rejectProposal = (id: string, reason?: string) =>
    this.#json<ProposalView>('rejectProposal', {
      params: { id },
      body: reason === undefined ? {} : { reason },
    });

  listCredentialSales = () => this.#json<CredentialSaleView[]>('listCredentialSales');
  offerCredential = (req: OfferCredentialRequest) =>
    this.#json<CredentialSaleView>('offerCredential', { body: req });
  buyCredential = (id: string) =>
    this.#json<CredentialSaleView>('buyCredential', { params: { id }, body: {} });

  listMessages = (q: PageQuery & { connectionId?: string } = {}) =>
    this.#json<MessageView[]>('listMessages', { query: { ...q } });
  sendMessage = (connectionId: string, content: string) =>
    this.#json<MessageView>('sendMessage', { body: { connectionId, content } });

  /** The OpenAPI document (public). */
  getOpenApi = () => this.#json<Record<string, unknown>>('getOpenApi');

  /** The OpenAPI document as a web page (public): its HTML. */
  getDocsPage = async (): Promise<string> => (await this.#send('getDocsPage', {})).text;

  /**
   * The live events until `signal` aborts (then it returns); `since`: replay the buffered events
   * after that event ID first.
   */
  async *streamEvents(o: { signal: AbortSignal; since?: number }): AsyncGenerator<NodeEventWithId> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (o.since !== undefined) headers['last-event-id'] = String(o.since);
    let res: http.IncomingMessage;
    try {
      res = await this.#request('streamEvents', { headers }, o.signal);
    } catch (err) {
      if (o.signal.aborted) return;
      throw err;
    }
    if (res.statusCode !== 200) throw answerError(res.statusCode ?? 0, await readAll(res));
    try {
      for await (const msg of parseSse(Readable.toWeb(res) as ReadableStream<Uint8Array>)) {
        yield JSON.parse(msg.data) as NodeEventWithId;
      }
    } catch (err) {
      if (!o.signal.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  async #json<T>(operation: OperationId, call: Call = {}): Promise<T> {
    const { status, text } = await this.#send(operation, call);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new PerunApiError(status, 'transport', 'NOT_AN_AGENT', `${this.url} answered without JSON`);
    }
  }

  async #send(operation: OperationId, call: Call): Promise<{ status: number; text: string }> {
    const res = await this.#request(operation, call);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw answerError(status, text);
    return { status, text };
  }

  #request(operation: OperationId, call: Call, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const { method } = CLIENT_ROUTES[operation];
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) search.set(k, String(v));
    const query = search.size > 0 ? `?${search}` : '';
    const url = new URL(this.url + routePath(operation, call.params) + query);
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.#token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...call.headers,
    };
    return new Promise((resolve, reject) => {
      const req = this.#transport.request(url, { method, headers, agent: this.#agent, signal }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          new PerunApiError(
            0,
            'transport',
            'AGENT_UNREACHABLE',
            `cannot reach ${this.url}: ${err.code ?? err.message}`,
          ),
        ),
      );
      req.end(body);
    });
  }
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The PerunApiError of an error answer: the API's fields, or a transport error for a non-API answer. */
function answerError(status: number, text: string): PerunApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const b = body as Partial<{
    category: PerunApiErrorCategory;
    code: string;
    message: string;
    details: object;
  }>;
  if (typeof b?.code === 'string' && typeof b.message === 'string' && typeof b.category === 'string') {
    return new PerunApiError(
      status,
      b.category,
      b.code,
      b.message,
      (b.details ?? {}) as Record<string, unknown>,
    );
  }
  return new PerunApiError(status, 'transport', 'NOT_AN_AGENT', `answered ${status} without an API error`);
}
