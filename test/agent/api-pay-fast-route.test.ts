// The payment route served before express (src/agent/api/pay-route.ts) answers exactly as the
// express route does: the same raw request to the agent's listener and to a plain node server
// running only the express app gets the same status line, headers (in order) and body bytes, the
// node is asked the same, the log has the same line. Requests of the ordinary shape never reach
// express; every other one (no or a wrong token, a token whose scope may not pay, another content
// type or encoding, a chunked or too large body, a query string, an encoded or upper-case path) is
// left to express.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type express from 'express';

import { ApiRequestError } from '../../src/agent/api/api-error.js';
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import { sha256 } from '../../src/agent/api/scoped-tokens.js';
import type { AgentNodeApi, PaymentView, PayOptions } from '../../src/agent/node/types.js';
import { ChannelClientError } from '../../src/channels/errors.js';

const TOKEN = 'tok-7c1d9e2a4b6f8a0c2e4d6b8f0a1c3e5d';
const READ_TOKEN = 'tok-read-0a1b2c3d4e5f6a7b8c9d0e1f2a3b';
const PAY_TOKEN = 'tok-pay-1b2c3d4e5f6a7b8c9d0e1f2a3b4c';

/** A node whose `pay` records its arguments and answers by channel ID. */
function payingNode(calls: unknown[][]): AgentNodeApi {
  const pay = (
    channelId: string,
    amount: string,
    id?: string,
    options?: PayOptions,
  ): Promise<PaymentView> => {
    calls.push([channelId, amount, id, options]);
    switch (channelId) {
      case '0xunknown':
        return Promise.reject(
          new ChannelClientError('UNKNOWN_CHANNEL', `no channel ${channelId}`, { channelId }),
        );
      case '0xbusy':
        return Promise.reject(new ChannelClientError('CHANNEL_BUSY', 'an update is in flight'));
      case '0xboom':
        return Promise.reject(new Error('boom'));
      case '0xlater':
        return Promise.reject(new ApiRequestError(503, 'NOT_READY', 'later', { why: 'starting' }, 2));
      default:
        return Promise.resolve({
          id: id ?? 'pay-fresh',
          channelId,
          asset: options?.asset ?? 'ETH',
          version: '4',
          amount,
          direction: 'sent',
          ourBalance: '0.5',
          theirBalance: '0.5',
          batch: 1,
          at: '2025-01-02T03:04:06.000Z',
        });
    }
  };
  return { pay } as unknown as AgentNodeApi;
}

interface Side {
  calls: unknown[][];
  log: string[];
  /** Requests the express app was handed. */
  expressSeen: number;
  port: number;
}

const fast: Side = { calls: [], log: [], expressSeen: 0, port: 0 };
const plain: Side = { calls: [], log: [], expressSeen: 0, port: 0 };
let listener: ApiListener;
let server: Server;

function makeApp(side: Side): express.Express {
  const app = createApiServer(payingNode(side.calls), {
    token: TOKEN,
    log: (line) => side.log.push(line),
    scopedTokens: {
      lookup: (hash) =>
        hash.equals(sha256(READ_TOKEN))
          ? { id: 'read', scope: 'read-only' }
          : hash.equals(sha256(PAY_TOKEN))
            ? { id: 'pay', scope: 'payment' }
            : undefined,
    },
  });
  // Express hands every request to `app.handle`: counted, it tells which requests express saw.
  const inner = app as unknown as { handle: (...args: unknown[]) => unknown };
  const handle = inner.handle.bind(app);
  inner.handle = (...args) => {
    side.expressSeen++;
    return handle(...args);
  };
  return app;
}

beforeAll(async () => {
  listener = await listenApi(makeApp(fast), { host: '127.0.0.1', port: 0 });
  fast.port = listener.port;
  // The same kind of app on a plain node server: every request through express.
  const app = makeApp(plain);
  server = createServer((req, res) => app(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  plain.port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await listener.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The response to a raw HTTP request (sent as one write, the connection closed after), `Date` line cut. */
function exchange(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () =>
      resolve(
        Buffer.concat(chunks)
          .toString('latin1')
          .replace(/\r\nDate: [^\r]*/, ''),
      ),
    );
    socket.end(request);
  });
}

interface Req {
  path?: string;
  token?: string | null;
  headers?: Record<string, string>;
  /** The body's bytes (default none); content-length is set from it unless `headers` sets it. */
  body?: string | Buffer;
  contentType?: string | null;
}

function raw(r: Req): Buffer {
  const body =
    r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
  const lines = [
    `POST ${r.path ?? '/channels/0xchannel/payments'} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
  ];
  const token = r.token === undefined ? TOKEN : r.token;
  if (token !== null) lines.push(`Authorization: Bearer ${token}`);
  const type = r.contentType === undefined ? 'application/json' : r.contentType;
  if (type !== null) lines.push(`Content-Type: ${type}`);
  const headers = { ...r.headers };
  if (
    body !== undefined &&
    !Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h))
  )
    headers['Content-Length'] = String(body.length);
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === undefined ? head : Buffer.concat([head, body]);
}

/** Sends `r` to both servers: both answers, the node's calls and log lines of each, whether express saw it. */
async function both(r: Req) {
  const before = { f: fast.calls.length, p: plain.calls.length, fl: fast.log.length, pl: plain.log.length };
  const seen = fast.expressSeen;
  const request = raw(r);
  const fastAnswer = await exchange(fast.port, request);
  const plainAnswer = await exchange(plain.port, request);
  // The log line is written when the response closes, which may come after the client's end.
  const lines = async (log: string[], from: number) => {
    for (let i = 0; i < 1000 && !log.slice(from).some((l) => / \d+ \d+ms$/.test(l)); i++)
      await new Promise((resolve) => setImmediate(resolve));
    return log.slice(from).map((l) => l.replace(/ \d+ms$/, ' Nms').split('\n')[0]);
  };
  return {
    fastAnswer,
    plainAnswer,
    fastCalls: fast.calls.slice(before.f),
    plainCalls: plain.calls.slice(before.p),
    fastLog: await lines(fast.log, before.fl),
    plainLog: await lines(plain.log, before.pl),
    expressTookIt: fast.expressSeen > seen,
  };
}

/** A payment of 1 on `channelId`, which the node answers with an error of that status. */
function nodeAnswers(name: string, channelId: string, status: number): [string, Req, number, unknown] {
  const req = { path: `/channels/${channelId}/payments`, body: '{"amount":"1"}' };
  return [name, req, status, [channelId, '1', undefined, undefined]];
}

const GOOD: Array<[string, Req, number, unknown]> = [
  ['an amount', { body: '{"amount":"0.25"}' }, 201, ['0xchannel', '0.25', undefined, undefined]],
  [
    'an amount and an ID',
    { body: '{"amount":"1","id":"inv-42"}' },
    201,
    ['0xchannel', '1', 'inv-42', undefined],
  ],
  [
    'an Idempotency-Key and an asset',
    { body: '{"amount":"0.5","asset":"ETH"}', headers: { 'Idempotency-Key': 'key 1' } },
    201,
    ['0xchannel', '0.5', undefined, { idempotencyKey: 'key 1', asset: 'ETH' }],
  ],
  [
    'charset=utf-8',
    { body: '{"amount":"2"}', contentType: 'application/json; charset=utf-8' },
    201,
    ['0xchannel', '2', undefined, undefined],
  ],
  [
    'a byte-order mark and white space',
    { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' \n\t{"amount":"3"}')]) },
    201,
    ['0xchannel', '3', undefined, undefined],
  ],
  [
    'a payment token',
    { body: '{"amount":"0.1"}', token: PAY_TOKEN },
    201,
    ['0xchannel', '0.1', undefined, undefined],
  ],
  nodeAnswers('a channel the node does not know', '0xunknown', 404),
  nodeAnswers('a busy channel', '0xbusy', 409),
  nodeAnswers('an internal error', '0xboom', 500),
  nodeAnswers('a refusal with Retry-After', '0xlater', 503),
];

const REFUSED_BEFORE_THE_NODE: Array<[string, Req, number]> = [
  ['not JSON', { body: 'not json' }, 400],
  ['truncated JSON', { body: '{"amount":' }, 400],
  ['a JSON string, not an object (strict)', { body: '"0.25"' }, 400],
  ['only white space', { body: '   ' }, 400],
  ['an array', { body: '[{"amount":"1"}]' }, 400],
  ['no amount', { body: '{}' }, 400],
  ['a negative amount', { body: '{"amount":"-1"}' }, 400],
  ['a number for the amount', { body: '{"amount":1}' }, 400],
  ['an unknown field', { body: '{"amount":"1","to":"0xbob"}' }, 400],
  ['a malformed payment ID', { body: '{"amount":"1","id":"has space"}' }, 400],
  [
    'an Idempotency-Key too long',
    { body: '{"amount":"1"}', headers: { 'Idempotency-Key': 'k'.repeat(256) } },
    400,
  ],
];

const LEFT_TO_EXPRESS: Array<[string, Req, number]> = [
  ['no token', { body: '{"amount":"1"}', token: null }, 401],
  ['a wrong token', { body: '{"amount":"1"}', token: 'tok-wrong' }, 401],
  ['an empty bearer', { body: '{"amount":"1"}', token: '' }, 401],
  [
    'a token of another scheme',
    { body: '{"amount":"1"}', token: null, headers: { Authorization: `Basic ${TOKEN}` } },
    401,
  ],
  ['a read-only token', { body: '{"amount":"1"}', token: READ_TOKEN }, 403],
  ['text/plain', { body: '{"amount":"1"}', contentType: 'text/plain' }, 415],
  ['no content type', { body: '{"amount":"1"}', contentType: null }, 415],
  ['another charset', { body: '{"amount":"1"}', contentType: 'application/json; charset=latin1' }, 415],
  ['a content encoding', { body: '{"amount":"1"}', headers: { 'Content-Encoding': 'gzip' } }, 415],
  ['a body over the limit', { body: `{"amount":"1","id":"${'x'.repeat(70_000)}"}` }, 413],
  ['no body', {}, 400],
  ['an empty body', { body: '', headers: { 'Content-Length': '0' } }, 400],
  [
    'a chunked body',
    { body: 'e\r\n{"amount":"1"}\r\n0\r\n\r\n', headers: { 'Transfer-Encoding': 'chunked' } },
    201,
  ],
  ['a query string', { path: '/channels/0xchannel/payments?x=1', body: '{"amount":"1"}' }, 400],
  ['a percent-encoded ID', { path: '/channels/0x%63hannel/payments', body: '{"amount":"1"}' }, 201],
  ['an upper-case path', { path: '/Channels/0xchannel/Payments', body: '{"amount":"1"}' }, 201],
  ['a trailing slash', { path: '/channels/0xchannel/payments/', body: '{"amount":"1"}' }, 201],
  ['another route (the stub node cannot close)', { path: '/channels/0xchannel/close', body: '{}' }, 500],
];

describe('the payment route before express', () => {
  it.each(GOOD)('%s: served without express, the same answer and call', async (_, r, status, call) => {
    const got = await both(r);
    expect(got.expressTookIt).toBe(false);
    expect(got.fastAnswer.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${statusText(status)}`);
    expect(got.fastAnswer).toBe(got.plainAnswer);
    expect(got.fastCalls).toEqual([call]);
    expect(got.plainCalls).toEqual([call]);
    expect(got.fastLog).toEqual(got.plainLog);
    expect(got.fastLog.at(-1)).toMatch(new RegExp(`^POST /channels/0x\\w+/payments ${status} Nms$`));
  });

  it.each(REFUSED_BEFORE_THE_NODE)(
    '%s: served without express, the same answer, the node not asked',
    async (_, r, status) => {
      const got = await both(r);
      expect(got.expressTookIt).toBe(false);
      expect(got.fastAnswer.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${statusText(status)}`);
      expect(got.fastAnswer).toMatch(/"code":"INVALID_REQUEST"/);
      expect(got.fastAnswer).toBe(got.plainAnswer);
      expect(got.fastCalls).toEqual([]);
      expect(got.fastLog).toEqual(got.plainLog);
    },
  );

  it.each(LEFT_TO_EXPRESS)('%s: left to express', async (_, r, status) => {
    const got = await both(r);
    expect(got.expressTookIt).toBe(true);
    expect(got.fastAnswer.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${statusText(status)}`);
    expect(got.fastAnswer).toBe(got.plainAnswer);
    expect(got.fastCalls).toEqual(got.plainCalls);
  });

  it('answers the refusal of a token without a body, the same as express', async () => {
    const got = await both({ body: '{"amount":"1"}', token: 'tok-wrong' });
    expect(got.fastAnswer).toMatch(/\r\nWWW-Authenticate: Bearer error="invalid_token"\r\n/);
    expect(got.fastCalls).toEqual([]);
  });

  it('logs an internal error with its stack on both', async () => {
    const got = await both({ path: '/channels/0xboom/payments', body: '{"amount":"1"}' });
    expect(got.fastLog).toContain('POST /channels/0xboom/payments: internal error: Error: boom');
    expect(got.fastAnswer).toMatch(/"code":"INTERNAL"/);
  });
});

function statusText(status: number): string {
  return (
    {
      200: 'OK',
      201: 'Created',
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      409: 'Conflict',
      413: 'Payload Too Large',
      415: 'Unsupported Media Type',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
    } as Record<number, string>
  )[status]!;
}
