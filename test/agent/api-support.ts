// The REST API over a node that records what it is asked and answers fixed views, for the
// api-*.test.ts scenarios: the views, the recording node, the server's log, an API started on a
// free port of 127.0.0.1, a request with or without the token, and an event-stream reader.
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

export const TOKEN = 'tok-3f9a0c1e5b7d2a4c6e8f0a1b3c5d7e9f';
export const ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

export const INFO: AgentInfo = {
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
export const INVITATION: InvitationView = { id: 'oob-1', url: 'http://127.0.0.1:9000/didcomm?oob=eyJ9' };
export const CONNECTION: ConnectionView = {
  id: 'conn-1',
  theirLabel: 'bob',
  state: 'completed',
  ready: true,
  ourDid: 'did:peer:2.alice',
  theirDid: 'did:peer:2.bob',
  createdAt: '2025-01-02T03:04:05.000Z',
};
export const NEW_CONNECTION: ConnectionView = {
  ...CONNECTION,
  id: 'conn-2',
  theirLabel: undefined,
  theirDid: undefined,
};
export const CREDENTIAL: CredentialView = {
  id: 'cred-1',
  issuer: 'did:key:z6Mkissuer',
  subject: 'did:peer:2.bob',
  types: ['VerifiableCredential', 'PerunPeerCredential'],
  claims: { ethereumAddress: ADDRESS, name: 'Bob', spendingLimit: '5' },
  issuanceDate: '2025-01-02T03:04:05.000Z',
  expirationDate: '2026-01-02T03:04:05.000Z',
};
export const CHANNEL: ChannelView = {
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
export const PAYMENT: PaymentView = {
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
export const SETTLEMENT: SettlementView = {
  channelId: '0xchannel',
  alreadySettled: false,
  withdrawn: [{ asset: 'ETH', amount: '0.5', receiver: ADDRESS }],
};
export const PROPOSAL: ProposalView = {
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
export const BALANCE: BalanceView = {
  address: ADDRESS,
  onChain: '9.5',
  inChannels: '0.5',
  channels: 1,
  tokens: [{ asset: 'PRN', token: ADDRESS, onChain: '100', inChannels: '0' }],
};
export const MESSAGE: MessageView = {
  id: 'msg-1',
  connectionId: 'conn-1',
  content: 'hello',
  direction: 'sent',
  sentTime: '2025-01-02T03:04:08.000Z',
};

export const CHANNEL_ID_FOR_SALE = '0x' + '34'.repeat(32);
export const SALE: CredentialSaleView = {
  id: '0f2a2f0e-3c7b-4f43-9d51-6a8d0f0b9c11',
  role: 'issuer',
  connectionId: 'conn-1',
  peerDid: 'did:peer:2.bob',
  price: '0.05',
  digest: '0x' + '12'.repeat(32),
  status: 'offered',
  credential: { type: ['VerifiableCredential', 'PaidCredential'], credentialSubject: { degree: 'MSc' } },
};

export const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

export interface Call {
  method: string;
  args: unknown[];
}

/** A node that records its calls, answers the fixed views and keeps the events it emitted. */
export class RecordingNode implements AgentNodeApi {
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
export class Log {
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

export interface Api {
  node: RecordingNode;
  app: express.Express;
  listener: ApiListener;
  url: string;
  log: Log;
}

const started: Api[] = [];

export async function startApi(
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

/** Closes every API the test file started. */
export async function stopApis(): Promise<void> {
  await Promise.all(started.map((api) => api.listener.close()));
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is, with this content type (default application/json). */
  raw?: string;
  contentType?: string;
  token?: string | null;
  headers?: Record<string, string>;
}

export async function call(api: Api, method: string, path: string, options: CallOptions = {}) {
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

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads an event stream as it arrives: parsed events, comments, whether it ended. */
export class SseReader {
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
