// The Credo dependencies' fetch (src/agent/credo/keep-alive-fetch.ts): DIDComm POSTs go on one
// kept-alive socket and come back as standard Responses (status, headers, text); an abort rejects
// with an AbortError as the global fetch does (Credo's HTTP outbound tells a timeout by that
// name); anything but a POST of a string goes to the fallback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepAliveFetch } from '../../src/agent/credo/keep-alive-fetch.js';

const received: { method?: string; type?: string; body: string }[] = [];
let connections = 0;
let answer: { status: number; body?: string; holdMs?: number } = { status: 200 };
const held: NodeJS.Timeout[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({
      method: req.method,
      type: req.headers['content-type'],
      body: Buffer.concat(chunks).toString(),
    });
    const send = () => {
      res.statusCode = answer.status;
      res.setHeader('x-answer', 'yes');
      res.end(answer.body);
    };
    if (answer.holdMs === undefined) send();
    else held.push(setTimeout(send, answer.holdMs));
  });
});
server.on('connection', () => connections++);
let url = '';
const fallbackCalls: unknown[] = [];
const fetchKeptAlive = keepAliveFetch(async (input) => {
  fallbackCalls.push(input);
  return new Response('from the fallback');
});
const post = (body: string, signal?: AbortSignal) =>
  fetchKeptAlive(url, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/didcomm-envelope-enc' },
    signal,
  });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  held.forEach(clearTimeout);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  fallbackCalls.length = 0;
  connections = 0;
  answer = { status: 200 };
});

it('posts the body with its content type and answers with status, headers and text', async () => {
  answer = { status: 200, body: '{"protected":"x"}' };
  const response = await post('{"hello":1}');
  expect(response.status).toBe(200);
  expect(response.ok).toBe(true);
  expect(response.headers.get('x-answer')).toBe('yes');
  expect(await response.text()).toBe('{"protected":"x"}');
  expect(received).toEqual([
    { method: 'POST', type: 'application/didcomm-envelope-enc', body: '{"hello":1}' },
  ]);
});

it('several posts in turn share one kept-alive connection (at most one opened, or the earlier test’s kept)', async () => {
  for (let i = 0; i < 5; i++) expect(await (await post(`m${i}`)).text()).toBe('');
  expect(received.map((r) => r.body)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  expect(connections).toBeLessThanOrEqual(1);
});

it.each([202, 204, 404, 500])('an answer of HTTP %i is a Response of that status', async (status) => {
  answer = { status, body: status === 204 ? undefined : 'text' };
  const response = await post('m');
  expect(response.status).toBe(status);
  expect(await response.text()).toBe(status === 204 ? '' : 'text');
});

it('an abort rejects with an AbortError', async () => {
  answer = { status: 200, holdMs: 2_000 };
  const controller = new AbortController();
  const sent = post('m', controller.signal);
  setTimeout(() => controller.abort(), 50);
  await expect(sent).rejects.toMatchObject({ name: 'AbortError' });
  const already = new AbortController();
  already.abort();
  await expect(post('n', already.signal)).rejects.toMatchObject({ name: 'AbortError' });
});

it('anything but a POST of a string goes to the fallback', async () => {
  await fetchKeptAlive(url);
  await fetchKeptAlive(url, { method: 'POST', body: new Uint8Array([1]) });
  await fetchKeptAlive(new Request(url, { method: 'POST', body: 'x' }));
  expect(fallbackCalls).toHaveLength(3);
  expect(received).toEqual([]);
});

it('a refused connection rejects', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await expect(fetchKeptAlive(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' })).rejects.toThrow();
});
