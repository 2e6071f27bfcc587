// The DIDComm endpoint's bounds under load, on one Credo agent with an HTTP inbound transport per
// case (each with the limits it tests, on 127.0.0.1 and its own free port) and a WebSocket one:
// the request and byte budgets answer 503 with Retry-After before a body is read (a chunked body
// as it streams), a flooding source gets 429 while another still gets through, slow senders are
// cut off, an oversized message is a 413, and every refusal is logged without its body, at most a
// few lines a window. Limits and windows are set small or huge so nothing depends on timing.
import 'reflect-metadata';

import { jest } from '@jest/globals';
import { WebSocket } from 'ws';

import {
  HttpInboundTransport,
  WsInboundTransport,
  type HttpInboundTransportOptions,
} from '../../src/agent/transport/index.js';
import { chunk, destroyAll, hold, open, post, readAnswer, until } from './inbound-support.js';
import { createTestAgent, type TestAgentHandle } from './transport-support.js';

jest.setTimeout(60_000);

const PATH = '/didcomm';
const HUGE_MS = 10 * 60_000;
const lines: string[] = [];

function transport(options: HttpInboundTransportOptions): HttpInboundTransport {
  return new HttpInboundTransport({
    path: PATH,
    announceEndpoint: false,
    responseTimeoutMs: HUGE_MS,
    log: (line) => lines.push(line),
    logLinesPerWindow: 1_000,
    logWindowMs: HUGE_MS,
    ...options,
  });
}

const busy = transport({ maxConcurrentRequests: 2, reservedShare: 0 });
const bytes = transport({ maxInflightBytes: 1_000, reservedShare: 0 });
const rated = transport({ sourceRatePerSecond: 0.01, sourceBurst: 2, failureCost: 5 });
const slow = transport({ headersTimeoutMs: 100, bodyTimeoutMs: 100 });
const small = transport({ maxMessageBytes: 1_000 });
const logged: string[] = [];
const quiet = transport({ log: (line) => logged.push(line), logLinesPerWindow: 3 });
const ws = new WsInboundTransport({
  path: PATH,
  announceEndpoint: false,
  maxMessageBytes: 1_000,
  maxConnectionsPerSource: 1,
  log: (line) => lines.push(line),
  logLinesPerWindow: 1_000,
  logWindowMs: HUGE_MS,
});

let handle: TestAgentHandle;

beforeAll(async () => {
  handle = await createTestAgent({
    label: 'Limits',
    inbound: [transport({}), busy, bytes, rated, slow, small, quiet, ws],
  });
  await handle.agent.initialize();
});

afterAll(async () => {
  destroyAll();
  await handle?.close();
});

const portOf = (t: HttpInboundTransport | WsInboundTransport) => t.port!;
const linesFrom = (source: string, text: string) =>
  lines.filter((l) => l.includes(`from ${source}`) && l.includes(text));

test('beyond the request budget a POST is answered 503 with Retry-After before its body', async () => {
  const first = await hold(portOf(busy), PATH, 100);
  const second = await hold(portOf(busy), PATH, 100);
  await until(() => busy.usage.requests === 2, 'two requests held');
  const third = await hold(portOf(busy), PATH, 100);
  const answer = await third.answer;
  expect(answer?.status).toBe(503);
  expect(answer?.headers['retry-after']).toBe('1');
  expect(answer?.headers['connection']).toBe('close');
  await third.closed;
  expect(linesFrom('127.0.0.1', 'busy').length).toBeGreaterThan(0);

  // the held ones complete (their bodies are not envelopes: 400) and free the budget
  first.socket.end('x'.repeat(100));
  second.socket.end('x'.repeat(100));
  expect((await first.answer)?.status).toBe(400);
  expect((await second.answer)?.status).toBe(400);
  await until(() => busy.usage.requests === 0, 'budget freed');
  expect((await post(portOf(busy), PATH, '{}')).status).toBe(400);
});

test('beyond the byte budget: 503 from the declared length, and for a chunked body as it streams', async () => {
  const first = await hold(portOf(bytes), PATH, 600);
  await until(() => bytes.usage.bytes === 600, '600 bytes held');
  const declared = await hold(portOf(bytes), PATH, 600);
  const answer = await declared.answer;
  expect(answer?.status).toBe(503);
  expect(answer?.headers['retry-after']).toBe('1');

  const chunked = await hold(portOf(bytes), PATH, undefined);
  chunked.socket.write(chunk(Buffer.alloc(300, 0x61)));
  await until(() => bytes.usage.bytes === 900, 'the first chunk counted');
  chunked.socket.write(chunk(Buffer.alloc(300, 0x61)));
  const streamed = await chunked.answer;
  expect(streamed?.status).toBe(503);
  expect(streamed?.headers['retry-after']).toBe('1');

  first.socket.end('x'.repeat(600));
  expect((await first.answer)?.status).toBe(400);
  await until(() => bytes.usage.bytes === 0, 'bytes freed');
});

test('a source sending garbage gets 429 with Retry-After; another source still gets through', async () => {
  const garbage = '{not json';
  expect((await post(portOf(rated), PATH, garbage, '127.0.0.2')).status).toBe(400);
  const refused = await post(portOf(rated), PATH, garbage, '127.0.0.2');
  expect(refused.status).toBe(429);
  expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(linesFrom('127.0.0.2', 'too many messages').length).toBeGreaterThan(0);
  // another address is not held back by the first one's debt
  expect((await post(portOf(rated), PATH, garbage, '127.0.0.3')).status).toBe(400);
});

test('a sender too slow with its headers or its body is cut off with 408', async () => {
  const headers = readAnswer(await open(portOf(slow)));
  headers.socket.write('POST /didcomm HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  expect((await headers.answer)?.status).toBe(408);
  await headers.closed;

  const body = await hold(portOf(slow), PATH, 100);
  body.socket.write('x'.repeat(10));
  const answer = await body.answer;
  expect(answer?.status).toBe(408);
  expect(answer?.body).toBe('body not received in time');
  await body.closed;
  expect(linesFrom('127.0.0.1', 'not received in time').length).toBe(2);
});

test('a message over the size limit is a 413, declared or chunked, and logged', async () => {
  const declared = await post(portOf(small), PATH, Buffer.alloc(1_001, 0x61));
  expect(declared.status).toBe(413);
  expect(declared.body).toBe('message too large');
  // decided from the declared length, before a byte of the body is read
  const early = await hold(portOf(small), PATH, 5_000);
  expect((await early.answer)?.status).toBe(413);
  const chunked = await hold(portOf(small), PATH, undefined);
  chunked.socket.write(chunk(Buffer.alloc(600, 0x61)));
  chunked.socket.write(chunk(Buffer.alloc(600, 0x61)));
  expect((await chunked.answer)?.status).toBe(413);
  expect(lines.filter((l) => l.includes('413') && l.includes('message too large')).length).toBe(3);
});

test('refusals are logged with source and reason, never the body, a few lines a window', async () => {
  for (let i = 0; i < 10; i++)
    expect((await post(portOf(quiet), PATH, `{"secret-body-${i}": 1`, '127.0.0.4')).status).toBe(400);
  expect(logged).toHaveLength(3);
  for (const line of logged) {
    expect(line).toContain('400 from 127.0.0.4');
    expect(line).toContain('body is not JSON');
    expect(line).not.toContain('secret-body');
  }
  quiet.flushLog();
  expect(logged).toHaveLength(4);
  expect(logged[3]).toContain('7 more refused, failed or dropped messages not logged');
});

test('WebSocket: a second socket of the source is refused, an oversized frame closes with 1009', async () => {
  const url = ws.endpoint!;
  const first = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    first.once('open', () => resolve());
    first.once('error', reject);
  });
  const second = new WebSocket(url);
  const refused = await new Promise<string>((resolve) => {
    second.once('open', () => resolve('open'));
    second.once('error', () => resolve('refused'));
  });
  expect(refused).toBe('refused');
  expect(lines.some((l) => l.includes('too many connections from this source'))).toBe(true);

  const closed = new Promise<number>((resolve) => first.once('close', (code) => resolve(code)));
  first.send(Buffer.alloc(1_001, 0x61));
  expect(await closed).toBe(1009);
  expect(lines.some((l) => l.includes('WebSocket') && l.includes('message too large'))).toBe(true);
});

test('the connection budget is freed when sockets close', async () => {
  await until(() => ws.usage.connections === 0, 'WebSocket connections released');
  const socket = await open(portOf(busy), '127.0.0.5');
  await until(() => busy.usage.connections > 0, 'connection counted');
  socket.destroy();
  await until(() => busy.usage.connections === 0, 'connection released');
  expect(busy.usage.connections).toBe(0);
});
