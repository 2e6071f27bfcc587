// The REST API over a node that records what it is asked and answers fixed views: a user with
// the token reaches every route and gets the node's answer, anyone without it gets 401; every
// malformed request is a 400 naming the field and never reaches the node; the node's typed
// errors come back with their statuses; events arrive live over SSE and are replayed after
// Last-Event-ID; closing the listener ends open streams; /openapi.json documents exactly the
// routes that are served; the web page is served without the token.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type express from 'express';

import type { EventStreamLimits } from '../../src/agent/api/events.js';
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import type {
  AgentInfo,
  AgentNodeApi,
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialSaleView,
  CredentialView,
  InvitationView,
  IssueCredentialRequest,
  MessageView,
  NodeEvent,
  NodeEventWithId,
  OfferCredentialRequest,
  OpenChannelRequest,
  OpenSubChannelRequest,
  OpenVirtualChannelRequest,
  PaymentView,
  PayOptions,
  SignCredentialRequest,
  SignedCredentialView,
  SignedStateView,
  ProposalView,
  SettlementView,
} from '../../src/agent/node/types.js';
import { ChainError, ChannelClientError } from '../../src/channels/errors.js';
import { PeerNotAuthorizedError } from '../../src/protocols/identity/errors.js';

const TOKEN = 'tok-3f9a0c1e5b7d2a4c6e8f0a1b3c5d7e9f';
const ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

const INFO: AgentInfo = {
  label: 'alice',
  did: 'did:peer:2.alice',
  issuerDid: 'did:key:z6Mkalice',
  address: ADDRESS,
  didcommEndpoint: 'http://127.0.0.1:9000/didcomm',
  chainId: '31337',
  adjudicator: '0x0000000000000000000000000000000000000001',
  assetHolderETH: '0x0000000000000000000000000000000000000002',
  assets: [{ symbol: 'ETH', decimals: 18, holder: '0x0000000000000000000000000000000000000002' }],
  trustedIssuers: ['did:key:z6Mkissuer'],
  signer: 'native',
};
const INVITATION: InvitationView = { id: 'oob-1', url: 'http://127.0.0.1:9000/didcomm?oob=eyJ9' };
const CONNECTION: ConnectionView = {
  id: 'conn-1',
  theirLabel: 'bob',
  state: 'completed',
  ready: true,
  ourDid: 'did:peer:2.alice',
  theirDid: 'did:peer:2.bob',
  createdAt: '2025-01-02T03:04:05.000Z',
};
const NEW_CONNECTION: ConnectionView = {
  ...CONNECTION,
  id: 'conn-2',
  theirLabel: undefined,
  theirDid: undefined,
};
const CREDENTIAL: CredentialView = {
  id: 'cred-1',
  issuer: 'did:key:z6Mkissuer',
  subject: 'did:peer:2.bob',
  types: ['VerifiableCredential', 'PerunPeerCredential'],
  claims: { ethereumAddress: ADDRESS, name: 'Bob', spendingLimit: '5' },
  issuanceDate: '2025-01-02T03:04:05.000Z',
  expirationDate: '2026-01-02T03:04:05.000Z',
};
const CHANNEL: ChannelView = {
  id: '0xchannel',
  connectionId: 'conn-1',
  peerDid: 'did:peer:2.bob',
  peerLabel: 'bob',
  idx: 0,
  phase: 'Acting',
  status: 'open',
  version: '3',
  asset: 'ETH',
  ourBalance: '0.75',
  theirBalance: '0.25',
  challengeDuration: 60,
  participants: [ADDRESS, '0x0000000000000000000000000000000000000003'],
  isFinal: false,
  locked: '0',
  virtual: false,
  queuedPayments: 0,
  synced: true,
};
const PAYMENT: PaymentView = {
  id: 'pay-1',
  channelId: '0xchannel',
  asset: 'ETH',
  version: '4',
  amount: '0.25',
  direction: 'sent',
  ourBalance: '0.5',
  theirBalance: '0.5',
  batch: 1,
  at: '2025-01-02T03:04:06.000Z',
};
const SETTLEMENT: SettlementView = {
  channelId: '0xchannel',
  alreadySettled: false,
  withdrawn: [{ asset: 'ETH', amount: '0.5', receiver: ADDRESS }],
};
const PROPOSAL: ProposalView = {
  id: 'prop-1',
  connectionId: 'conn-1',
  peerDid: 'did:peer:2.bob',
  peerLabel: 'bob',
  claims: { ethereumAddress: ADDRESS, name: 'Bob', spendingLimit: '5', issuer: 'did:key:z6Mkissuer' },
  asset: 'ETH',
  peerFund: '1',
  ourFund: '0',
  challengeDuration: 60,
  status: 'pending',
  receivedAt: '2025-01-02T03:04:07.000Z',
};
const BALANCE: BalanceView = {
  address: ADDRESS,
  onChain: '9.5',
  inChannels: '0.5',
  channels: 1,
  tokens: [{ asset: 'PRN', token: ADDRESS, onChain: '100', inChannels: '0' }],
};
const MESSAGE: MessageView = {
  id: 'msg-1',
  connectionId: 'conn-1',
  content: 'hello',
  direction: 'sent',
  sentTime: '2025-01-02T03:04:08.000Z',
};

const CHANNEL_ID_FOR_SALE = '0x' + '34'.repeat(32);
const SALE: CredentialSaleView = {
  id: '0f2a2f0e-3c7b-4f43-9d51-6a8d0f0b9c11',
  role: 'issuer',
  connectionId: 'conn-1',
  peerDid: 'did:peer:2.bob',
  price: '0.05',
  digest: '0x' + '12'.repeat(32),
  status: 'offered',
  credential: { type: ['VerifiableCredential', 'PaidCredential'], credentialSubject: { degree: 'MSc' } },
};

const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

interface Call {
  method: string;
  args: unknown[];
}

/** A node that records its calls, answers the fixed views and keeps the events it emitted. */
class RecordingNode implements AgentNodeApi {
  readonly calls: Call[] = [];
  private readonly failures = new Map<string, unknown>();
  private readonly emitted: NodeEventWithId[] = [];
  private readonly listeners = new Set<(e: NodeEventWithId) => void>();
  private readonly listenerWaiters: Array<() => void> = [];

  /** The next call of `method` throws `err`. */
  failNext(method: keyof AgentNodeApi, err: unknown): void {
    this.failures.set(method, err);
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failures.has(method)) {
      const err = this.failures.get(method);
      this.failures.delete(method);
      throw err;
    }
  }

  info(): AgentInfo {
    this.record('info');
    return INFO;
  }
  async createInvitation(): Promise<InvitationView> {
    this.record('createInvitation');
    return INVITATION;
  }
  async acceptInvitation(url: string): Promise<ConnectionView> {
    this.record('acceptInvitation', url);
    return NEW_CONNECTION;
  }
  async connections(): Promise<ConnectionView[]> {
    this.record('connections');
    return [CONNECTION, NEW_CONNECTION];
  }
  async connection(id: string): Promise<ConnectionView> {
    this.record('connection', id);
    return CONNECTION;
  }
  async pingConnection(id: string): Promise<ConnectionView> {
    this.record('pingConnection', id);
    return CONNECTION;
  }
  async credentials(): Promise<CredentialView[]> {
    this.record('credentials');
    return [CREDENTIAL];
  }
  async issueCredential(req: IssueCredentialRequest): Promise<CredentialView> {
    this.record('issueCredential', req);
    return CREDENTIAL;
  }
  async requestCredential(connectionId: string, name: string): Promise<CredentialView> {
    this.record('requestCredential', connectionId, name);
    return CREDENTIAL;
  }
  channels(): ChannelView[] {
    this.record('channels');
    return [CHANNEL];
  }
  channel(id: string): ChannelView {
    this.record('channel', id);
    return CHANNEL;
  }
  async openChannel(req: OpenChannelRequest): Promise<ChannelView> {
    this.record('openChannel', req);
    return CHANNEL;
  }
  async openVirtualChannel(req: OpenVirtualChannelRequest): Promise<ChannelView> {
    this.record('openVirtualChannel', req);
    return CHANNEL;
  }
  async openSubChannel(parentId: string, req: OpenSubChannelRequest): Promise<ChannelView> {
    this.record('openSubChannel', parentId, req);
    return CHANNEL;
  }
  async pay(channelId: string, amount: string, id?: string, options?: PayOptions): Promise<PaymentView> {
    this.record(
      'pay',
      channelId,
      amount,
      ...(options === undefined ? (id === undefined ? [] : [id]) : [id, options]),
    );
    return PAYMENT;
  }
  async close(channelId: string): Promise<SettlementView> {
    this.record('close', channelId);
    return SETTLEMENT;
  }
  async dispute(channelId: string): Promise<SettlementView> {
    this.record('dispute', channelId);
    return SETTLEMENT;
  }
  async payments(channelId?: string): Promise<PaymentView[]> {
    this.record('payments', channelId);
    return [PAYMENT];
  }

  async signCredential(req: SignCredentialRequest): Promise<SignedCredentialView> {
    this.record('signCredential', req);
    return { credential: '{}' };
  }

  async importCredential(credential: string): Promise<CredentialView> {
    this.record('importCredential', credential);
    return CREDENTIAL;
  }

  async signedState(channelId: string): Promise<SignedStateView> {
    this.record('signedState', channelId);
    return { channelId, version: '3', params: {}, state: {}, sigs: ['0x01', '0x02'] };
  }
  proposals(): ProposalView[] {
    this.record('proposals');
    return [PROPOSAL];
  }
  async decideProposal(id: string, accept: boolean, reason?: string): Promise<ProposalView> {
    this.record('decideProposal', id, accept, reason);
    return { ...PROPOSAL, status: accept ? 'accepted' : 'rejected' };
  }
  async balance(): Promise<BalanceView> {
    this.record('balance');
    return BALANCE;
  }
  async sendMessage(connectionId: string, content: string): Promise<MessageView> {
    this.record('sendMessage', connectionId, content);
    return MESSAGE;
  }
  async messages(connectionId?: string): Promise<MessageView[]> {
    this.record('messages', connectionId);
    return [MESSAGE];
  }
  async offerCredential(req: OfferCredentialRequest): Promise<CredentialSaleView> {
    this.record('offerCredential', req);
    return SALE;
  }
  async buyCredential(saleId: string): Promise<CredentialSaleView> {
    this.record('buyCredential', saleId);
    return { ...SALE, role: 'holder', status: 'paying', channelId: CHANNEL_ID_FOR_SALE };
  }
  async credentialSales(): Promise<CredentialSaleView[]> {
    this.record('credentialSales');
    return [SALE];
  }

  subscribe(listener: (e: NodeEventWithId) => void, since?: number): () => void {
    this.record('subscribe', since);
    if (since !== undefined) for (const e of this.emitted) if (e.id > since) listener(e);
    this.listeners.add(listener);
    this.listenersChanged();
    return () => {
      this.listeners.delete(listener);
      this.listenersChanged();
    };
  }

  emit(event: NodeEvent): NodeEventWithId {
    const e = { ...event, id: this.emitted.length + 1, at: new Date().toISOString() } as NodeEventWithId;
    this.emitted.push(e);
    for (const listener of this.listeners) listener(e);
    return e;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Resolves once exactly `n` listeners are subscribed. */
  async untilSubscribers(n: number): Promise<void> {
    while (this.listeners.size !== n)
      await new Promise<void>((resolve) => this.listenerWaiters.push(resolve));
  }

  private listenersChanged(): void {
    for (const wake of this.listenerWaiters.splice(0)) wake();
  }
}

/** The server's log lines, and a wait for one that is still to come. */
class Log {
  readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];

  readonly add = (line: string): void => {
    this.lines.push(line);
    for (const wake of this.waiters.splice(0)) wake();
  };

  async until(match: (line: string) => boolean): Promise<string> {
    for (;;) {
      const line = this.lines.find(match);
      if (line !== undefined) return line;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

interface Api {
  node: RecordingNode;
  app: express.Express;
  listener: ApiListener;
  url: string;
  log: Log;
}

const started: Api[] = [];

async function startApi(
  options: { webRoot?: string; keepAliveMs?: number; eventStreams?: Partial<EventStreamLimits> } = {},
): Promise<Api> {
  const node = new RecordingNode();
  const log = new Log();
  const app = createApiServer(node, { token: TOKEN, log: log.add, ...options });
  const listener = await listenApi(app, { host: '127.0.0.1', port: 0 });
  const api = { node, app, listener, url: listener.url, log };
  started.push(api);
  return api;
}

afterAll(async () => {
  await Promise.all(started.map((api) => api.listener.close()));
});

interface CallOptions {
  body?: unknown;
  /** Sent as is, with this content type (default application/json). */
  raw?: string;
  contentType?: string;
  token?: string | null;
  headers?: Record<string, string>;
}

async function call(api: Api, method: string, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(`${api.url}${path}`, { method, headers, body });
  const text = await res.text();
  const json: unknown = res.headers.get('content-type')?.startsWith('application/json')
    ? JSON.parse(text)
    : undefined;
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> };
}

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads an event stream as it arrives: parsed events, comments, whether it ended. */
class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  private buffer = '';
  private readonly decoder = new TextDecoder();

  private constructor(
    readonly response: Response,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {}

  static async open(api: Api, options: { headers?: Record<string, string>; query?: string } = {}) {
    const headers: Record<string, string> =
      options.query === undefined ? { authorization: `Bearer ${TOKEN}` } : {};
    const res = await fetch(`${api.url}/events${options.query ?? ''}`, {
      headers: { ...headers, ...options.headers },
    });
    return new SseReader(res, res.body!.getReader());
  }

  /** Reads until `done` holds (or the stream ends, which fails unless `done` then holds). */
  async until(done: (r: SseReader) => boolean): Promise<void> {
    while (!done(this)) {
      if (this.ended) throw new Error('the event stream ended');
      let chunk: Awaited<ReturnType<typeof this.reader.read>>;
      try {
        chunk = await this.reader.read();
      } catch {
        this.ended = true;
        continue;
      }
      if (chunk.done) {
        this.ended = true;
        continue;
      }
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        this.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 2);
      }
    }
  }

  async untilEventId(id: number): Promise<void> {
    await this.until((r) => r.events.some((e) => e.id === String(id)));
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }

  private parse(block: string): void {
    const event: SseEvent = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) event.id = line.slice(4);
      else if (line.startsWith('event: ')) event.event = line.slice(7);
      else if (line.startsWith('data: ')) event.data = line.slice(6);
    }
    if (event.data !== undefined) this.events.push(event);
  }
}

describe('a user with the token', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  it.each<[string, string, unknown, Call, number, unknown]>([
    ['GET', '/info', undefined, { method: 'info', args: [] }, 200, INFO],
    ['GET', '/balance', undefined, { method: 'balance', args: [] }, 200, BALANCE],
    ['POST', '/invitations', undefined, { method: 'createInvitation', args: [] }, 201, INVITATION],
    [
      'POST',
      '/connections',
      { invitationUrl: INVITATION.url },
      { method: 'acceptInvitation', args: [INVITATION.url] },
      201,
      NEW_CONNECTION,
    ],
    [
      'GET',
      '/connections',
      undefined,
      { method: 'connections', args: [] },
      200,
      [CONNECTION, NEW_CONNECTION],
    ],
    ['GET', '/connections/conn-1', undefined, { method: 'connection', args: ['conn-1'] }, 200, CONNECTION],
    ['GET', '/credentials', undefined, { method: 'credentials', args: [] }, 200, [CREDENTIAL]],
    [
      'POST',
      '/credentials/issue',
      {
        connectionId: 'conn-1',
        name: 'Bob',
        spendingLimit: '5.50',
        ethereumAddress: ADDRESS.toLowerCase(),
        expirationDate: '2026-01-02T03:04:05.000Z',
      },
      {
        method: 'issueCredential',
        args: [
          {
            connectionId: 'conn-1',
            name: 'Bob',
            spendingLimit: '5.5',
            ethereumAddress: ADDRESS,
            expirationDate: '2026-01-02T03:04:05.000Z',
          },
        ],
      },
      201,
      CREDENTIAL,
    ],
    [
      'POST',
      '/credentials/request',
      { connectionId: 'conn-1', name: 'Bob' },
      { method: 'requestCredential', args: ['conn-1', 'Bob'] },
      201,
      CREDENTIAL,
    ],
    ['GET', '/channels', undefined, { method: 'channels', args: [] }, 200, [CHANNEL]],
    ['GET', '/channels/0xchannel', undefined, { method: 'channel', args: ['0xchannel'] }, 200, CHANNEL],
    ['GET', '/channels/a%20b', undefined, { method: 'channel', args: ['a b'] }, 200, CHANNEL],
    [
      'POST',
      '/channels',
      { connectionId: 'conn-1', fund: '1.0', peerFund: '0', challengeDuration: 60 },
      {
        method: 'openChannel',
        args: [{ connectionId: 'conn-1', fund: '1', peerFund: '0', challengeDuration: 60 }],
      },
      201,
      CHANNEL,
    ],
    [
      'POST',
      '/virtual-channels',
      { connectionId: 'conn-2', via: '0xchannel', fund: '0.5', peerFund: '0.25' },
      {
        method: 'openVirtualChannel',
        args: [{ connectionId: 'conn-2', via: '0xchannel', fund: '0.5', peerFund: '0.25' }],
      },
      201,
      CHANNEL,
    ],
    [
      'POST',
      '/channels/0xchannel/sub-channels',
      { fund: '0.5' },
      { method: 'openSubChannel', args: ['0xchannel', { fund: '0.5' }] },
      201,
      CHANNEL,
    ],
    [
      'POST',
      '/channels/0xchannel/payments',
      { amount: '0.250' },
      { method: 'pay', args: ['0xchannel', '0.25'] },
      201,
      PAYMENT,
    ],
    [
      'POST',
      '/channels/0xchannel/payments',
      { amount: '1', id: 'invoice-7:item.2' },
      { method: 'pay', args: ['0xchannel', '1', 'invoice-7:item.2'] },
      201,
      PAYMENT,
    ],
    [
      'POST',
      '/channels/0xchannel/close',
      undefined,
      { method: 'close', args: ['0xchannel'] },
      200,
      SETTLEMENT,
    ],
    ['POST', '/channels/0xchannel/close', {}, { method: 'close', args: ['0xchannel'] }, 200, SETTLEMENT],
    [
      'POST',
      '/channels/0xchannel/dispute',
      undefined,
      { method: 'dispute', args: ['0xchannel'] },
      200,
      SETTLEMENT,
    ],
    ['GET', '/payments', undefined, { method: 'payments', args: [undefined] }, 200, [PAYMENT]],
    [
      'GET',
      '/payments?channelId=0xchannel',
      undefined,
      { method: 'payments', args: ['0xchannel'] },
      200,
      [PAYMENT],
    ],
    ['GET', '/proposals', undefined, { method: 'proposals', args: [] }, 200, [PROPOSAL]],
    [
      'POST',
      '/proposals/prop-1/accept',
      undefined,
      { method: 'decideProposal', args: ['prop-1', true, undefined] },
      200,
      { ...PROPOSAL, status: 'accepted' },
    ],
    [
      'POST',
      '/proposals/prop-1/reject',
      { reason: 'too much' },
      { method: 'decideProposal', args: ['prop-1', false, 'too much'] },
      200,
      { ...PROPOSAL, status: 'rejected' },
    ],
    [
      'POST',
      '/proposals/prop-1/reject',
      undefined,
      { method: 'decideProposal', args: ['prop-1', false, undefined] },
      200,
      { ...PROPOSAL, status: 'rejected' },
    ],
    ['GET', '/messages', undefined, { method: 'messages', args: [undefined] }, 200, [MESSAGE]],
    [
      'GET',
      '/messages?connectionId=conn-1',
      undefined,
      { method: 'messages', args: ['conn-1'] },
      200,
      [MESSAGE],
    ],
    [
      'POST',
      '/messages',
      { connectionId: 'conn-1', content: 'hello' },
      { method: 'sendMessage', args: ['conn-1', 'hello'] },
      201,
      MESSAGE,
    ],
    ['GET', '/credential-sales', undefined, { method: 'credentialSales', args: [] }, 200, [SALE]],
    [
      'POST',
      '/credential-sales',
      { connectionId: 'conn-1', claims: '{"degree":"MSc"}', price: '0.05' },
      {
        method: 'offerCredential',
        args: [{ connectionId: 'conn-1', claims: '{"degree":"MSc"}', price: '0.05' }],
      },
      201,
      SALE,
    ],
    [
      'POST',
      `/credential-sales/${SALE.id}/buy`,
      undefined,
      { method: 'buyCredential', args: [SALE.id] },
      200,
      { ...SALE, role: 'holder', status: 'paying', channelId: CHANNEL_ID_FOR_SALE },
    ],
  ])('%s %s reaches the node and answers its view', async (method, path, body, expected, status, view) => {
    const before = api.node.calls.length;
    const res = await call(api, method, path, { body });
    expect(res.status).toBe(status);
    expect(res.json).toEqual(asJson(view));
    expect(api.node.calls.slice(before)).toEqual([expected]);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('auth', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  it.each<[string, CallOptions]>([
    ['no token', { token: null }],
    ['a wrong token', { token: 'tok-wrong' }],
    ['a token one character short', { token: TOKEN.slice(0, -1) }],
    ['a token of another scheme', { token: null, headers: { authorization: `Basic ${TOKEN}` } }],
    ['an empty bearer', { token: '' }],
  ])('%s is refused with 401 before the node is asked', async (_, options) => {
    const before = api.node.calls.length;
    const res = await call(api, 'GET', '/info', options);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ category: 'client', code: 'UNAUTHORIZED', details: {} });
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(api.node.calls.length).toBe(before);
  });

  it('refuses a POST without token before looking at its body', async () => {
    const res = await call(api, 'POST', '/channels/0xchannel/payments', { token: null, raw: 'not json' });
    expect(res.status).toBe(401);
  });

  it('accepts ?token= on /events only', async () => {
    const refused = await call(api, 'GET', `/info?token=${TOKEN}`, { token: null });
    expect(refused.status).toBe(401);

    const wrong = await call(api, 'GET', '/events?token=tok-wrong', { token: null });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ code: 'UNAUTHORIZED' });

    const stream = await SseReader.open(api, { query: `?token=${encodeURIComponent(TOKEN)}` });
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.cancel();
    await api.node.untilSubscribers(0);
  });

  it('asks for the token on unknown routes too, and then says 404', async () => {
    expect((await call(api, 'GET', '/nowhere', { token: null })).status).toBe(401);
    const res = await call(api, 'GET', '/nowhere');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      category: 'client',
      code: 'NOT_FOUND',
      message: 'no route GET /nowhere',
      details: {},
    });
    expect((await call(api, 'DELETE', '/channels/0xchannel')).json).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call(api, 'GET', '/channels/0xchannel/payments')).json).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('serves /openapi.json without the token', async () => {
    const res = await call(api, 'GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ openapi: '3.1.0' });
  });

  it('logs one line per request, never the token or a body', async () => {
    const marker = 'secret-message-body-7f3a';
    await call(api, 'POST', '/messages', { body: { connectionId: 'conn-1', content: marker } });
    await call(api, 'POST', '/messages', {
      body: { connectionId: 'conn-1', content: marker, extra: marker },
    });
    await call(api, 'GET', `/events?token=${TOKEN}&lastEventId=${marker}`, { token: null });
    await call(api, 'GET', '/info', { token: `${TOKEN}x` });
    await api.log.until((line) => line.startsWith('POST /messages 201 '));
    await api.log.until((line) => line.startsWith('POST /messages 400 '));
    await api.log.until((line) => line.startsWith('GET /events 400 '));
    await api.log.until((line) => line.startsWith('GET /info 401 '));
    for (const line of api.log.lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(marker);
    }
  });
});

describe('a malformed request', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  const pay = '/channels/0xchannel/payments';
  const open = { connectionId: 'conn-1', fund: '1' };
  const issue = { connectionId: 'conn-1', name: 'Bob', spendingLimit: '5' };

  it.each<[string, string, string, CallOptions, string]>([
    ['a missing field', 'POST', pay, { body: {} }, 'amount'],
    ['a missing body', 'POST', pay, {}, 'amount'],
    ['an empty string', 'POST', '/channels', { body: { ...open, connectionId: '' } }, 'connectionId'],
    ['a number for an amount', 'POST', '/channels', { body: { ...open, fund: 1 } }, 'fund'],
    [
      'a string for an integer',
      'POST',
      '/channels',
      { body: { ...open, challengeDuration: '60' } },
      'challengeDuration',
    ],
    [
      'a fraction for an integer',
      'POST',
      '/channels',
      { body: { ...open, challengeDuration: 1.5 } },
      'challengeDuration',
    ],
    [
      'a zero challenge duration',
      'POST',
      '/channels',
      { body: { ...open, challengeDuration: 0 } },
      'challengeDuration',
    ],
    [
      'null for a string',
      'POST',
      '/messages',
      { body: { connectionId: null, content: 'x' } },
      'connectionId',
    ],
    [
      'an object for a string',
      'POST',
      '/connections',
      { body: { invitationUrl: { url: 'x' } } },
      'invitationUrl',
    ],
    [
      'a string too long',
      'POST',
      '/messages',
      { body: { connectionId: 'c', content: 'x'.repeat(10_001) } },
      'content',
    ],
    [
      'an unknown field',
      'POST',
      '/messages',
      { body: { connectionId: 'c', content: 'x', urgent: true } },
      'urgent',
    ],
    [
      'a field on a route without body',
      'POST',
      '/channels/0xchannel/close',
      { body: { force: true } },
      'force',
    ],
    ['a __proto__ field', 'POST', pay, { raw: '{"amount":"1","__proto__":{"x":1}}' }, '__proto__'],
    ['a constructor field', 'POST', pay, { body: { amount: '1', constructor: 'x' } }, 'constructor'],
    ['an exponent amount', 'POST', pay, { body: { amount: '1e18' } }, 'amount'],
    ['a negative amount', 'POST', pay, { body: { amount: '-1' } }, 'amount'],
    ['an amount below one wei', 'POST', pay, { body: { amount: '0.0000000000000000001' } }, 'amount'],
    ['a zero payment', 'POST', pay, { body: { amount: '0' } }, 'amount'],
    ['an amount with a leading space', 'POST', pay, { body: { amount: ' 1' } }, 'amount'],
    ['an amount with a trailing space', 'POST', pay, { body: { amount: '1 ' } }, 'amount'],
    ['an amount with a newline', 'POST', pay, { body: { amount: '1\n' } }, 'amount'],
    ['a fund with a tab', 'POST', '/channels', { body: { ...open, fund: '\t1' } }, 'fund'],
    ['a payment ID with a space', 'POST', pay, { body: { amount: '1', id: 'a b' } }, 'id'],
    ['a payment ID of 65 characters', 'POST', pay, { body: { amount: '1', id: 'x'.repeat(65) } }, 'id'],
    [
      'a hex amount',
      'POST',
      '/credentials/issue',
      { body: { ...issue, spendingLimit: '0x10' } },
      'spendingLimit',
    ],
    [
      'a bad address',
      'POST',
      '/credentials/issue',
      { body: { ...issue, ethereumAddress: '0x1234' } },
      'ethereumAddress',
    ],
    [
      'an address with a wrong checksum',
      'POST',
      '/credentials/issue',
      { body: { ...issue, ethereumAddress: ADDRESS.replace('aA', 'Aa') } },
      'ethereumAddress',
    ],
    [
      'a date that is no date',
      'POST',
      '/credentials/issue',
      { body: { ...issue, expirationDate: 'tomorrow' } },
      'expirationDate',
    ],
    ['a URL that is no URL', 'POST', '/connections', { body: { invitationUrl: 'no url' } }, 'invitationUrl'],
    ['an array body', 'POST', pay, { body: [{ amount: '1' }] }, '(body)'],
    ['malformed JSON', 'POST', pay, { raw: '{"amount": "1",' }, '(body)'],
    ['a JSON string body', 'POST', pay, { raw: '"1"' }, '(body)'],
    ['an unknown query parameter', 'GET', '/channels?all=1', {}, 'query.all'],
    ['a repeated query parameter', 'GET', '/payments?channelId=a&channelId=b', {}, 'query.channelId'],
    [
      'a Last-Event-ID that is no ID',
      'GET',
      '/events',
      { headers: { 'last-event-id': 'abc' } },
      'Last-Event-ID',
    ],
    ['a malformed path', 'GET', '/channels/%E0%A4%A', {}, '(path)'],
    [
      'an Idempotency-Key of 256 characters',
      'POST',
      pay,
      { body: { amount: '1' }, headers: { 'idempotency-key': 'k'.repeat(256) } },
      'Idempotency-Key',
    ],
    [
      'an Idempotency-Key that is not printable ASCII',
      'POST',
      pay,
      { body: { amount: '1' }, headers: { 'idempotency-key': 'caf\u00e9' } },
      'Idempotency-Key',
    ],
    [
      'an Idempotency-Key on a route that does not take one',
      'POST',
      '/messages',
      { body: { connectionId: 'c', content: 'x' }, headers: { 'idempotency-key': 'k-1' } },
      'Idempotency-Key',
    ],
  ])('%s is a 400 naming the field, and the node is not asked', async (_, method, path, options, field) => {
    const before = api.node.calls.length;
    const res = await call(api, method, path, options);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ category: 'client', code: 'INVALID_REQUEST', details: { field } });
    expect(typeof res.json.message).toBe('string');
    expect(api.node.calls.slice(before)).toEqual([]);
  });

  it("passes a payment's Idempotency-Key to the node", async () => {
    const before = api.node.calls.length;
    const key = 'order 7: retry-safe';
    const res = await call(api, 'POST', pay, { body: { amount: '1' }, headers: { 'idempotency-key': key } });
    expect(res.status).toBe(201);
    expect(api.node.calls.slice(before)).toEqual([
      { method: 'pay', args: ['0xchannel', '1', undefined, { idempotencyKey: key }] },
    ]);
  });

  it('a body that is not JSON is a 415', async () => {
    const res = await call(api, 'POST', pay, {
      raw: 'amount=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({ category: 'client', code: 'UNSUPPORTED_MEDIA_TYPE' });
    const text = await call(api, 'POST', pay, { raw: '{"amount":"1"}', contentType: 'text/plain' });
    expect(text.status).toBe(415);
  });

  it('a body over 64 kB is a 413', async () => {
    const res = await call(api, 'POST', '/messages', {
      body: { connectionId: 'conn-1', content: 'x'.repeat(70_000) },
    });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ category: 'client', code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe("the node's errors", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  it.each<[string, keyof AgentNodeApi, string, string, CallOptions, unknown, number, object]>([
    [
      'an unknown channel',
      'channel',
      'GET',
      '/channels/0xnone',
      {},
      new ChannelClientError('UNKNOWN_CHANNEL', 'no channel 0xnone', { channelId: '0xnone' }),
      404,
      { category: 'client', code: 'UNKNOWN_CHANNEL', details: { channelId: '0xnone' } },
    ],
    [
      'a busy channel',
      'pay',
      'POST',
      '/channels/0xchannel/payments',
      { body: { amount: '1' } },
      new ChannelClientError('CHANNEL_BUSY', 'an update is in flight'),
      409,
      { category: 'client', code: 'CHANNEL_BUSY' },
    ],
    [
      'a peer that does not answer',
      'pay',
      'POST',
      '/channels/0xchannel/payments',
      { body: { amount: '1' } },
      new ChannelClientError('PEER_TIMEOUT', 'no answer'),
      504,
      { category: 'peer', code: 'PEER_TIMEOUT' },
    ],
    [
      'a peer without credential',
      'openChannel',
      'POST',
      '/channels',
      { body: { connectionId: 'conn-1', fund: '1' } },
      new PeerNotAuthorizedError('no-credential', 'bob presented nothing'),
      403,
      { category: 'peer', code: 'PEER_NO_CREDENTIAL' },
    ],
    [
      'a failed transaction',
      'close',
      'POST',
      '/channels/0xchannel/close',
      {},
      new ChainError('reverted', { reason: 'not final' }),
      502,
      { category: 'chain', code: 'CHAIN', details: { reason: 'not final' } },
    ],
    [
      'a fault of the node',
      'connections',
      'GET',
      '/connections',
      {},
      new Error('db password is hunter2'),
      500,
      { category: 'internal', code: 'INTERNAL', message: 'internal error', details: {} },
    ],
    [
      'a synchronous fault',
      'info',
      'GET',
      '/info',
      {},
      new TypeError('x is undefined'),
      500,
      { category: 'internal', code: 'INTERNAL', message: 'internal error', details: {} },
    ],
  ])('%s comes back with its status', async (_, method, verb, path, options, err, status, body) => {
    api.node.failNext(method, err);
    const res = await call(api, verb, path, options);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject(body);
    expect(Object.keys(res.json).sort()).toEqual(['category', 'code', 'details', 'message']);
    expect(res.text).not.toContain('hunter2');
  });
});

describe('events', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ keepAliveMs: 20 });
  });
  afterEach(async () => {
    await api.node.untilSubscribers(0);
  });

  it('arrive live, one SSE event per node event', async () => {
    const stream = await SseReader.open(api);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('cache-control')).toBe('no-store');
    expect(api.node.subscribers).toBe(1);

    const first = api.node.emit({ type: 'connection', connection: CONNECTION });
    const second = api.node.emit({
      type: 'payment-received',
      payment: { ...PAYMENT, direction: 'received' },
    });
    await stream.untilEventId(second.id);

    expect(stream.events).toEqual([
      { id: String(first.id), event: 'connection', data: JSON.stringify(first) },
      { id: String(second.id), event: 'payment-received', data: JSON.stringify(second) },
    ]);
    await stream.cancel();
  });

  it('are replayed after Last-Event-ID, then go on live', async () => {
    const a = api.node.emit({ type: 'channel-phase', channelId: '0xchannel', from: 'ACTING', to: 'SIGNING' });
    const b = api.node.emit({ type: 'warning', context: 'watcher', message: 'slow chain' });
    const c = api.node.emit({ type: 'settled', settlement: SETTLEMENT });

    const stream = await SseReader.open(api, { headers: { 'last-event-id': String(a.id) } });
    await stream.untilEventId(c.id);
    const d = api.node.emit({ type: 'message-received', message: { ...MESSAGE, direction: 'received' } });
    await stream.untilEventId(d.id);

    expect(stream.events.map((e) => Number(e.id))).toEqual([b.id, c.id, d.id]);
    expect(stream.response.headers.get('x-perun-replayed-until')).toBe(String(c.id));
    expect(stream.events.map((e) => JSON.parse(e.data!) as unknown)).toEqual(asJson([b, c, d]));
    expect(api.node.calls.filter((x) => x.method === 'subscribe').at(-1)).toEqual({
      method: 'subscribe',
      args: [a.id],
    });
    await stream.cancel();

    // Nothing left to replay: the header names the reader's own Last-Event-ID.
    const caughtUp = await SseReader.open(api, { headers: { 'last-event-id': String(d.id) } });
    expect(caughtUp.response.headers.get('x-perun-replayed-until')).toBe(String(d.id));
    await caughtUp.cancel();
  });

  it('keep the connection alive with comments', async () => {
    const stream = await SseReader.open(api);
    // Three intervals without an event: a keep-alive comment each, no event, the stream open.
    await stream.until((r) => r.comments.length >= 3);
    expect(stream.comments.slice(0, 3)).toEqual(['keep-alive', 'keep-alive', 'keep-alive']);
    expect(stream.events).toEqual([]);
    expect(stream.ended).toBe(false);
    await stream.cancel();
  });

  it('stop reaching a client that went away', async () => {
    const one = await SseReader.open(api);
    const two = await SseReader.open(api);
    expect(api.node.subscribers).toBe(2);
    await one.cancel();
    await api.node.untilSubscribers(1);
    const e = api.node.emit({ type: 'proposal', proposal: PROPOSAL });
    await two.untilEventId(e.id);
    await two.cancel();
  });

  it('end when the listener closes, so the process can exit', async () => {
    const own = await startApi();
    const stream = await SseReader.open(own);
    const e = own.node.emit({ type: 'channel-opened', channel: CHANNEL });
    await stream.untilEventId(e.id);

    await own.listener.close();
    await stream.until((r) => r.ended);
    expect(own.node.subscribers).toBe(0);
    await expect(fetch(`${own.url}/info`)).rejects.toThrow();
  });
});

/** GET /events over node:http from `localAddress`, its body left unread: status, headers, the request. */
function rawEvents(api: Api, localAddress: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    headers: Record<string, unknown>;
    body: () => Promise<string>;
    destroy: () => void;
  }>((resolve, reject) => {
    const req = httpRequest(
      `${api.url}/events`,
      { localAddress, headers: { authorization: `Bearer ${TOKEN}`, ...headers } },
      (res) => {
        res.pause();
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: async () => {
            let text = '';
            for await (const chunk of res) text += String(chunk);
            return text;
          },
          destroy: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('event streams are bounded', () => {
  it('in total: one past the cap gets 503 with Retry-After, and a closed stream frees its place', async () => {
    const api = await startApi({ eventStreams: { maxStreams: 2, maxStreamsPerSource: 2 } });
    const one = await SseReader.open(api);
    const two = await SseReader.open(api);
    await api.node.untilSubscribers(2);

    const refused = await rawEvents(api, '127.0.0.1');
    if (refused.status !== 503) refused.destroy();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(await refused.body())).toMatchObject({
      code: 'TOO_MANY_EVENT_STREAMS',
      details: { open: 2, limit: 2 },
    });
    expect(api.node.subscribers).toBe(2);
    await api.log.until((line) => line.startsWith('events: stream refused, 2 streams open'));

    await one.cancel();
    await api.node.untilSubscribers(1);
    const three = await SseReader.open(api);
    expect(three.response.status).toBe(200);
    await Promise.all([two.cancel(), three.cancel()]);
    await api.node.untilSubscribers(0);
  });

  it('per source address: another address still gets a stream', async () => {
    const api = await startApi({ eventStreams: { maxStreams: 4, maxStreamsPerSource: 1 } });
    const first = await rawEvents(api, '127.0.0.1');
    const second = await rawEvents(api, '127.0.0.1');
    const elsewhere = await rawEvents(api, '127.0.0.2');
    try {
      expect(first.status).toBe(200);
      expect(second.status).toBe(503);
      expect(JSON.parse(await second.body())).toMatchObject({
        code: 'TOO_MANY_EVENT_STREAMS',
        details: { open: 1, limit: 1 },
      });
      expect(elsewhere.status).toBe(200);
      expect(api.node.subscribers).toBe(2);
    } finally {
      for (const r of [first, second, elsewhere]) r.destroy();
    }
    await api.node.untilSubscribers(0);
  });

  it('replay at most the newest events after an old Last-Event-ID, and say how many were left out', async () => {
    const api = await startApi({ eventStreams: { maxReplayEvents: 3 } });
    const emitted = [1, 2, 3, 4, 5].map((n) =>
      api.node.emit({ type: 'warning', context: 'test', message: `e${n}` }),
    );
    const stream = await SseReader.open(api, { headers: { 'last-event-id': '0' } });
    await stream.untilEventId(emitted[4]!.id);
    const live = api.node.emit({ type: 'warning', context: 'test', message: 'live' });
    await stream.untilEventId(live.id);
    expect(stream.events.map((e) => Number(e.id))).toEqual([...emitted.slice(2).map((e) => e.id), live.id]);
    expect(stream.comments).toContain('2 earlier events not replayed');
    await stream.cancel();
    await api.node.untilSubscribers(0);
  });

  it('cut off a reader that does not read once its unsent bytes pass the bound', async () => {
    const api = await startApi({ eventStreams: { maxBufferedBytes: 64 * 1024 } });
    const idle = await rawEvents(api, '127.0.0.1');
    expect(idle.status).toBe(200);
    await api.node.untilSubscribers(1);
    const message = 'x'.repeat(16 * 1024);
    try {
      // Socket buffers take some megabytes first; the bound is reached well before 4,000 events.
      for (let i = 0; i < 4_000 && api.node.subscribers > 0; i++) {
        api.node.emit({ type: 'warning', context: 'test', message });
      }
      expect(api.node.subscribers).toBe(0);
      await api.log.until((line) => /^events: client too slow, \d+ bytes unsent; stream closed$/.test(line));
    } finally {
      idle.destroy();
    }
  });
});

/** The express app's routes, read from its router stack, as `METHOD /openapi/{path}`. */
function servedRoutes(app: express.Express): string[] {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') {
            out.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
          }
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app.router as unknown as { stack: Layer[] }).stack);
  return out.sort();
}

type JsonSchema = Record<string, unknown>;

describe('/openapi.json', () => {
  let api: Api;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, JsonSchema>>;
    components: { schemas: Record<string, JsonSchema> };
  };
  beforeAll(async () => {
    api = await startApi();
    doc = (await call(api, 'GET', '/openapi.json', { token: null })).json as unknown as typeof doc;
  });

  const documented = () =>
    Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();

  it('documents exactly the routes the app serves', () => {
    expect(doc.openapi).toBe('3.1.0');
    const served = servedRoutes(api.app);
    expect(served.length).toBeGreaterThanOrEqual(23);
    expect(documented()).toEqual(served);
  });

  it('has every documented operation answered by a route, not by the 404', async () => {
    for (const op of documented()) {
      const [method, template] = op.split(' ') as [string, string];
      const path = template.replace(/\{\w+\}/g, 'x1');
      if (path === '/events') {
        const stream = await SseReader.open(api);
        expect(stream.response.status).toBe(200);
        await stream.cancel();
        continue;
      }
      const res = await call(api, method, path);
      expect([op, res.json?.code]).not.toEqual([op, 'NOT_FOUND']);
      expect([op, res.status]).not.toEqual([op, 404]);
    }
    await api.node.untilSubscribers(0);
  });

  it('names each operation once and says who may call it', () => {
    const ops = Object.values(doc.paths).flatMap((byMethod) => Object.values(byMethod));
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/openapi.json']!.get!.security).toEqual([]);
    expect(doc.paths['/events']!.get!.security).toEqual([{ bearerAuth: [] }, { queryToken: [] }]);
    expect(doc.paths['/channels']!.post!.requestBody).toMatchObject({
      required: true,
      content: {
        'application/json': {
          // fund, or assets for a channel of several assets or chains (the node refuses neither).
          schema: {
            required: ['connectionId'],
            properties: { fund: { type: 'string' }, assets: { type: 'array', minItems: 1 } },
            additionalProperties: false,
          },
        },
      },
    });
  });

  /** Checks that `value` has only the properties `schema` declares and all it requires. */
  function conforms(value: unknown, schema: JsonSchema, where: string): void {
    if (typeof schema.$ref === 'string') {
      const name = schema.$ref.replace('#/components/schemas/', '');
      conforms(value, doc.components.schemas[name]!, `${where}<${name}>`);
      return;
    }
    if (Array.isArray(schema.oneOf)) {
      const type = (value as { type: string }).type;
      const variant = (schema.oneOf as JsonSchema[]).find(
        (v) => (v.properties as Record<string, JsonSchema>).type!.const === type,
      );
      expect([where, type, variant !== undefined]).toEqual([where, type, true]);
      conforms(value, variant!, `${where}(${type})`);
      return;
    }
    if (schema.type === 'array') {
      expect([where, Array.isArray(value)]).toEqual([where, true]);
      (value as unknown[]).forEach((item, i) => conforms(item, schema.items as JsonSchema, `${where}[${i}]`));
      return;
    }
    if (schema.type === 'object' && schema.properties) {
      const properties = schema.properties as Record<string, JsonSchema>;
      const keys = Object.keys(value as object);
      expect([where, keys.filter((k) => !(k in properties))]).toEqual([where, []]);
      expect([where, (schema.required as string[]).filter((k) => !keys.includes(k))]).toEqual([where, []]);
      for (const k of keys) conforms((value as Record<string, unknown>)[k], properties[k]!, `${where}.${k}`);
      return;
    }
    const type = schema.type === 'integer' ? 'number' : schema.type;
    if (type !== undefined) expect([where, typeof value]).toEqual([where, type]);
  }

  it('describes the views the node answers', async () => {
    for (const op of documented()) {
      const [method, template] = op.split(' ') as [string, string];
      if (template === '/events' || template === '/openapi.json' || template === '/docs') continue;
      const res = await call(api, method, template.replace(/\{\w+\}/g, 'x1'), {
        body: method === 'POST' ? validBodies[template] : undefined,
      });
      expect([op, res.status < 300]).toEqual([op, true]);
      const responses = doc.paths[template]![method.toLowerCase()]!.responses as Record<string, JsonSchema>;
      const content = responses[String(res.status)]!.content as Record<string, { schema: JsonSchema }>;
      conforms(res.json, content['application/json']!.schema, op);
    }
  });

  it('describes every event the stream carries', () => {
    const events: NodeEvent[] = [
      { type: 'connection', connection: NEW_CONNECTION },
      { type: 'message-received', message: MESSAGE },
      { type: 'message-sent', message: MESSAGE },
      { type: 'credential-received', credential: CREDENTIAL },
      { type: 'proposal', proposal: PROPOSAL },
      { type: 'channel-opened', channel: CHANNEL },
      { type: 'channel-phase', channelId: '0xchannel', from: 'ACTING', to: 'CLOSING' },
      { type: 'payment-sent', payment: PAYMENT },
      { type: 'payment-received', payment: PAYMENT },
      { type: 'dispute', channelId: '0xchannel', version: '3', timeout: '1700000000', by: 'chain' },
      { type: 'settled', settlement: SETTLEMENT },
      { type: 'credential-sale', sale: SALE },
      { type: 'credential-sale', sale: { ...SALE, status: 'failed', reason: 'no funds' } },
      { type: 'warning', context: 'watcher', message: 'slow' },
      { type: 'warning', channelId: '0xchannel', context: 'watcher', message: 'slow' },
    ];
    const schema = doc.components.schemas.NodeEventWithId!;
    expect((schema.oneOf as unknown[]).length).toBe(new Set(events.map((e) => e.type)).size);
    events.forEach((e, i) =>
      conforms(asJson({ ...e, id: i + 1, at: '2025-01-02T03:04:05.000Z' }), schema, e.type),
    );
  });
});

const validBodies: Record<string, unknown> = {
  '/connections': { invitationUrl: INVITATION.url },
  '/credential-sales': { connectionId: 'conn-1', claims: '{"degree":"MSc"}', price: '0.05' },
  '/credentials/issue': { connectionId: 'conn-1', name: 'Bob', spendingLimit: '5' },
  '/credentials/request': { connectionId: 'conn-1', name: 'Bob' },
  '/credentials/sign': {
    subject: 'did:peer:2.bob',
    name: 'Bob',
    spendingLimit: '5',
    ethereumAddress: '0x0000000000000000000000000000000000000001',
  },
  '/credentials/import': { credential: '{}' },
  '/channels': { connectionId: 'conn-1', fund: '1' },
  '/channels/{id}/payments': { amount: '0.25' },
  '/channels/{id}/sub-channels': { fund: '0.25', peerFund: '0.1' },
  '/virtual-channels': { connectionId: 'conn-1', via: '0xchannel', fund: '0.5' },
  '/messages': { connectionId: 'conn-1', content: 'hello' },
};

describe('the web page', () => {
  let api: Api;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perun-api-web-'));
    mkdirSync(join(dir, 'web'));
    writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>perun-agent</title>');
    writeFileSync(join(dir, 'web', 'app.js'), 'console.log("hi");');
    writeFileSync(join(dir, 'secret.txt'), 'not for the web');
    api = await startApi({ webRoot: join(dir, 'web') });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is served without the token', async () => {
    const page = await call(api, 'GET', '/', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<title>perun-agent</title>');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-powered-by')).toBeNull();

    const script = await call(api, 'GET', '/app.js', { token: null });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
  });

  it('leaves everything else behind the token', async () => {
    expect((await call(api, 'GET', '/info', { token: null })).status).toBe(401);
    expect((await call(api, 'GET', '/missing.js', { token: null })).status).toBe(401);
    expect((await call(api, 'GET', '/info')).status).toBe(200);
  });

  it('serves nothing outside its directory', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${api.url}${path}`, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect([path, body.includes('not for the web')]).toEqual([path, false]);
      expect([path, status]).not.toEqual([path, 200]);
    }
  });
});
