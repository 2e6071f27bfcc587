// The HTTP inbound transport hands a POST to its path straight to the POST route's handler, the
// router skipped (src/agent/transport/http-inbound.ts `serve`); every other request goes through
// the express app. A POST the router would take on another spelling of the path (a trailing
// slash, a query string, other letter case) gets the same answer from the same handler, refusals
// and failures included, and the app sees only those.
import 'reflect-metadata';

import { jest } from '@jest/globals';

import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import { destroyAll, open, post, readAnswer, type RawAnswer } from './inbound-support.js';
import { createTestAgent, type TestAgentHandle } from './transport-support.js';

jest.setTimeout(60_000);

const PATH = '/didcomm';
const transport = new HttpInboundTransport({
  path: PATH,
  announceEndpoint: false,
  sourceBurst: 10_000,
  log: () => undefined,
});
/** Requests the express app was handed. */
let appSeen = 0;
const app = transport.app as unknown as { handle: (...args: unknown[]) => unknown };
const handle = app.handle.bind(app);
app.handle = (...args) => {
  appSeen++;
  return handle(...args);
};

let agent: TestAgentHandle;

beforeAll(async () => {
  agent = await createTestAgent({ label: 'Direct', inbound: [transport] });
  await agent.agent.initialize();
});

afterAll(async () => {
  destroyAll();
  await agent?.close();
});

/** The answer without what differs between two answers to the same request. */
const comparable = (a: RawAnswer) => ({ ...a, headers: { ...a.headers, date: undefined } });

async function send(path: string, body: string, contentType?: string) {
  const before = appSeen;
  const answer = await post(transport.port!, path, body, '127.0.0.1', contentType);
  return { answer: comparable(answer), throughApp: appSeen > before };
}

const UNOPENABLE = JSON.stringify({ protected: 'eyJ9', iv: 'AAAA', ciphertext: 'AAAA', tag: 'AAAA' });

describe('a POST to the path', () => {
  it.each<[string, string, string | undefined, number]>([
    ['an envelope no one can open', UNOPENABLE, undefined, 400],
    ['not an envelope', '{"hello":1}', undefined, 400],
    ['not JSON', 'garbage', undefined, 400],
    ['another content type', UNOPENABLE, 'text/plain', 415],
  ])('%s: answered without the router, as through it', async (_, body, type, status) => {
    const direct = await send(PATH, body, type);
    expect(direct.throughApp).toBe(false);
    expect(direct.answer.status).toBe(status);
    for (const other of [`${PATH}/`, `${PATH}?x=1`, PATH.toUpperCase()]) {
      const routed = await send(other, body, type);
      expect(routed.throughApp).toBe(true);
      expect(routed.answer).toEqual(direct.answer);
    }
  });
});

describe('anything else', () => {
  it.each<[string, string, number]>([
    ['a POST elsewhere', '/elsewhere', 404],
    ['a POST to a path below', `${PATH}/below`, 404],
  ])('%s goes through the app: %s', async (_, path, status) => {
    const got = await send(path, UNOPENABLE);
    expect(got.throughApp).toBe(true);
    expect(got.answer.status).toBe(status);
  });
});

test('a GET of the path goes through the app: 405', async () => {
  const before = appSeen;
  const socket = await open(transport.port!);
  const request = readAnswer(socket);
  socket.write(`GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  expect((await request.answer)?.status).toBe(405);
  expect(appSeen).toBe(before + 1);
});
