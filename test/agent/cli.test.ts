// The perun-agent command line, in-process: every client command against a small HTTP server
// that answers the REST routes with fixed JSON and records what it was sent; exit codes for the
// API's error categories, an unreachable agent and bad input (refused before any request);
// ID prefixes; where the API URL and token come from; the event stream; and init/start with
// the node's functions replaced.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IDEMPOTENT_ATTEMPTS, parseSse } from '../../src/agent/cli/client.js';
import { EXIT } from '../../src/agent/cli/output.js';
import { runCli, type CliDeps, type NodeFunctions } from '../../src/agent/cli/program.js';
import {
  AgentConfigError,
  configEnvNames,
  loadAgentConfig,
  type AgentConfig,
} from '../../src/agent/node/config.js';
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
import { WrongPassphraseError } from '../../src/agent/kms/errors.js';

const TOKEN = 'test-token';
const ADDRESS = '0x' + '12'.repeat(20);
const CH1 = '0xabc1' + '1'.repeat(60);
const CH2 = '0xabc2' + '2'.repeat(60);
const CH3 = '0xdef0' + '3'.repeat(60);
const CONN1 = 'c0ffee00-0000-4000-8000-000000000001';
const CONN2 = 'c0ffee11-0000-4000-8000-000000000002';
const CONN3 = 'beef0000-0000-4000-8000-000000000003';
const PROP1 = 'a1a1a1a1-0000-4000-8000-000000000001';
const PROP2 = 'b2b2b2b2-0000-4000-8000-000000000002';

const info: AgentInfo = {
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
const connection = (id: string, label: string): ConnectionView => ({
  id,
  theirLabel: label,
  state: 'completed',
  ready: true,
  ourDid: 'did:peer:2.us',
  theirDid: `did:peer:2.${label}`,
  createdAt: '2025-01-01T00:00:00.000Z',
});
const connections = [connection(CONN1, 'bob'), connection(CONN2, 'carol'), connection(CONN3, 'dave')];
const credential: CredentialView = {
  id: 'cred-1',
  issuer: 'did:key:z6Mkissuer',
  subject: 'did:peer:2.bob',
  types: ['VerifiableCredential', 'PerunPeerCredential'],
  claims: { ethereumAddress: ADDRESS, name: 'Bob', spendingLimit: '2.5' },
  issuanceDate: '2025-01-01T00:00:00.000Z',
  expirationDate: undefined,
};
const channel = (id: string, connectionId: string): ChannelView => ({
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
const channels = [channel(CH1, CONN1), channel(CH2, CONN2), channel(CH3, CONN3)];
const payment = (channelId: string, amount: string): PaymentView => ({
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
const proposal = (id: string): ProposalView => ({
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
const settlement = (channelId: string): SettlementView => ({
  channelId,
  alreadySettled: false,
  withdrawn: [{ asset: 'ETH', amount: '9', receiver: ADDRESS }],
});
const balance: BalanceView = {
  address: ADDRESS,
  onChain: '90',
  inChannels: '9',
  channels: 1,
  tokens: [{ asset: 'PRN', token: '0x' + '03'.repeat(20), onChain: '500', inChannels: '0' }],
};
const message = (connectionId: string, content: string): MessageView => ({
  id: 'msg-1',
  connectionId,
  content,
  direction: 'sent',
  sentTime: '2025-01-01T00:00:02.000Z',
});
const event = (id: number, e: Record<string, unknown>): NodeEventWithId =>
  ({ id, at: '2025-01-01T00:00:03.000Z', ...e }) as NodeEventWithId;

interface Recorded {
  method: string;
  /** The path with query, without any base path of the API URL. */
  path: string;
  url: string;
  auth: string | undefined;
  lastEventId: string | undefined;
  idempotencyKey?: string;
  body: unknown;
}

type Reply = { status: number; body?: unknown; raw?: string };

/** The REST routes of routes.md with fixed answers, recording every request. */
class FakeAgent {
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

function send(res: http.ServerResponse, r: Reply) {
  const raw = r.raw ?? JSON.stringify(r.body);
  res.writeHead(r.status, { 'content-type': r.raw === undefined ? 'application/json' : 'text/html' });
  res.end(raw);
}

function sseEvent(res: http.ServerResponse, e: NodeEventWithId) {
  res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

/** The CLI's output, with a way to wait for text to appear in it. */
class Output {
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

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  deps?: Partial<CliDeps>;
  interrupt?: AbortController;
  output?: Output;
  outIsTTY?: boolean;
  errIsTTY?: boolean;
  prompt?: (q: string) => Promise<string>;
}

let fake: FakeAgent;
let tmp: string;

async function cli(argv: string[], o: RunOptions = {}) {
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

describe('client commands send the right request', () => {
  const cases: [string[], [string, unknown][], unknown][] = [
    [['info'], [['GET /info', undefined]], info],
    [['invite'], [['POST /invitations', {}]], { id: 'oob-1', url: 'http://127.0.0.1:9000/?oob=eyJ9' }],
    [
      ['accept-invitation', 'http://127.0.0.1:9000/?oob=eyJ9'],
      [['POST /connections', { invitationUrl: 'http://127.0.0.1:9000/?oob=eyJ9' }]],
      connection(CONN1, 'bob'),
    ],
    [['connections'], [['GET /connections', undefined]], connections],
    [['credentials'], [['GET /credentials', undefined]], [credential]],
    [
      [
        'issue-credential',
        'c0ffee11',
        '--name',
        'Carol',
        '--spending-limit',
        '2.5',
        '--address',
        ADDRESS,
        '--expires',
        '2030-01-31T00:00:00Z',
      ],
      [
        ['GET /connections', undefined],
        [
          'POST /credentials/issue',
          {
            connectionId: CONN2,
            name: 'Carol',
            spendingLimit: '2.5',
            ethereumAddress: ADDRESS,
            expirationDate: '2030-01-31T00:00:00.000Z',
          },
        ],
      ],
      credential,
    ],
    [
      ['request-credential', 'beef', '--name', 'Alice'],
      [
        ['GET /connections', undefined],
        ['POST /credentials/request', { connectionId: CONN3, name: 'Alice' }],
      ],
      credential,
    ],
    [['channels'], [['GET /channels', undefined]], channels],
    [
      ['open', 'c0ffee00', '--fund', '1.5', '--peer-fund', '0.5', '--challenge-duration', '30'],
      [
        ['GET /connections', undefined],
        ['POST /channels', { connectionId: CONN1, fund: '1.5', peerFund: '0.5', challengeDuration: 30 }],
      ],
      channel(CH1, CONN1),
    ],
    [
      ['open', CONN3, '--fund', '2'],
      [
        ['GET /connections', undefined],
        ['POST /channels', { connectionId: CONN3, fund: '2' }],
      ],
      channel(CH1, CONN3),
    ],
    [
      ['open-sub', 'abc1', '--fund', '0.5', '--peer-fund', '0.25'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH1}/sub-channels`, { fund: '0.5', peerFund: '0.25' }],
      ],
      { ...channel(CH2, CONN1), parentId: CH1 },
    ],
    [
      ['open-virtual', 'beef', '--via', 'abc1', '--fund', '1'],
      [
        ['GET /connections', undefined],
        ['GET /channels', undefined],
        ['POST /virtual-channels', { connectionId: CONN3, via: CH1, fund: '1' }],
      ],
      { ...channel(CH3, CONN3), parentId: CH1, virtual: true },
    ],
    [
      ['pay', 'abc1', '0.25'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH1}/payments`, { amount: '0.25' }],
      ],
      payment(CH1, '0.25'),
    ],
    [
      ['pay', 'abc1', '0.25', '--id', 'invoice-7'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH1}/payments`, { amount: '0.25', id: 'invoice-7' }],
      ],
      payment(CH1, '0.25'),
    ],
    [
      ['close', 'DEF0'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH3}/close`, {}],
      ],
      settlement(CH3),
    ],
    [
      ['dispute', '0xabc2'],
      [
        ['GET /channels', undefined],
        [`POST /channels/${CH2}/dispute`, {}],
      ],
      settlement(CH2),
    ],
    [['payments'], [['GET /payments', undefined]], [payment(CH1, '0.25')]],
    [
      ['payments', '--last', '20', '--channel', 'def'],
      [
        ['GET /channels', undefined],
        [`GET /payments?limit=20&reversed=true&channelId=${CH3}`, undefined],
      ],
      [payment(CH3, '0.25')],
    ],
    [
      ['messages', '--last', '5'],
      [['GET /messages?limit=5&reversed=true', undefined]],
      [message(CONN1, 'hi')],
    ],
    [
      ['payments', '--channel', 'def'],
      [
        ['GET /channels', undefined],
        [`GET /payments?channelId=${CH3}`, undefined],
      ],
      [payment(CH3, '0.25')],
    ],
    [['proposals'], [['GET /proposals', undefined]], [proposal(PROP1), proposal(PROP2)]],
    [
      ['accept-proposal', 'a1'],
      [
        ['GET /proposals', undefined],
        [`POST /proposals/${PROP1}/accept`, {}],
      ],
      { ...proposal(PROP1), status: 'accepted' },
    ],
    [
      ['reject-proposal', 'b2', '--reason', 'too much'],
      [
        ['GET /proposals', undefined],
        [`POST /proposals/${PROP2}/reject`, { reason: 'too much' }],
      ],
      { ...proposal(PROP2), status: 'rejected' },
    ],
    [['balance'], [['GET /balance', undefined]], balance],
    [
      ['message', 'beef', 'hello', 'there'],
      [
        ['GET /connections', undefined],
        ['POST /messages', { connectionId: CONN3, content: 'hello there' }],
      ],
      message(CONN3, 'hello there'),
    ],
    [['messages'], [['GET /messages', undefined]], [message(CONN1, 'hi')]],
    [
      ['messages', '--connection', 'c0ffee11'],
      [
        ['GET /connections', undefined],
        [`GET /messages?connectionId=${CONN2}`, undefined],
      ],
      [message(CONN2, 'hi')],
    ],
  ];

  it.each(cases)('%j', async (argv, calls, answer) => {
    const human = await cli(argv);
    expect(human.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual(calls);
    expect(fake.requests.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(human.stdout).not.toBe('');
    expect(() => JSON.parse(human.stdout)).toThrow();

    fake.requests.length = 0;
    const machine = await cli([...argv, '--json']);
    expect(machine.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual(calls);
    expect(JSON.parse(machine.stdout)).toEqual(JSON.parse(JSON.stringify(answer)));
  });

  it('human output is readable lines and tables', async () => {
    expect((await cli(['channels'])).stdout.split('\n')[0]).toMatch(
      /^ID\s+PEER\s+STATUS\s+VERSION\s+OURS\s+THEIRS/,
    );
    expect((await cli(['channels'])).stdout.split('\n')[1]).toMatch(/\sopen \(Acting\)\s+3\s/);
    expect((await cli(['pay', 'abc1', '0.25'])).stdout).toBe(
      `paid 0.25 ETH in channel ${CH1} (version 4): ours 8.75 ETH, theirs 11.25 ETH\n`,
    );
    expect((await cli(['balance'])).stdout).toContain('on chain     90 ETH');
    expect((await cli(['invite'])).stdout).toBe('http://127.0.0.1:9000/?oob=eyJ9\n');
    expect((await cli(['info'])).stdout).toMatch(/^signer +secp256k1 native$/m);
  });

  it('pay sends a fresh Idempotency-Key per run, and the same key again when the answer was lost', async () => {
    const paid = () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/payments'));
    const before = paid().length;
    fake.hangUps.set(`POST /channels/${CH1}/payments`, 1);
    const r = await cli(['pay', 'abc1', '0.25', '--json']);
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toEqual(payment(CH1, '0.25'));
    expect(r.stderr).toContain('retrying the payment with the same key');
    const [lost, retry] = paid().slice(before);
    expect(lost!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(retry).toMatchObject({ idempotencyKey: lost!.idempotencyKey, body: lost!.body });

    await cli(['pay', 'abc1', '0.25']);
    await cli(['pay', 'abc1', '0.25', '--idempotency-key', 'order-7']);
    const [next, given] = paid().slice(before + 2);
    expect(next!.idempotencyKey).not.toBe(lost!.idempotencyKey);
    expect(given!.idempotencyKey).toBe('order-7');
  });

  it('pay gives up after a few attempts, all under one key, when no answer comes', async () => {
    const before = fake.requests.length;
    fake.hangUps.set(`POST /channels/${CH1}/payments`, 99);
    const r = await cli(['pay', 'abc1', '0.25']);
    fake.hangUps.clear();
    expect(r.code).toBe(EXIT.UNREACHABLE);
    const posts = fake.requests.slice(before).filter((q) => q.method === 'POST');
    expect(posts).toHaveLength(IDEMPOTENT_ATTEMPTS);
    expect(new Set(posts.map((q) => q.idempotencyKey)).size).toBe(1);
  });

  it('works over the global fetch too', async () => {
    const r = await cli(['pay', 'abc1', '1', '--json'], { deps: { fetch: globalThis.fetch } });
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toEqual(payment(CH1, '1'));
  });
});

describe('errors', () => {
  const err = (category: string, code: string) => ({
    category,
    code,
    message: `it went wrong: ${code}`,
    details: {},
  });
  it.each([
    [400, err('client', 'INVALID_REQUEST'), EXIT.USAGE],
    [409, err('client', 'CHANNEL_BUSY'), EXIT.USAGE],
    [401, err('client', 'UNAUTHORIZED'), EXIT.UNAUTHORIZED],
    [404, err('client', 'UNKNOWN_CHANNEL'), EXIT.NOT_FOUND],
    [502, err('peer', 'UPDATE_REJECTED'), EXIT.PEER],
    [403, err('peer', 'PEER_UNTRUSTED_ISSUER'), EXIT.PEER],
    [422, err('protocol', 'INVALID_SIGNATURE'), EXIT.PEER],
    [502, err('chain', 'CHAIN'), EXIT.CHAIN],
    [500, err('internal', 'INTERNAL'), EXIT.INTERNAL],
  ])('HTTP %d %j exits %d', async (status, body, exitCode) => {
    fake.overrides.set(`POST /channels/${CH1}/payments`, { status, body });
    const human = await cli(['pay', 'abc1', '1']);
    expect(human.code).toBe(exitCode);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`error: it went wrong: ${body.code} (${body.category} ${body.code})`);

    const machine = await cli(['pay', 'abc1', '1', '--json']);
    expect(machine.code).toBe(exitCode);
    expect(JSON.parse(machine.stdout)).toEqual(body);
  });

  it('shows the details of an error', async () => {
    fake.overrides.set('POST /channels', {
      status: 400,
      body: { category: 'client', code: 'INVALID_REQUEST', message: 'bad field', details: { field: 'fund' } },
    });
    const r = await cli(['open', 'beef', '--fund', '1']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('error: bad field (client INVALID_REQUEST)\n  field: fund\n');
  });

  it('an answer that is not an API error exits by its status', async () => {
    fake.overrides.set('GET /balance', { status: 502, raw: '<html>bad gateway</html>' });
    const r = await cli(['balance']);
    expect(r.code).toBe(EXIT.INTERNAL);
    expect(r.stderr).toContain('HTTP 502');
  });

  it('page prints the web page URL with the token, once the token is known to work', async () => {
    const r = await cli(['page']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe(`${fake.url}/#token=${TOKEN}\n`);
    expect(JSON.parse((await cli(['page', '--json'])).stdout)).toEqual({
      url: `${fake.url}/#token=${TOKEN}`,
    });
    const wrong = await cli(['page', '--token', 'wrong']);
    expect(wrong.code).toBe(EXIT.UNAUTHORIZED);
    expect(wrong.stdout).toBe('');
  });

  it('a wrong token exits 7', async () => {
    const r = await cli(['info', '--token', 'wrong']);
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
    expect(fake.requests.map((q) => q.auth)).toEqual(['Bearer wrong']);
  });

  it('an agent that does not answer exits 3', async () => {
    const gone = await new FakeAgent().start();
    await gone.close();
    const r = await cli(['info', '--api-url', gone.url]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toContain(`cannot reach the agent at ${gone.url}`);
    const machine = await cli(['info', '--api-url', gone.url, '--json']);
    expect(JSON.parse(machine.stdout)).toMatchObject({ category: 'transport', code: 'AGENT_UNREACHABLE' });
  });

  it('no API URL anywhere exits 3 and says where it looked', async () => {
    const r = await cli(['info'], { env: { PERUN_DATA_DIR: path.join(tmp, 'none') } });
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toContain(path.join(tmp, 'none', 'config.json'));
  });

  it('usage errors exit 2, with a JSON error under --json', async () => {
    expect((await cli(['open', 'beef'])).code).toBe(EXIT.USAGE);
    expect((await cli(['nonsense'])).code).toBe(EXIT.USAGE);
    expect((await cli([])).code).toBe(EXIT.USAGE);
    const r = await cli(['pay', 'abc1', '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(JSON.parse(r.stdout)).toMatchObject({ category: 'client', code: 'USAGE' });
    expect(r.stderr).toContain("missing required argument 'amount'");
    expect(fake.requests).toEqual([]);
  });

  it('--help exits 0 and documents the exit codes', async () => {
    const r = await cli(['pay', '--help']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain('Usage: perun-agent pay');
    expect(r.stdout).toContain('7    unauthorized');
    const root = await cli(['--help']);
    expect(root.stdout).toContain('PERUN_API_TOKEN');
    expect(root.stdout).toContain('3    cannot reach the agent');
  });

  it('--help names every environment variable the agent reads (but the test knobs)', async () => {
    const testKnobs = [
      'PERUN_AGENT_NODE_ARGS',
      'PERUN_FAILPOINTS_FILE',
      'PERUN_SIGNATURE_JOURNAL',
      'PERUN_START_GATE_FILE',
    ];
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts'))
          for (const m of readFileSync(p, 'utf8').matchAll(/['"`](PERUN_[A-Z_]+)['"`]|env\.(PERUN_[A-Z_]+)/g))
            read.add(m[1] ?? m[2]!);
      }
    };
    walk(path.join(process.cwd(), 'src', 'agent'));
    for (const v of configEnvNames()) read.add(v);
    expect(read).toContain('PERUN_DIDCOMM_SOURCE_RATE');
    expect(read).toContain('PERUN_API_TOKEN');
    const help = (await cli(['--help'])).stdout;
    const missing = [...read].filter((v) => !testKnobs.includes(v) && !help.includes(v));
    expect(missing).toEqual([]);
  });
});

describe('input is checked before any request', () => {
  it.each([
    [['pay', 'abc1', '1.2.3']],
    [['pay', 'abc1', '-1']],
    [['pay', 'abc1', '1e18']],
    [['pay', 'abc1', '0.0000000000000000001']],
    [['open', 'beef', '--fund', 'lots']],
    [['open', 'beef', '--fund', '1', '--peer-fund', '1,5']],
    [['open', 'beef', '--fund', '1', '--challenge-duration', '0']],
    [['issue-credential', 'beef', '--name', 'B', '--spending-limit', 'x']],
    [['issue-credential', 'beef', '--name', 'B', '--spending-limit', '1', '--address', '0x1234']],
    [['issue-credential', 'beef', '--name', 'B', '--spending-limit', '1', '--expires', 'tomorrow']],
    [['accept-invitation', 'not a url']],
    [['events', '--since', 'x']],
    [['payments', '--last', '0']],
    [['messages', '--last', '1001']],
  ])('%j exits 2 without a request', async (argv) => {
    const r = await cli([...argv, '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(fake.requests).toEqual([]);
    expect(JSON.parse(r.stdout)).toMatchObject({ category: 'client' });
  });

  it('names the bad amount', async () => {
    const r = await cli(['pay', 'abc1', '1.2.3']);
    expect(r.stderr).toContain('amount: not an amount');
    expect(r.stderr).toContain('INVALID_AMOUNT');
  });
});

describe('ID prefixes', () => {
  it('an ambiguous prefix exits 2 and lists the candidates', async () => {
    const r = await cli(['pay', 'abc', '1']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(`"abc" matches 2 channels (${CH1}, ${CH2})`);
    expect(fake.calls()).toEqual([['GET /channels', undefined]]);
  });

  it('an ambiguous connection prefix exits 2', async () => {
    const r = await cli(['message', 'c0ffee', 'hi', '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 'AMBIGUOUS_ID',
      details: { matches: [CONN1, CONN2] },
    });
    expect(fake.calls()).toEqual([['GET /connections', undefined]]);
  });

  it('an unknown prefix exits 6', async () => {
    const r = await cli(['close', '0x999']);
    expect(r.code).toBe(EXIT.NOT_FOUND);
    expect(r.stderr).toContain('no channel "0x999"');
    const p = await cli(['accept-proposal', 'zz']);
    expect(p.code).toBe(EXIT.NOT_FOUND);
  });

  it('a full ID or a prefix in any case, with or without 0x', async () => {
    for (const arg of [CH2, CH2.toUpperCase().replace('0X', '0x'), 'ABC2', '0xAbC2']) {
      fake.requests.length = 0;
      expect((await cli(['pay', arg, '1'])).code).toBe(EXIT.OK);
      expect(fake.calls()[1]![0]).toBe(`POST /channels/${CH2}/payments`);
    }
  });
});

describe('credentials outside DIDComm', () => {
  it('sign-credential prints the signed credential, which import-credential reads from a file', async () => {
    const signed = await cli([
      'sign-credential',
      'did:peer:2.carol',
      '--name',
      'Carol',
      '--spending-limit',
      '1',
      '--address',
      ADDRESS,
      '--expires',
      '2020-01-01T00:00:00Z',
    ]);
    expect(signed.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual([
      [
        'POST /credentials/sign',
        {
          subject: 'did:peer:2.carol',
          name: 'Carol',
          spendingLimit: '1',
          ethereumAddress: ADDRESS,
          expirationDate: '2020-01-01T00:00:00.000Z',
        },
      ],
    ]);
    const file = path.join(tmp, 'carol.json');
    writeFileSync(file, signed.stdout);
    fake.requests.length = 0;
    const imported = await cli(['import-credential', file, '--json']);
    expect(imported.code).toBe(EXIT.OK);
    expect(fake.calls()).toEqual([
      ['POST /credentials/import', { credential: '{"type":["VerifiableCredential"]}' }],
    ]);
    expect(JSON.parse(imported.stdout)).toEqual(credential);
    expect((await cli(['import-credential', path.join(tmp, 'missing.json')])).code).toBe(EXIT.USAGE);
  });
});

describe('where the agent is', () => {
  function dataDir(name: string, config: Record<string, unknown>, token?: string) {
    const dir = path.join(tmp, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    if (token !== undefined) writeFileSync(path.join(dir, 'api-token'), `${token}\n`);
    return dir;
  }
  const port = () => Number(new URL(fake.url).port);

  it('flags beat the environment, which beats the data directory', async () => {
    const dir = dataDir('agent', { apiHost: '0.0.0.0', apiPort: port() }, TOKEN);
    const env = { PERUN_DATA_DIR: dir, PERUN_API_URL: `${fake.url}/env`, PERUN_API_TOKEN: TOKEN };
    const seen = async (argv: string[], e: NodeJS.ProcessEnv) => {
      fake.requests.length = 0;
      const r = await cli(argv, { env: e });
      return { code: r.code, url: fake.requests[0]?.url, auth: fake.requests[0]?.auth };
    };
    expect(await seen(['info', '--api-url', `${fake.url}/flag`], env)).toEqual({
      code: 0,
      url: '/flag/info',
      auth: `Bearer ${TOKEN}`,
    });
    expect(await seen(['info'], env)).toEqual({ code: 0, url: '/env/info', auth: `Bearer ${TOKEN}` });
    expect(await seen(['info'], { PERUN_DATA_DIR: dir })).toEqual({
      code: 0,
      url: '/info',
      auth: `Bearer ${TOKEN}`,
    });
    expect(await seen(['info', '--token', 'from-flag'], env)).toMatchObject({ auth: 'Bearer from-flag' });
    expect(await seen(['info'], { ...env, PERUN_API_TOKEN: 'from-env' })).toMatchObject({
      auth: 'Bearer from-env',
    });
    expect(await seen(['info', '--api-url', `${fake.url}/flag`], { PERUN_DATA_DIR: dir })).toMatchObject({
      url: '/flag/info',
      auth: `Bearer ${TOKEN}`,
    });
  });

  it('a running agent’s api-url file beats the configured port (the agent may run on another)', async () => {
    const dir = dataDir('running', { apiHost: '127.0.0.1', apiPort: 1 }, TOKEN);
    writeFileSync(path.join(dir, 'api-url'), `${fake.url}/running\n`);
    fake.requests.length = 0;
    expect((await cli(['info'], { env: { PERUN_DATA_DIR: dir } })).code).toBe(EXIT.OK);
    expect(fake.requests[0]?.url).toBe('/running/info');
  });

  it('--data-dir beats PERUN_DATA_DIR, which beats ./.perun-agent', async () => {
    const flagDir = dataDir('flag-dir', { apiPort: port() }, 'flag-dir-token');
    const envDir = dataDir('env-dir', { apiPort: port() }, 'env-dir-token');
    dataDir('.perun-agent', { apiHost: '127.0.0.1', apiPort: port() }, 'default-token');
    await cli(['info', '--data-dir', flagDir], { env: { PERUN_DATA_DIR: envDir } });
    await cli(['info'], { env: { PERUN_DATA_DIR: envDir } });
    await cli(['info'], { env: {} });
    expect(fake.requests.map((r) => r.auth)).toEqual([
      'Bearer flag-dir-token',
      'Bearer env-dir-token',
      'Bearer default-token',
    ]);
  });

  it('no token anywhere exits 7 without a request', async () => {
    const r = await cli(['info'], { env: { PERUN_API_URL: fake.url, PERUN_DATA_DIR: path.join(tmp, 'x') } });
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
    expect(r.stderr).toContain('no API token');
    expect(fake.requests).toEqual([]);
  });
});

describe('events', () => {
  it('prints one line per event and reconnects with Last-Event-ID', async () => {
    const interrupt = new AbortController();
    const output = new Output();
    fake.onEvents = (res, _rec, nth) => {
      if (nth === 1) {
        sseEvent(res, event(1, { type: 'channel-phase', channelId: CH1, from: 'FUNDING', to: 'ACTING' }));
        sseEvent(
          res,
          event(2, { type: 'payment-received', payment: { ...payment(CH1, '0.5'), direction: 'received' } }),
        );
        res.end();
      } else {
        const sale = {
          id: 'sale-1',
          role: 'holder',
          connectionId: 'conn-1',
          peerDid: 'did:peer:2.x',
          price: '0.05',
          digest: '0x11',
          status: 'delivered',
          credential: {},
          channelId: CH1,
        };
        sseEvent(res, event(3, { type: 'credential-sale', sale }));
        sseEvent(res, event(4, { type: 'warning', context: 'watcher', message: 'slow chain' }));
      }
    };
    void output.until('stdout', 'slow chain').then(() => interrupt.abort());
    const r = await cli(['events'], { interrupt, output });
    expect(r.code).toBe(EXIT.OK);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `2025-01-01T00:00:03.000Z  channel ${CH1}: FUNDING → ACTING`,
      `2025-01-01T00:00:03.000Z  received 0.5 ETH in channel ${CH1} (version 4): ours 8.75 ETH, theirs 11.25 ETH`,
      `2025-01-01T00:00:03.000Z  credential sale sale-1 (holder, 0.05 ETH) with connection conn-1: delivered on channel ${CH1}`,
      '2025-01-01T00:00:03.000Z  warning: watcher: slow chain',
    ]);
    expect(r.stderr).toContain('reconnecting');
    expect(fake.requests.map((q) => [q.path, q.lastEventId])).toEqual([
      ['/events', undefined],
      ['/events', '2'],
    ]);
  });

  it('--json prints one JSON object per line; --since replays', async () => {
    const interrupt = new AbortController();
    const output = new Output();
    const events = [
      event(8, { type: 'proposal', proposal: proposal(PROP1) }),
      event(9, { type: 'settled', settlement: settlement(CH2) }),
    ];
    fake.onEvents = (res) => events.forEach((e) => sseEvent(res, e));
    void output.until('stdout', /"id": ?9/).then(() => interrupt.abort());
    const r = await cli(['events', '--json', '--since', '7'], { interrupt, output });
    expect(r.code).toBe(EXIT.OK);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(events);
    expect(fake.requests[0]!.lastEventId).toBe('7');
  });

  it('an unauthorized stream exits 7', async () => {
    const r = await cli(['events', '--token', 'nope']);
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
  });

  it('dispute shows the channel events while it waits', async () => {
    const output = new Output();
    fake.onEvents = (res) => {
      sseEvent(res, event(1, { type: 'channel-phase', channelId: CH3, from: 'ACTING', to: 'REGISTERING' }));
      sseEvent(
        res,
        event(2, { type: 'dispute', channelId: CH1, version: '1', timeout: 'never', by: 'chain' }),
      );
      sseEvent(
        res,
        event(3, { type: 'dispute', channelId: CH2, version: '3', timeout: '1800000000', by: 'us' }),
      );
    };
    fake.before.set(`POST /channels/${CH2}/dispute`, () =>
      output.until('stderr', 'challenge ends 2027-01-15T08:00:00.000Z'),
    );
    const r = await cli(['dispute', 'abc2'], { output });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toContain('waiting out the challenge duration (60 s)…');
    expect(r.stderr).toContain(
      `dispute on channel ${CH2}: version 3 registered by us, challenge ends 2027-01-15T08:00:00.000Z`,
    );
    expect(r.stderr).not.toContain(CH1);
    expect(r.stderr).not.toContain(CH3);
    expect(r.stdout).toBe(`channel ${CH2} settled: withdrew 9 ETH to ${ADDRESS}\n`);
  });

  it('an interrupted wait exits 130 and says the agent carries on', async () => {
    const interrupt = new AbortController();
    fake.before.set(`POST /channels/${CH1}/close`, () => new Promise(() => undefined));
    const output = new Output();
    void output.until('stderr', 'closing').then(() => interrupt.abort());
    const r = await cli(['close', 'abc1'], { interrupt, output });
    expect(r.code).toBe(EXIT.INTERRUPTED);
    expect(r.stderr).toContain('the agent carries on');
  });
});

describe('parseSse', () => {
  it('splits fields across chunks and line endings', async () => {
    const chunks = ['id: 1\r', '\nevent: a\ndata: x\nda', 'ta: y\n\n: comment\n\nretry: 50\ndata:z\r\r'];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const s of chunks) c.enqueue(new TextEncoder().encode(s));
        c.close();
      },
    });
    const got = [];
    for await (const m of parseSse(body)) got.push(m);
    expect(got).toEqual([
      { id: '1', event: 'a', data: 'x\ny', retry: undefined },
      { id: '1', event: 'message', data: 'z', retry: 50 },
    ]);
  });
});

describe('init and start', () => {
  const config = (dataDir: string): AgentConfig =>
    ({
      dataDir,
      configFile: path.join(dataDir, 'config.json'),
      tokenFile: path.join(dataDir, 'api-token'),
    }) as AgentConfig;

  function fakeNode(overrides: Partial<NodeFunctions> = {}) {
    const calls: Record<string, unknown[][]> = {};
    const record =
      <A extends unknown[], R>(name: string, f: (...a: A) => R) =>
      (...a: A) => {
        (calls[name] ??= []).push(a);
        return f(...a);
      };
    const stopped: string[] = [];
    const node = {
      initAgent: record('initAgent', async (o: { dataDir: string }) => ({
        dataDir: o.dataDir,
        configFile: path.join(o.dataDir, 'config.json'),
        address: ADDRESS,
        token: 'SECRET-TOKEN',
      })),
      loadAgentConfig: record('loadAgentConfig', (o: { dataDir: string }) => config(o.dataDir)),
      startAgent: record('startAgent', async () => ({
        info,
        node: undefined as never,
        apiUrl: 'http://127.0.0.1:8080',
        webUrl: 'http://127.0.0.1:8080/#token=SECRET-TOKEN',
        stop: async () => void stopped.push('agent'),
      })),
      runChain: record('runChain', async () => ({
        rpcUrl: 'http://127.0.0.1:8545',
        config: { rpcUrl: 'http://127.0.0.1:8545', chainId: '31337' },
        chain: undefined as never,
        stop: async () => void stopped.push('chain'),
      })),
      faucet: record('faucet', async () => 12n * 10n ** 18n),
      ...overrides,
    } as unknown as NodeFunctions;
    return { node, calls, stopped, loadNode: () => Promise.resolve(node) };
  }

  it('init passes the data directory, passphrase and settings, and never prints the token', async () => {
    const f = fakeNode();
    writeFileSync(path.join(tmp, 'pass'), 'correct horse\n', { mode: 0o600 });
    writeFileSync(path.join(tmp, 'key'), `0x${'ab'.repeat(32)}\n`);
    const r = await cli(
      [
        'init',
        '--data-dir',
        'a',
        '--label',
        'alice',
        '--passphrase-file',
        'pass',
        '--eth-key-file',
        'key',
        '--api-port',
        '8080',
        '--trusted-issuer',
        'did:key:one',
        '--trusted-issuer',
        'did:key:two',
        '--no-auto-accept',
        '--chain',
        'chain.json',
        '--json',
      ],
      { env: {}, deps: { loadNode: f.loadNode } },
    );
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.initAgent).toEqual([
      [
        {
          dataDir: path.join(tmp, 'a'),
          label: 'alice',
          passphrase: 'correct horse',
          ethKey: `0x${'ab'.repeat(32)}`,
          log: expect.any(Function),
          overrides: {
            apiPort: 8080,
            trustedIssuers: ['did:key:one', 'did:key:two'],
            autoAccept: false,
            chain: path.join(tmp, 'chain.json'),
          },
        },
      ],
    ]);
    expect(JSON.parse(r.stdout)).toEqual({
      dataDir: path.join(tmp, 'a'),
      configFile: path.join(tmp, 'a', 'config.json'),
      tokenFile: path.join(tmp, 'a', 'api-token'),
      address: ADDRESS,
    });
    expect(r.stdout + r.stderr).not.toContain('SECRET-TOKEN');
  });

  it('refuses a passphrase file that group or others may read, as ssh refuses such a key', async () => {
    const f = fakeNode();
    const file = path.join(tmp, 'open-pass');
    writeFileSync(file, 'correct horse\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const r = await cli(['init', '--passphrase-file', file, '--json'], {
      env: {},
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 'PASSPHRASE_FILE_PERMISSIONS',
      details: { mode: '644' },
    });
    expect(f.calls.initAgent).toBeUndefined();
    chmodSync(file, 0o600);
    const ok = await cli(['init', '--passphrase-file', file], { env: {}, deps: { loadNode: f.loadNode } });
    expect(ok.code).toBe(EXIT.OK);
    expect(f.calls.initAgent![0]![0]).toMatchObject({ passphrase: 'correct horse' });
  });

  it('reads the passphrase from --passphrase-fd, and takes PERUN_PASSPHRASE out of the environment', async () => {
    const f = fakeNode();
    const file = path.join(tmp, 'fd-pass');
    writeFileSync(file, 'from the fd\nnot this line\n', { mode: 0o600 });
    const fd = openSync(file, 'r');
    const env: NodeJS.ProcessEnv = { PERUN_PASSPHRASE: 'from the environment' };
    const r = await cli(['init', '--passphrase-fd', String(fd)], { env, deps: { loadNode: f.loadNode } });
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.initAgent![0]![0]).toMatchObject({ passphrase: 'from the fd' });
    expect(env.PERUN_PASSPHRASE).toBeUndefined();

    const seen: Array<string | undefined> = [];
    const g = fakeNode({
      initAgent: async (o: { dataDir: string }) => {
        seen.push(env2.PERUN_PASSPHRASE);
        return { dataDir: o.dataDir, configFile: '', address: ADDRESS, token: '' };
      },
    });
    const env2: NodeJS.ProcessEnv = { PERUN_PASSPHRASE: 'pw' };
    expect((await cli(['init'], { env: env2, deps: { loadNode: g.loadNode } })).code).toBe(EXIT.OK);
    expect(seen).toEqual([undefined]); // gone before the node (and any child process) starts
    expect(
      (await cli(['init', '--passphrase-fd', 'x'], { env: {}, deps: { loadNode: g.loadNode } })).code,
    ).toBe(EXIT.USAGE);
  });

  it('init asks twice on a terminal; different answers exit 2', async () => {
    const f = fakeNode();
    const answers = ['one', 'two'];
    const r = await cli(['init'], {
      env: {},
      deps: { loadNode: f.loadNode },
      prompt: async () => answers.shift()!,
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('the passphrases differ');
    expect(f.calls.initAgent).toBeUndefined();
  });

  it('without a terminal and no passphrase, init and start exit 2', async () => {
    const f = fakeNode();
    for (const cmd of ['init', 'start']) {
      const r = await cli([cmd], { env: {}, deps: { loadNode: f.loadNode } });
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toContain('no passphrase: give --passphrase-file <path> or PERUN_PASSPHRASE');
    }
    expect(f.calls.initAgent).toBeUndefined();
    expect(f.calls.startAgent).toBeUndefined();
  });

  it('start runs until interrupted, shows the web URL with its token only on a terminal', async () => {
    for (const outIsTTY of [false, true]) {
      const f = fakeNode();
      const interrupt = new AbortController();
      const output = new Output();
      void output.until('stdout', 'stop with Ctrl-C').then(() => interrupt.abort());
      const env = { PERUN_PASSPHRASE: 'pw', PERUN_API_PORT: '9999' };
      const r = await cli(['start', '--data-dir', 'a', '--didcomm-port', '7000'], {
        env,
        interrupt,
        output,
        outIsTTY,
        deps: { loadNode: f.loadNode },
      });
      expect(r.code).toBe(EXIT.OK);
      expect(f.calls.loadAgentConfig).toEqual([
        [{ dataDir: path.join(tmp, 'a'), flags: { didcommPort: 7000 }, env }],
      ]);
      expect(f.calls.startAgent![0]!.slice(0, 2)).toEqual([config(path.join(tmp, 'a')), 'pw']);
      expect(f.stopped).toEqual(['agent']);
      expect(r.stdout).toContain('http://127.0.0.1:8080');
      expect(r.stdout.includes('SECRET-TOKEN')).toBe(outIsTTY);
      expect(r.stderr).not.toContain('SECRET-TOKEN');
    }
  });

  it('--proposals-per-minute is a positive whole number; the environment sets it too', async () => {
    const f = fakeNode();
    const r = await cli(['init', '--proposals-per-minute', '600'], {
      env: { PERUN_PASSPHRASE: 'pw' },
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.initAgent![0]![0]).toMatchObject({ overrides: { proposalsPerMinute: 600 } });
    for (const bad of ['0', '1.5', 'many']) {
      const b = await cli(['init', '--proposals-per-minute', bad], {
        env: { PERUN_PASSPHRASE: 'pw' },
        deps: { loadNode: f.loadNode },
      });
      expect(b.code).toBe(EXIT.USAGE);
    }
    const dir = path.join(tmp, 'limits');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ proposalsPerMinute: 100 }));
    expect(loadAgentConfig({ dataDir: dir }).proposalsPerMinute).toBe(100);
    expect(
      loadAgentConfig({ dataDir: dir, env: { PERUN_PROPOSALS_PER_MINUTE: '5000' } }).proposalsPerMinute,
    ).toBe(5000);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({}));
    expect(loadAgentConfig({ dataDir: dir }).proposalsPerMinute).toBe(30);
    expect(() => loadAgentConfig({ dataDir: dir, env: { PERUN_PROPOSALS_PER_MINUTE: '0' } })).toThrow(
      'proposalsPerMinute: expected a positive whole number',
    );
  });

  it('--reverify-after takes whole seconds, 0 included; the environment sets it too', async () => {
    const f = fakeNode();
    for (const [given, seconds] of [
      ['0', 0],
      ['900', 900],
    ] as const) {
      const r = await cli(['init', '--reverify-after', given], {
        env: { PERUN_PASSPHRASE: 'pw' },
        deps: { loadNode: f.loadNode },
      });
      expect(r.code).toBe(EXIT.OK);
      expect(f.calls.initAgent!.at(-1)![0]).toMatchObject({ overrides: { reverifyAfterSeconds: seconds } });
    }
    for (const bad of ['-1', '1.5', 'soon']) {
      const b = await cli(['init', '--reverify-after', bad], {
        env: { PERUN_PASSPHRASE: 'pw' },
        deps: { loadNode: f.loadNode },
      });
      expect(b.code).toBe(EXIT.USAGE);
    }
    const dir = path.join(tmp, 'reverify');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({}));
    expect(loadAgentConfig({ dataDir: dir }).reverifyAfterSeconds).toBe(300);
    expect(
      loadAgentConfig({ dataDir: dir, env: { PERUN_REVERIFY_AFTER_SECONDS: '0' } }).reverifyAfterSeconds,
    ).toBe(0);
    expect(() => loadAgentConfig({ dataDir: dir, env: { PERUN_REVERIFY_AFTER_SECONDS: 'x' } })).toThrow(
      'reverifyAfterSeconds: expected whole seconds (0 for none)',
    );
  });

  it('start --json prints one JSON value without the token', async () => {
    const f = fakeNode();
    const interrupt = new AbortController();
    const output = new Output();
    void output.until('stdout', '}').then(() => interrupt.abort());
    const r = await cli(['start', '--json'], {
      env: { PERUN_PASSPHRASE: 'pw' },
      interrupt,
      output,
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({
      apiUrl: 'http://127.0.0.1:8080',
      webUrl: 'http://127.0.0.1:8080/',
    });
    expect(r.stdout + r.stderr).not.toContain('SECRET-TOKEN');
  });

  it("start's failures exit by their kind", async () => {
    const wrong = fakeNode({
      startAgent: () => Promise.reject(new WrongPassphraseError()),
    });
    const r = await cli(['start'], { env: { PERUN_PASSPHRASE: 'pw' }, deps: { loadNode: wrong.loadNode } });
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
    expect(r.stderr).toContain('wrong passphrase');

    const uninitialised = fakeNode({
      loadAgentConfig: () => {
        throw new AgentConfigError('NOT_INITIALISED', 'no agent in /x: run perun-agent init first');
      },
    });
    const u = await cli(['start'], {
      env: { PERUN_PASSPHRASE: 'pw' },
      deps: { loadNode: uninitialised.loadNode },
    });
    expect(u.code).toBe(EXIT.USAGE);
    expect(u.stderr).toContain('run perun-agent init first');
  });

  it('chain writes the chain file and runs until interrupted; faucet funds an address', async () => {
    const f = fakeNode();
    const interrupt = new AbortController();
    const output = new Output();
    void output.until('stdout', /\}\s*$/).then(() => interrupt.abort());
    const r = await cli(['chain', '--out', 'c.json', '--port', '8545', '--json'], {
      env: {},
      interrupt,
      output,
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.runChain).toEqual([[{ host: '127.0.0.1', port: 8545, out: path.join(tmp, 'c.json') }]]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      rpcUrl: 'http://127.0.0.1:8545',
      chainFile: path.join(tmp, 'c.json'),
    });
    expect(f.stopped).toEqual(['chain']);

    const fa = await cli(['faucet', ADDRESS, '2', '--chain', 'c.json'], {
      env: {},
      deps: { loadNode: f.loadNode },
    });
    expect(fa.code).toBe(EXIT.OK);
    expect(f.calls.faucet).toEqual([
      [{ chain: path.join(tmp, 'c.json'), address: ADDRESS, amount: 2n * 10n ** 18n }],
    ]);
    expect(fa.stdout).toBe(`gave ${ADDRESS} 2 ETH: it has 12 ETH\n`);

    const bad = await cli(['faucet', '0x12', '2'], { env: {}, deps: { loadNode: f.loadNode } });
    expect(bad.code).toBe(EXIT.USAGE);
    expect(f.calls.faucet).toHaveLength(1);
  });
});
