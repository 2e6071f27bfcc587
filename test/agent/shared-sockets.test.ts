// One pool of kept-alive sockets (src/agent/transport/keep-alive-agents.ts) serves both ways an
// agent posts to a peer: Credo's fetch (keepAliveFetch) and the lean path's carrier
// (LeanOutboundTransport). Posts by both, one after the other, reach the peer over one socket.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepAliveFetch } from '../../src/agent/credo/keep-alive-fetch.js';
import { keepAliveAgents } from '../../src/agent/transport/keep-alive-agents.js';
import { LeanOutboundTransport } from '../../src/agent/transport/index.js';

let connections = 0;
const bodies: string[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    bodies.push(Buffer.concat(chunks).toString());
    res.statusCode = 202;
    res.end();
  });
});
server.on('connection', () => connections++);
let url = '';

beforeAll(
  () =>
    new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        resolve();
      }),
    ),
);
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

it('Credo’s fetch and the lean carrier given one pool reach the peer over the same socket', async () => {
  const pool = keepAliveAgents();
  const credoFetch = keepAliveFetch(undefined, pool);
  const carrier = new LeanOutboundTransport(pool);
  carrier.start(() => undefined);
  const post = () =>
    credoFetch(url, {
      method: 'POST',
      body: 'credo',
      headers: { 'Content-Type': 'application/ssi-agent-wire' },
    });
  try {
    expect((await post()).status).toBe(202);
    await carrier.send(url, { protected: 'p', iv: 'i', ciphertext: 'c', tag: 't' });
    expect((await post()).status).toBe(202);
    await carrier.send(url, { protected: 'p', iv: 'i', ciphertext: 'c', tag: 't' });
    expect(bodies).toHaveLength(4);
    expect(bodies[0]).toBe('credo');
    expect(JSON.parse(bodies[1]!)).toMatchObject({ ciphertext: 'c' });
    expect(connections).toBe(1);
  } finally {
    await carrier.close();
  }
});

it('without a shared pool each keeps sockets of its own', async () => {
  connections = 0;
  const credoFetch = keepAliveFetch();
  const carrier = new LeanOutboundTransport();
  carrier.start(() => undefined);
  try {
    await credoFetch(url, { method: 'POST', body: 'credo' });
    await carrier.send(url, { protected: 'p', iv: 'i', ciphertext: 'c', tag: 't' });
    expect(connections).toBe(2);
  } finally {
    await carrier.close();
  }
});
