// The perun-agent command line, in-process, for the cli-*.test.ts scenarios: a small HTTP server
// that answers the REST routes with fixed JSON and records what it was sent, its fixtures, the
// CLI run with that server's URL and token and its output captured, and the per-test set-up.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type CliDeps } from '../../src/agent/cli/program.js';
import type {
  AgentInfo,
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialView,
  MessageView,
  NodeEventWithId,
  PaymentView,
  ProposalView,
  SettlementView,
} from '../../src/agent/node/types.js';

export const TOKEN = 'test-token';
export const ADDRESS = '0x' + '12'.repeat(20);
export const CH1 = '0xabc1' + '1'.repeat(60);
export const CH2 = '0xabc2' + '2'.repeat(60);
export const CH3 = '0xdef0' + '3'.repeat(60);
export const CONN1 = 'c0ffee00-0000-4000-8000-000000000001';
export const CONN2 = 'c0ffee11-0000-4000-8000-000000000002';
export const CONN3 = 'beef0000-0000-4000-8000-000000000003';
export const PROP1 = 'a1a1a1a1-0000-4000-8000-000000000001';
export const PROP2 = 'b2b2b2b2-0000-4000-8000-000000000002';

export const info: AgentInfo = {
  label: 'alice',
  did: 'did:peer:2.alice',
  issuerDid: 'did:key:z6Mkalice',
  address: ADDRESS,
  didcommEndpoint: 'http://127.0.0.1:9000',
  chainId: '31337',
  adjudicator: '0x' + '01'.repeat(20),
  assetHolderETH: '0x' + '02'.repeat(20),
  assets: [{ symbol: 'ETH', decimals: 18, holder: '0x' + '02'.repeat(20) }],
  trustedIssuers: ['did:key:z6Mkissuer'],
  signer: 'native',
};
export const connection = (id: string, label: string): ConnectionView => ({
  id,
  theirLabel: label,
  state: 'completed',
  ready: true,
  ourDid: 'did:peer:2.us',
  theirDid: `did:peer:2.${label}`,
  createdAt: '2025-01-01T00:00:00.000Z',
});
export const connections = [connection(CONN1, 'bob'), connection(CONN2, 'carol'), connection(CONN3, 'dave')];
export const credential: CredentialView = {
  id: 'cred-1',
  issuer: 'did:key:z6Mkissuer',
  subject: 'did:peer:2.bob',
  types: ['VerifiableCredential', 'PerunPeerCredential'],
  claims: { ethereumAddress: ADDRESS, name: 'Bob', spendingLimit: '2.5' },
  issuanceDate: '2025-01-01T00:00:00.000Z',
  expirationDate: undefined,
};
export const channel = (id: string, connectionId: string): ChannelView => ({
  id,
  connectionId,
  peerDid: 'did:peer:2.bob',
  peerLabel: 'bob',
  idx: 0,
  phase: 'Acting',
  status: 'open',
  version: '3',
  asset: 'ETH',
  ourBalance: '9',
  theirBalance: '11',
  challengeDuration: 60,
  participants: [ADDRESS, '0x' + '34'.repeat(20)],
  isFinal: false,
  locked: '0',
  virtual: false,
  queuedPayments: 0,
  synced: true,
});
export const channels = [channel(CH1, CONN1), channel(CH2, CONN2), channel(CH3, CONN3)];
export const payment = (channelId: string, amount: string): PaymentView => ({
  id: 'pay-1',
  channelId,
  asset: 'ETH',
  version: '4',
  amount,
  direction: 'sent',
  ourBalance: '8.75',
  theirBalance: '11.25',
  at: '2025-01-01T00:00:01.000Z',
  batch: 1,
});
export const proposal = (id: string): ProposalView => ({
  id,
  connectionId: CONN1,
  peerDid: 'did:peer:2.bob',
  peerLabel: 'bob',
  claims: { ethereumAddress: ADDRESS, name: 'Bob', spendingLimit: '5', issuer: 'did:key:z6Mkissuer' },
  asset: 'ETH',
  peerFund: '1',
  ourFund: '0',
  challengeDuration: 60,
  status: 'pending',
  receivedAt: '2025-01-01T00:00:00.000Z',
});
export const settlement = (channelId: string): SettlementView => ({
  channelId,
  alreadySettled: false,
  withdrawn: [{ asset: 'ETH', amount: '9', receiver: ADDRESS }],
});
export const balance: BalanceView = {
  address: ADDRESS,
  onChain: '90',
  inChannels: '9',
  channels: 1,
  tokens: [{ asset: 'PRN', token: '0x' + '03'.repeat(20), onChain: '500', inChannels: '0' }],
};
export const message = (connectionId: string, content: string): MessageView => ({
  id: 'msg-1',
  connectionId,
  content,
  direction: 'sent',
  sentTime: '2025-01-01T00:00:02.000Z',
});
export const event = (id: number, e: Record<string, unknown>): NodeEventWithId =>
  ({ id, at: '2025-01-01T00:00:03.000Z', ...e }) as NodeEventWithId;

export interface Recorded {
  method: string;
  /** The path with query, without any base path of the API URL. */
  path: string;
  url: string;
  auth: string | undefined;
  lastEventId: string | undefined;
  idempotencyKey?: string;
  body: unknown;
}

export type Reply = { status: number; body?: unknown; raw?: string };

/** The REST routes of routes.md with fixed answers, recording every request. */
export class FakeAgent {
  readonly requests: Recorded[] = [];
  /** Answers that replace the fixtures, by "METHOD /path". */
  readonly overrides = new Map<string, Reply>();
  /** How many "METHOD /path" requests to read and then lose: the connection closes without an answer. */
  readonly hangUps = new Map<string, number>();
  /** Runs before answering "METHOD /path" (to hold a reply until the test saw something). */
  readonly before = new Map<string, () => Promise<void>>();
  /** Serves /events; the default writes nothing and keeps the stream open. */
  onEvents: (res: http.ServerResponse, rec: Recorded, nth: number) => void = () => undefined;
  eventStreams = 0;
  private server = http.createServer((req, res) => void this.handle(req, res));
  url = '';

  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** What was sent, as "METHOD path" with the body, leaving out /events. */
  calls() {
    return this.requests
      .filter((r) => !r.path.startsWith('/events'))
      .map((r) => [`${r.method} ${r.path}`, r.body]);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let text = '';
    for await (const chunk of req) text += chunk;
    const url = req.url ?? '/';
    const routed = url.replace(/^\/(flag|env|running)(?=\/)/, '');
    const rec: Recorded = {
      method: req.method ?? '',
      path: routed,
      url,
      auth: req.headers.authorization,
      lastEventId: req.headers['last-event-id'] as string | undefined,
      ...(req.headers['idempotency-key'] === undefined
        ? {}
        : { idempotencyKey: req.headers['idempotency-key'] as string }),
      body: text === '' ? undefined : JSON.parse(text),
    };
    this.requests.push(rec);
    const [pathname, query = ''] = routed.split('?');
    const key = `${rec.method} ${pathname}`;
    const hangUps = this.hangUps.get(key) ?? 0;
    if (hangUps > 0) {
      this.hangUps.set(key, hangUps - 1);
      return req.socket.destroy();
    }
    if (rec.auth !== `Bearer ${TOKEN}`) {
      return send(res, {
        status: 401,
        body: { category: 'client', code: 'UNAUTHORIZED', message: 'no', details: {} },
      });
    }
    if (key === 'GET /events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      this.onEvents(res, rec, ++this.eventStreams);
      return;
    }
    await this.before.get(key)?.();
    const override = this.overrides.get(key);
    if (override !== undefined) return send(res, override);
    const body = rec.body as Record<string, string>;
    const params = new URLSearchParams(query);
    let m: RegExpExecArray | null;
    const reply = (status: number, value: unknown) => send(res, { status, body: value });
    if (key === 'GET /info') return reply(200, info);
    if (key === 'POST /invitations')
      return reply(201, { id: 'oob-1', url: 'http://127.0.0.1:9000/?oob=eyJ9' });
    if (key === 'POST /connections') return reply(201, connection(CONN1, 'bob'));
    if (key === 'GET /connections') return reply(200, connections);
    if (key === 'GET /credentials') return reply(200, [credential]);
    if (key === 'POST /credentials/issue' || key === 'POST /credentials/request')
      return reply(201, credential);
    if (key === 'POST /credentials/import') return reply(201, credential);
    if (key === 'POST /credentials/sign')
      return reply(201, { credential: '{"type":["VerifiableCredential"]}' });
    if (key === 'GET /channels') return reply(200, channels);
    if (key === 'POST /channels') return reply(201, channel(CH1, body.connectionId!));
    if ((m = /^POST \/channels\/([^/]+)\/sub-channels$/.exec(key)))
      return reply(201, { ...channel(CH2, CONN1), parentId: decodeURIComponent(m[1]!) });
    if (key === 'POST /virtual-channels')
      return reply(201, { ...channel(CH3, body.connectionId!), parentId: body.via!, virtual: true });
    if ((m = /^POST \/channels\/([^/]+)\/payments$/.exec(key)))
      return reply(201, payment(decodeURIComponent(m[1]!), body.amount!));
    if ((m = /^POST \/channels\/([^/]+)\/(close|dispute)$/.exec(key)))
      return reply(200, settlement(decodeURIComponent(m[1]!)));
    if (key === 'GET /payments') return reply(200, [payment(params.get('channelId') ?? CH1, '0.25')]);
    if (key === 'GET /proposals') return reply(200, [proposal(PROP1), proposal(PROP2)]);
    if ((m = /^POST \/proposals\/([^/]+)\/(accept|reject)$/.exec(key)))
      return reply(200, { ...proposal(m[1]!), status: m[2] === 'accept' ? 'accepted' : 'rejected' });
    if (key === 'GET /balance') return reply(200, balance);
    if (key === 'GET /messages') return reply(200, [message(params.get('connectionId') ?? CONN1, 'hi')]);
    if (key === 'POST /messages') return reply(201, message(body.connectionId!, body.content!));
    return reply(404, { category: 'client', code: 'NOT_FOUND', message: `no route ${key}`, details: {} });
  }
}

export function send(res: http.ServerResponse, r: Reply) {
  const raw = r.raw ?? JSON.stringify(r.body);
  res.writeHead(r.status, { 'content-type': r.raw === undefined ? 'application/json' : 'text/html' });
  res.end(raw);
}

export function sseEvent(res: http.ServerResponse, e: NodeEventWithId) {
  res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

/** The CLI's output, with a way to wait for text to appear in it. */
export class Output {
  stdout = '';
  stderr = '';
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  write(stream: 'stdout' | 'stderr', text: string) {
    this[stream] += text;
    this.waiters = this.waiters.filter((w) => (w.test() ? (w.resolve(), false) : true));
  }

  until(stream: 'stdout' | 'stderr', pattern: string | RegExp): Promise<void> {
    const test = () =>
      typeof pattern === 'string' ? this[stream].includes(pattern) : pattern.test(this[stream]);
    return test() ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  deps?: Partial<CliDeps>;
  interrupt?: AbortController;
  output?: Output;
  outIsTTY?: boolean;
  errIsTTY?: boolean;
  prompt?: (q: string) => Promise<string>;
}

export let fake: FakeAgent;
export let tmp: string;

export async function cli(argv: string[], o: RunOptions = {}) {
  const output = o.output ?? new Output();
  const deps: CliDeps = {
    io: {
      out: (t) => output.write('stdout', t),
      err: (t) => output.write('stderr', t),
      outIsTTY: o.outIsTTY ?? false,
      errIsTTY: o.errIsTTY ?? false,
      promptSecret: o.prompt,
    },
    env: o.env ?? { PERUN_API_URL: fake.url, PERUN_API_TOKEN: TOKEN },
    cwd: tmp,
    interrupt: (o.interrupt ?? new AbortController()).signal,
    loadNode: () => Promise.reject(new Error('the node is not loaded in this test')),
    reconnectDelayMs: 0,
    ...o.deps,
  };
  const code = await runCli(argv, deps);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

/** Starts the fake agent for the test file, and gives each test a fresh one's state and a temp directory. */
export function useFakeAgent(): void {
  beforeAll(async () => {
    fake = await new FakeAgent().start();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.overrides.clear();
    fake.before.clear();
    fake.onEvents = () => undefined;
    fake.eventStreams = 0;
    tmp = mkdtempSync(path.join(tmpdir(), 'perun-cli-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));
}
