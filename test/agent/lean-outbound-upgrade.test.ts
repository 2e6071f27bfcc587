// The lean path's carrier asks an HTTP endpoint once for a WebSocket upgrade: where the endpoint
// takes it (ours does), envelopes go as frames on that one socket and what the peer sends back on
// it comes back to the lean path; where it answers otherwise (any other DIDComm agent's HTTP
// endpoint), the carrier posts, then and from then on, without asking again. Our HTTP endpoint
// admits an upgrade as a request: a source out of tokens is refused (429), no socket opens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ackFrame } from '../../src/agent/transport/frame-acks.js';
import { HttpInboundTransport, LeanOutboundTransport } from '../../src/agent/transport/index.js';
import type { Envelope } from '../../src/protocols/perun/lean/index.js';
import { createTestAgent, type TestAgentHandle } from './transport-support.js';

const envelope: Envelope = { protected: 'p', iv: 'i', ciphertext: 'c', tag: 't' };
const listen = (server: http.Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
    ),
  );
const close = (server: http.Server) => new Promise((resolve) => server.close(resolve));

it('an endpoint that takes the upgrade gets every envelope as a frame on one socket, acknowledges each, and answers on it', async () => {
  const server = http.createServer((_req, res) => res.writeHead(500).end());
  const wss = new WebSocketServer({ server });
  const frames: unknown[] = [];
  let upgrades = 0;
  wss.on('connection', (socket) => {
    upgrades++;
    socket.on('message', (data) => {
      frames.push(JSON.parse(String(data)));
      socket.send(ackFrame(202));
      socket.send(JSON.stringify({ ...envelope, tag: `answer ${frames.length}` }));
    });
  });
  const endpoint = await listen(server);
  const inbound: Envelope[] = [];
  const carrier = new LeanOutboundTransport(undefined, { upgrade: true });
  carrier.start((e) => inbound.push(e));
  try {
    for (let i = 0; i < 3; i++) await carrier.send(endpoint, envelope);
    for (let i = 0; i < 100 && inbound.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(upgrades).toBe(1);
    expect(frames).toEqual([envelope, envelope, envelope]);
    expect(inbound.map((e) => e.tag)).toEqual(['answer 1', 'answer 2', 'answer 3']);
  } finally {
    await carrier.close();
    wss.close();
    await close(server);
  }
});

it('an endpoint that answers the upgrade with 404 is posted to, and not asked again', async () => {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.upgrade ?? '-'}`);
    req.resume();
    req.on('end', () => res.writeHead(req.method === 'POST' ? 202 : 404).end());
  });
  const endpoint = await listen(server);
  const carrier = new LeanOutboundTransport(undefined, { upgrade: true });
  carrier.start(() => undefined);
  try {
    await carrier.send(endpoint, envelope);
    await carrier.send(endpoint, envelope);
    expect(seen).toEqual(['GET websocket', 'POST -', 'POST -']);
  } finally {
    await carrier.close();
    await close(server);
  }
});

it('an endpoint that leaves the upgrade unanswered is posted to after the timeout, and not asked again', async () => {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.method ?? '');
    req.resume();
    req.on('end', () => res.writeHead(202).end());
  });
  const held: Duplex[] = [];
  server.on('upgrade', (_req, socket: Duplex) => {
    seen.push('upgrade');
    held.push(socket);
  });
  const endpoint = await listen(server);
  const carrier = new LeanOutboundTransport(undefined, { upgrade: true, upgradeTimeoutMs: 200 });
  carrier.start(() => undefined);
  try {
    await carrier.send(endpoint, envelope);
    await carrier.send(endpoint, envelope);
    expect(seen).toEqual(['upgrade', 'POST', 'POST']);
  } finally {
    await carrier.close();
    for (const socket of held) socket.destroy();
    await close(server);
  }
});

describe('our HTTP endpoint', () => {
  let handle: TestAgentHandle;
  const transport = new HttpInboundTransport({ sourceBurst: 2, sourceRatePerSecond: 0.001 });

  beforeAll(async () => {
    handle = await createTestAgent({ label: 'Upgraded', inbound: [transport] });
    await handle.agent.initialize();
  });

  afterAll(async () => {
    await handle.close();
  });

  it('admits an upgrade as a request: beyond its source’s tokens, 429 and no socket', async () => {
    const url = transport.endpoint!.replace(/^http/, 'ws');
    let retryAfter: string | string[] | undefined;
    const open = (): Promise<WebSocket | number> =>
      new Promise((resolve) => {
        const socket = new WebSocket(url);
        socket.once('open', () => resolve(socket));
        socket.once('unexpected-response', (_req, res) => {
          retryAfter = res.headers['retry-after'];
          res.resume();
          resolve(res.statusCode ?? 0);
          socket.terminate();
        });
        socket.on('error', () => undefined);
      });
    const first = await open();
    const second = await open();
    const third = await open();
    expect(first).toBeInstanceOf(WebSocket);
    expect(second).toBeInstanceOf(WebSocket);
    expect(third).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(transport.openSockets).toBe(2);
    for (const s of [first, second]) (s as WebSocket).close();
  });

  it('answers an upgrade on another path with 404', async () => {
    const url = new URL('/elsewhere', transport.endpoint!.replace(/^http/, 'ws')).href;
    const status = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url);
      socket.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('error', () => undefined);
    });
    expect(status).toBe(404);
  });
});

describe('a socket upgraded from our HTTP endpoint', () => {
  let handle: TestAgentHandle;
  const transport = new HttpInboundTransport({ sourceBurst: 3, sourceRatePerSecond: 0.001, failureCost: 0 });

  beforeAll(async () => {
    handle = await createTestAgent({ label: 'Framed', inbound: [transport] });
    await handle.agent.initialize();
  });

  afterAll(async () => {
    await handle.close();
  });

  it('spends a token of its source per frame: with none left, it is closed with 1008', async () => {
    const socket = new WebSocket(transport.endpoint!.replace(/^http/, 'ws'));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    for (let i = 0; i < 3; i++) socket.send(JSON.stringify(envelope));
    expect(await closed).toBe(1008);
  });
});
