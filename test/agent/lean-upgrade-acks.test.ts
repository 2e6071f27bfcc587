// On a socket the lean carrier upgraded from an HTTP endpoint, a send counts only once the
// endpoint acknowledged its frame, as a POST counts once its answer's status came: acks answer the
// frames in the order they were sent, a refusing status fails its send as that status would fail
// the POST, and a socket that closes fails every send not yet acknowledged with the error of a
// POST whose connection was reset. An endpoint that takes the upgrade without acknowledgements is
// posted to, as one that refuses it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { FRAME_ACKS_PROTOCOL, ackFrame } from '../../src/agent/transport/frame-acks.js';
import { LeanDeliveryError, LeanOutboundTransport } from '../../src/agent/transport/index.js';
import type { Envelope } from '../../src/protocols/perun/lean/index.js';

const envelope = (tag: string): Envelope => ({ protected: 'p', iv: 'i', ciphertext: 'c', tag });
const listen = (server: http.Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
    ),
  );
const close = (server: http.Server) => new Promise((resolve) => server.close(resolve));

/** An endpoint taking upgrades with acks; its sockets and the frames they carried, for the test to answer. */
async function ackingEndpoint(protocol: string | false = FRAME_ACKS_PROTOCOL) {
  const posts: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts.push(req.method ?? '');
      res.writeHead(202).end();
    });
  });
  const wss = new WebSocketServer({ server, handleProtocols: () => protocol });
  const sockets: WebSocket[] = [];
  const frames: string[] = [];
  const arrived: (() => void)[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => {
      frames.push((JSON.parse(String(data)) as Envelope).tag);
      arrived.shift()?.();
    });
  });
  const endpoint = await listen(server);
  /** Resolves once `n` frames arrived. */
  const framesArrived = async (n: number): Promise<void> => {
    while (frames.length < n) await new Promise<void>((r) => arrived.push(r));
  };
  return {
    endpoint,
    posts,
    sockets,
    frames,
    framesArrived,
    close: async () => {
      for (const s of sockets) s.terminate();
      wss.close();
      await close(server);
    },
  };
}

/** A carrier that upgrades, sending `tags` to an acking endpoint; `run` answers them. */
async function threeSends(
  run: (
    peer: Awaited<ReturnType<typeof ackingEndpoint>>,
    sends: Promise<unknown>[],
    settled: string[],
    errors: Promise<unknown>[],
  ) => Promise<void>,
): Promise<void> {
  const peer = await ackingEndpoint();
  const carrier = new LeanOutboundTransport(undefined, { upgrade: true });
  carrier.start(() => undefined);
  try {
    const settled: string[] = [];
    const raw = ['a', 'b', 'c'].map((t) => carrier.send(peer.endpoint, envelope(t)));
    const sends = watch(raw, settled);
    const errors = raw.map((send) =>
      send.then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    await peer.framesArrived(3);
    await run(peer, sends, settled, errors);
  } finally {
    await carrier.close();
    await peer.close();
  }
}

/** Each send's outcome as it settles, in the order they settle. */
function watch(sends: Promise<void>[], settled: string[]) {
  return sends.map((send, i) =>
    send.then(
      () => settled.push(`${i} sent`),
      (error: unknown) =>
        settled.push(
          `${i} ${error instanceof LeanDeliveryError ? `refused ${error.status}` : (error as { code?: string }).code}`,
        ),
    ),
  );
}

it('acks answer the frames in the order they were sent; a send counts only once its ack came', async () => {
  await threeSends(async (peer, sends, settled) => {
    expect(peer.frames).toEqual(['a', 'b', 'c']);
    expect(settled).toEqual([]);
    const socket = peer.sockets[0]!;
    socket.send(ackFrame(202));
    await sends[0];
    expect(settled).toEqual(['0 sent']);
    socket.send(ackFrame(422));
    socket.send(ackFrame(202));
    await Promise.all(sends);
    expect(settled).toEqual(['0 sent', '1 refused 422', '2 sent']);
    expect(peer.sockets).toHaveLength(1);
    expect(peer.posts).toEqual([]);
  });
});

it('a socket that closes fails every send not yet acknowledged, with the error of a reset POST', async () => {
  let framed: unknown;
  await threeSends(async (peer, sends, settled, errors) => {
    peer.sockets[0]!.send(ackFrame(202));
    await sends[0];
    peer.sockets[0]!.terminate();
    await Promise.all(sends);
    expect(settled).toEqual(['0 sent', '1 ECONNRESET', '2 ECONNRESET']);
    framed = await errors[1];
  });
  // The same error as a POST's to an endpoint that resets the connection holding the request.
  const resetting = http.createServer((req) => req.socket.destroy());
  const endpoint = await listen(resetting);
  const posting = new LeanOutboundTransport();
  posting.start(() => undefined);
  try {
    const posted = await posting.send(endpoint, envelope('x')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(posted).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
    expect(framed).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
  } finally {
    await posting.close();
    await close(resetting);
  }
});

it('an endpoint that takes the upgrade without acknowledgements is posted to, and not asked again', async () => {
  const peer = await ackingEndpoint(false);
  const carrier = new LeanOutboundTransport(undefined, { upgrade: true });
  carrier.start(() => undefined);
  try {
    await carrier.send(peer.endpoint, envelope('a'));
    await carrier.send(peer.endpoint, envelope('b'));
    expect(peer.posts).toEqual(['POST', 'POST']);
    expect(peer.frames).toEqual([]);
    expect(peer.sockets.length).toBeLessThanOrEqual(1);
  } finally {
    await carrier.close();
    await peer.close();
  }
});
