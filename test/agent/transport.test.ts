// Two Credo agents in one process talking DIDComm v1 through our inbound transports on 127.0.0.1.
import 'reflect-metadata';

import { jest } from '@jest/globals';
import {
  type DidCommBasicMessageStateChangedEvent,
  DidCommBasicMessageEventTypes,
  DidCommBasicMessageRole,
  type DidCommConnectionRecord,
  DidCommConnectionState,
  DidCommDidExchangeState,
  DidCommEventTypes,
  type DidCommMessageSentEvent,
  DidCommTrustPingEventTypes,
  OutboundMessageSendStatus,
  type TrustPingResponseReceivedEvent,
} from '@credo-ts/didcomm';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';

import { HttpInboundTransport, WsInboundTransport } from '../../src/agent/transport/index.js';
import { createTestAgent, type TestAgent } from './transport-support.js';

jest.setTimeout(120_000);

type Kind = 'http' | 'ws';
type PeerKind = Kind | 'none';

interface Peer {
  agent: TestAgent;
  /** Shuts the agent down and destroys its DataSource. */
  close: () => Promise<void>;
  transport: HttpInboundTransport | WsInboundTransport;
  /** Thread ids of trust-ping responses received, and waiters for the next ones. */
  pongs: Inbox;
  /** Contents of basic messages received. */
  basics: Inbox;
  /** Send statuses of outbound messages, by message type. */
  sent: Array<{ type: string; status: OutboundMessageSendStatus; connectionId?: string }>;
}

/** Buffers keys seen on the event bus so a test can await one that may already have arrived. */
class Inbox {
  private readonly seen = new Set<string>();
  private readonly waiters = new Map<string, () => void>();

  public add(key: string): void {
    this.seen.add(key);
    this.waiters.get(key)?.();
    this.waiters.delete(key);
  }

  public waitFor(key: string, timeoutMs = 20_000): Promise<void> {
    if (this.seen.has(key)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`timed out waiting for ${key}`));
      }, timeoutMs);
      this.waiters.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function makeTransport(kind: Kind, options: { responseTimeoutMs?: number; maxBytes?: number } = {}) {
  return kind === 'http'
    ? new HttpInboundTransport({
        path: '/didcomm',
        responseTimeoutMs: options.responseTimeoutMs,
        maxBodyBytes: options.maxBytes,
      })
    : new WsInboundTransport({ path: '/didcomm', maxPayloadBytes: options.maxBytes });
}

async function startPeer(
  label: string,
  kind: PeerKind,
  options?: { responseTimeoutMs?: number; maxBytes?: number },
): Promise<Peer> {
  // A 'none' peer has no inbound transport; its transport field is a never-started placeholder.
  const transport = makeTransport(kind === 'none' ? 'ws' : kind, options);
  const { agent, close } = await createTestAgent({ label, inbound: kind === 'none' ? [] : [transport] });
  const peer: Peer = { agent, close, transport, pongs: new Inbox(), basics: new Inbox(), sent: [] };
  agent.events.on<TrustPingResponseReceivedEvent>(
    DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent,
    (e) => {
      if (e.payload.message.threadId) peer.pongs.add(e.payload.message.threadId);
    },
  );
  agent.events.on<DidCommBasicMessageStateChangedEvent>(
    DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged,
    (e) => {
      if (e.payload.basicMessageRecord.role === DidCommBasicMessageRole.Receiver)
        peer.basics.add(e.payload.message.content);
    },
  );
  agent.events.on<DidCommMessageSentEvent>(DidCommEventTypes.DidCommMessageSent, (e) => {
    const { message, connection } = e.payload.message;
    peer.sent.push({ type: message.type, status: e.payload.status, connectionId: connection?.id });
  });
  try {
    await agent.initialize();
  } catch (error) {
    await close();
    throw error;
  }
  return peer;
}

async function stopPeers(...peers: Array<Peer | undefined>): Promise<void> {
  await Promise.all(peers.map((p) => p?.close()));
}

/** A creates an out-of-band invitation, B receives it in URL form; resolves with both connections once completed. */
async function connect(
  a: Peer,
  b: Peer,
): Promise<{ ab: DidCommConnectionRecord; ba: DidCommConnectionRecord }> {
  const outOfBand = await a.agent.didcomm.oob.createInvitation({ label: 'A' });
  const url = outOfBand.outOfBandInvitation.toUrl({ domain: 'https://invite.example' });
  const { connectionRecord } = await b.agent.didcomm.oob.receiveInvitationFromUrl(url, { label: 'B' });
  if (!connectionRecord) throw new Error('B created no connection');
  const ba = await b.agent.didcomm.connections.returnWhenIsConnected(connectionRecord.id, {
    timeoutMs: 20_000,
  });
  const [pending] = await a.agent.didcomm.connections.findAllByOutOfBandId(outOfBand.id);
  if (!pending) throw new Error('A has no connection for its invitation');
  const ab = await a.agent.didcomm.connections.returnWhenIsConnected(pending.id, { timeoutMs: 20_000 });
  return { ab, ba };
}

async function ping(from: Peer, connectionId: string, withReturnRouting?: boolean): Promise<void> {
  const message = await from.agent.didcomm.connections.sendPing(connectionId, {
    responseRequested: true,
    withReturnRouting,
  });
  await from.pongs.waitFor(message.id);
}

async function basic(from: Peer, to: Peer, connectionId: string, content: string): Promise<void> {
  await from.agent.didcomm.basicMessages.sendMessage(connectionId, content);
  await to.basics.waitFor(content);
}

/** Contents of the basic messages `peer` stored as received on the connection. */
async function received(peer: Peer, connectionId: string): Promise<string[]> {
  const records = await peer.agent.didcomm.basicMessages.findAllByQuery({
    connectionId,
    role: DidCommBasicMessageRole.Receiver,
  });
  return records.map((r) => r.content);
}

function lastSent(peer: Peer, typeSuffix: string): OutboundMessageSendStatus | undefined {
  return [...peer.sent].reverse().find((s) => s.type.endsWith(typeSuffix))?.status;
}

function postRaw(endpoint: string, body: string | Buffer, contentType: string | undefined, method = 'POST') {
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  return fetch(endpoint, { method, body: method === 'POST' ? body : undefined, headers });
}

const ENVELOPE_TYPE = 'application/didcomm-envelope-enc';

describe('inbound transports bind loopback', () => {
  test.each<Kind>(['http', 'ws'])(
    '%s binds 127.0.0.1 on a free port by default and releases it on stop',
    async (kind) => {
      const peer = await startPeer('solo', kind);
      try {
        const server = peer.transport.httpServer;
        expect(server?.listening).toBe(true);
        const address = server?.address() as AddressInfo;
        expect(address.address).toBe('127.0.0.1');
        expect(address.port).toBeGreaterThan(0);
        expect(peer.transport.port).toBe(address.port);
        expect(peer.transport.endpoint).toBe(`${kind}://127.0.0.1:${address.port}/didcomm`);
        // announced to Credo, so invitations carry it
        expect(peer.agent.didcomm.config.endpoints).toEqual([peer.transport.endpoint]);
      } finally {
        const server = peer.transport.httpServer;
        await stopPeers(peer);
        expect(server?.listening).toBe(false);
        expect(peer.transport.httpServer).toBeUndefined();
      }
    },
  );
});

describe.each<Kind>(['http', 'ws'])('two agents over %s', (kind) => {
  let a: Peer | undefined;
  let b: Peer | undefined;
  let ab: DidCommConnectionRecord;
  let ba: DidCommConnectionRecord;

  beforeAll(async () => {
    a = await startPeer('A', kind);
    b = await startPeer('B', kind);
  });
  afterAll(async () => {
    await stopPeers(a, b);
  });

  test('out-of-band invitation (URL) + DID exchange: both connections completed', async () => {
    ({ ab, ba } = await connect(a!, b!));
    expect(ab.state).toBe(DidCommDidExchangeState.Completed);
    expect(ba.state).toBe(DidCommDidExchangeState.Completed);
    expect(ab.rfc0160State).toBe(DidCommConnectionState.Complete);
    expect(ab.theirDid).toBe(ba.did);
    expect(ba.theirDid).toBe(ab.did);
  });

  test('trust ping both ways', async () => {
    await ping(a!, ab.id, false);
    await ping(b!, ba.id, false);
    expect(lastSent(b!, '/trust_ping/1.0/ping_response')).toBe(OutboundMessageSendStatus.SentToTransport);
  });

  test('basic message both ways', async () => {
    await basic(a!, b!, ab.id, `hello B over ${kind}`);
    await basic(b!, a!, ba.id, `hello A over ${kind}`);
    expect(await received(b!, ba.id)).toEqual([`hello B over ${kind}`]);
    expect(await received(a!, ab.id)).toEqual([`hello A over ${kind}`]);
  });

  test('return route: the reply travels back on the same HTTP response / socket', async () => {
    // B asks for return routing: A answers inside B's HTTP request / on B's socket.
    await ping(b!, ba.id, true);
    expect(lastSent(a!, '/trust_ping/1.0/ping_response')).toBe(OutboundMessageSendStatus.SentToSession);
    if (kind === 'http') {
      await ping(a!, ab.id, true);
      expect(lastSent(b!, '/trust_ping/1.0/ping_response')).toBe(OutboundMessageSendStatus.SentToSession);
      expect((a!.transport as HttpInboundTransport).pendingRequests).toBe(0);
      expect((b!.transport as HttpInboundTransport).pendingRequests).toBe(0);
    } else {
      // B's socket to A stays open (Credo's WS outbound keeps a socket it asked replies on).
      expect((a!.transport as WsInboundTransport).openSockets).toBeGreaterThanOrEqual(1);
    }
  });

  if (kind === 'ws') {
    test('a peer without any inbound endpoint gets everything over the socket it opened', async () => {
      // C has no inbound transport: Credo puts return_route=all on all its messages and A keeps
      // C's socket as the session for the connection, in both directions.
      const c = await startPeer('C', 'none');
      try {
        expect(c.agent.didcomm.config.endpoints).toEqual(['didcomm:transport/queue']);
        const { ab: ac, ba: ca } = await connect(a!, c);
        expect(ca.state).toBe(DidCommDidExchangeState.Completed);
        await ping(c, ca.id);
        await ping(a!, ac.id);
        await basic(a!, c, ac.id, 'A to C over C socket');
        await basic(c, a!, ca.id, 'C to A over C socket');
        // every message A sent to C (DID exchange response included) went over C's socket
        const toC = a!.sent.filter((s) => s.connectionId === ac.id);
        expect(toC.length).toBeGreaterThanOrEqual(4);
        expect(toC.every((s) => s.status === OutboundMessageSendStatus.SentToSession)).toBe(true);
      } finally {
        await stopPeers(c);
      }
    });
  }
});

describe('malformed input over HTTP', () => {
  let a: Peer | undefined;
  let b: Peer | undefined;
  let ba: DidCommConnectionRecord;

  beforeAll(async () => {
    a = await startPeer('A', 'http', { responseTimeoutMs: 300, maxBytes: 64 * 1024 });
    b = await startPeer('B', 'http');
    ({ ba } = await connect(a, b));
  });
  afterAll(async () => {
    await stopPeers(a, b);
  });

  test('bad requests get 4xx and the agent keeps working', async () => {
    const endpoint = a!.transport.endpoint!;
    const notJson = await postRaw(endpoint, '{not json', ENVELOPE_TYPE);
    expect(notJson.status).toBe(400);
    const plaintext = await postRaw(
      endpoint,
      JSON.stringify({ '@type': 'https://didcomm.org/trust_ping/1.0/ping', '@id': '1' }),
      ENVELOPE_TYPE,
    );
    expect(plaintext.status).toBe(400);
    const empty = await postRaw(endpoint, '', ENVELOPE_TYPE);
    expect(empty.status).toBe(400);
    const wrongType = await postRaw(endpoint, '{}', 'text/plain');
    expect(wrongType.status).toBe(415);
    const noType = await postRaw(endpoint, '{}', undefined);
    expect(noType.status).toBe(415);
    const tooLarge = await postRaw(endpoint, Buffer.alloc(65 * 1024, 0x61), ENVELOPE_TYPE);
    expect(tooLarge.status).toBe(413);
    const get = await postRaw(endpoint, '', undefined, 'GET');
    expect(get.status).toBe(405);
    const elsewhere = await postRaw(endpoint.replace('/didcomm', '/other'), '{}', ENVELOPE_TYPE);
    expect(elsewhere.status).toBe(404);
    // Well-formed but not decryptable by A: answered 400 at once.
    const foreign = await postRaw(
      endpoint,
      JSON.stringify({ protected: 'e30', iv: 'AAAA', ciphertext: 'AAAA', tag: 'AAAA' }),
      `${ENVELOPE_TYPE}; charset=utf-8`,
    );
    expect(foreign.status).toBe(400);
    expect((a!.transport as HttpInboundTransport).pendingRequests).toBe(0);

    await ping(b!, ba.id, true);
    await ping(b!, ba.id, false);
  });

  test('bad frames close the WebSocket and the agent keeps working', async () => {
    const ws = await startPeer('W', 'ws');
    try {
      const socket = new WebSocket(ws.transport.endpoint!);
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      socket.send('{not json');
      expect(await closed).toBe(1007);

      const big = new WebSocket(ws.transport.endpoint!);
      await new Promise<void>((resolve, reject) => {
        big.once('open', () => resolve());
        big.once('error', reject);
      });
      const bigClosed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
      big.send(Buffer.alloc(9 * 1024 * 1024, 0x61)); // past the 8 MiB default
      expect(await bigClosed).toBe(1009);

      // the WS agent still connects and talks
      const { ab } = await connect(ws, b!);
      await ping(ws, ab.id, true);
    } finally {
      await stopPeers(ws);
    }
  });
});
