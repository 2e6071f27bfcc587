// The lean path's HTTP carrier counts only a 2xx answer as a delivery: a peer's endpoint that
// refuses an envelope (4xx) or fails on it (5xx) makes the send fail with LeanDeliveryError,
// and an answer that carries an envelope (the return route) is handed back.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LeanDeliveryError, LeanOutboundTransport } from '../../src/agent/transport/index.js';
import type { Envelope } from '../../src/protocols/perun/lean/index.js';

const envelope: Envelope = { protected: 'p', iv: 'i', ciphertext: 'c', tag: 't' };

let answer: { status: number; body?: string } = { status: 200 };
let received = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.statusCode = answer.status;
    res.end(answer.body);
  });
});
let endpoint = '';
const inbound: Envelope[] = [];
const carrier = new LeanOutboundTransport();

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  carrier.start((e) => inbound.push(e));
});

afterAll(async () => {
  await carrier.close();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  inbound.length = 0;
  received = 0;
});

it.each([400, 404, 413, 429, 500, 503])('an answer of HTTP %i is a failed delivery', async (status) => {
  answer = { status, body: 'no' };
  const sent = carrier.send(endpoint, envelope);
  await expect(sent).rejects.toBeInstanceOf(LeanDeliveryError);
  await expect(sent).rejects.toMatchObject({ status, endpoint });
  expect(received).toBe(1);
  expect(inbound).toEqual([]);
});

it.each([200, 202, 204])('an answer of HTTP %i is a delivery', async (status) => {
  answer = { status };
  await expect(carrier.send(endpoint, envelope)).resolves.toBeUndefined();
  expect(received).toBe(1);
});

it('an envelope in a 200 answer comes back to the lean path', async () => {
  const reply: Envelope = { protected: 'P', iv: 'I', ciphertext: 'C', tag: 'T' };
  answer = { status: 200, body: JSON.stringify(reply) };
  await carrier.send(endpoint, envelope);
  for (let i = 0; i < 100 && inbound.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(inbound).toEqual([reply]);
});

it('the same endpoint still delivers after a refusal (the kept-alive socket is reused or replaced)', async () => {
  answer = { status: 500 };
  await expect(carrier.send(endpoint, envelope)).rejects.toBeInstanceOf(LeanDeliveryError);
  answer = { status: 202 };
  await expect(carrier.send(endpoint, envelope)).resolves.toBeUndefined();
  expect(received).toBe(2);
});
