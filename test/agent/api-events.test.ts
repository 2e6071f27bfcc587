// The REST API's event stream: events arrive live over SSE, are replayed after Last-Event-ID,
// kept alive with comments; closing the listener ends open streams; streams are bounded in
// number (in total and per source address), in replay and in unsent bytes.
import { request as httpRequest } from 'node:http';
import {
  TOKEN,
  CONNECTION,
  CHANNEL,
  PAYMENT,
  SETTLEMENT,
  PROPOSAL,
  MESSAGE,
  asJson,
  type Api,
  startApi,
  stopApis,
  SseReader,
} from './api-support.js';

afterAll(stopApis);

describe('events', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ keepAliveMs: 20 });
  });
  afterEach(async () => {
    await api.node.untilSubscribers(0);
  });

  it('arrive live, one SSE event per node event', async () => {
    const stream = await SseReader.open(api);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('cache-control')).toBe('no-store');
    expect(api.node.subscribers).toBe(1);

    const first = api.node.emit({ type: 'connection', connection: CONNECTION });
    const second = api.node.emit({
      type: 'payment-received',
      payment: { ...PAYMENT, direction: 'received' },
    });
    await stream.untilEventId(second.id);

    expect(stream.events).toEqual([
      { id: String(first.id), event: 'connection', data: JSON.stringify(first) },
      { id: String(second.id), event: 'payment-received', data: JSON.stringify(second) },
    ]);
    await stream.cancel();
  });

  it('are replayed after Last-Event-ID, then go on live', async () => {
    const a = api.node.emit({ type: 'channel-phase', channelId: '0xchannel', from: 'ACTING', to: 'SIGNING' });
    const b = api.node.emit({ type: 'warning', context: 'watcher', message: 'slow chain' });
    const c = api.node.emit({ type: 'settled', settlement: SETTLEMENT });

    const stream = await SseReader.open(api, { headers: { 'last-event-id': String(a.id) } });
    await stream.untilEventId(c.id);
    const d = api.node.emit({ type: 'message-received', message: { ...MESSAGE, direction: 'received' } });
    await stream.untilEventId(d.id);

    expect(stream.events.map((e) => Number(e.id))).toEqual([b.id, c.id, d.id]);
    expect(stream.response.headers.get('x-perun-replayed-until')).toBe(String(c.id));
    expect(stream.events.map((e) => JSON.parse(e.data!) as unknown)).toEqual(asJson([b, c, d]));
    expect(api.node.calls.filter((x) => x.method === 'subscribe').at(-1)).toEqual({
      method: 'subscribe',
      args: [a.id],
    });
    await stream.cancel();

    // Nothing left to replay: the header names the reader's own Last-Event-ID.
    const caughtUp = await SseReader.open(api, { headers: { 'last-event-id': String(d.id) } });
    expect(caughtUp.response.headers.get('x-perun-replayed-until')).toBe(String(d.id));
    await caughtUp.cancel();
  });

  it('keep the connection alive with comments', async () => {
    const stream = await SseReader.open(api);
    // Three intervals without an event: a keep-alive comment each, no event, the stream open.
    await stream.until((r) => r.comments.length >= 3);
    expect(stream.comments.slice(0, 3)).toEqual(['keep-alive', 'keep-alive', 'keep-alive']);
    expect(stream.events).toEqual([]);
    expect(stream.ended).toBe(false);
    await stream.cancel();
  });

  it('stop reaching a client that went away', async () => {
    const one = await SseReader.open(api);
    const two = await SseReader.open(api);
    expect(api.node.subscribers).toBe(2);
    await one.cancel();
    await api.node.untilSubscribers(1);
    const e = api.node.emit({ type: 'proposal', proposal: PROPOSAL });
    await two.untilEventId(e.id);
    await two.cancel();
  });

  it('end when the listener closes, so the process can exit', async () => {
    const own = await startApi();
    const stream = await SseReader.open(own);
    const e = own.node.emit({ type: 'channel-opened', channel: CHANNEL });
    await stream.untilEventId(e.id);

    await own.listener.close();
    await stream.until((r) => r.ended);
    expect(own.node.subscribers).toBe(0);
    await expect(fetch(`${own.url}/info`)).rejects.toThrow();
  });
});

/** GET /events over node:http from `localAddress`, its body left unread: status, headers, the request. */
function rawEvents(api: Api, localAddress: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    headers: Record<string, unknown>;
    body: () => Promise<string>;
    destroy: () => void;
  }>((resolve, reject) => {
    const req = httpRequest(
      `${api.url}/events`,
      { localAddress, headers: { authorization: `Bearer ${TOKEN}`, ...headers } },
      (res) => {
        res.pause();
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: async () => {
            let text = '';
            for await (const chunk of res) text += String(chunk);
            return text;
          },
          destroy: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('event streams are bounded', () => {
  it('in total: one past the cap gets 503 with Retry-After, and a closed stream frees its place', async () => {
    const api = await startApi({ eventStreams: { maxStreams: 2, maxStreamsPerSource: 2 } });
    const one = await SseReader.open(api);
    const two = await SseReader.open(api);
    await api.node.untilSubscribers(2);

    const refused = await rawEvents(api, '127.0.0.1');
    if (refused.status !== 503) refused.destroy();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(await refused.body())).toMatchObject({
      code: 'TOO_MANY_EVENT_STREAMS',
      details: { open: 2, limit: 2 },
    });
    expect(api.node.subscribers).toBe(2);
    await api.log.until((line) => line.startsWith('events: stream refused, 2 streams open'));

    await one.cancel();
    await api.node.untilSubscribers(1);
    const three = await SseReader.open(api);
    expect(three.response.status).toBe(200);
    await Promise.all([two.cancel(), three.cancel()]);
    await api.node.untilSubscribers(0);
  });

  it('per source address: another address still gets a stream', async () => {
    const api = await startApi({ eventStreams: { maxStreams: 4, maxStreamsPerSource: 1 } });
    const first = await rawEvents(api, '127.0.0.1');
    const second = await rawEvents(api, '127.0.0.1');
    const elsewhere = await rawEvents(api, '127.0.0.2');
    try {
      expect(first.status).toBe(200);
      expect(second.status).toBe(503);
      expect(JSON.parse(await second.body())).toMatchObject({
        code: 'TOO_MANY_EVENT_STREAMS',
        details: { open: 1, limit: 1 },
      });
      expect(elsewhere.status).toBe(200);
      expect(api.node.subscribers).toBe(2);
    } finally {
      for (const r of [first, second, elsewhere]) r.destroy();
    }
    await api.node.untilSubscribers(0);
  });

  it('replay at most the newest events after an old Last-Event-ID, and say how many were left out', async () => {
    const api = await startApi({ eventStreams: { maxReplayEvents: 3 } });
    const emitted = [1, 2, 3, 4, 5].map((n) =>
      api.node.emit({ type: 'warning', context: 'test', message: `e${n}` }),
    );
    const stream = await SseReader.open(api, { headers: { 'last-event-id': '0' } });
    await stream.untilEventId(emitted[4]!.id);
    const live = api.node.emit({ type: 'warning', context: 'test', message: 'live' });
    await stream.untilEventId(live.id);
    expect(stream.events.map((e) => Number(e.id))).toEqual([...emitted.slice(2).map((e) => e.id), live.id]);
    expect(stream.comments).toContain('2 earlier events not replayed');
    await stream.cancel();
    await api.node.untilSubscribers(0);
  });

  it('cut off a reader that does not read once its unsent bytes pass the bound', async () => {
    const api = await startApi({ eventStreams: { maxBufferedBytes: 64 * 1024 } });
    const idle = await rawEvents(api, '127.0.0.1');
    expect(idle.status).toBe(200);
    await api.node.untilSubscribers(1);
    const message = 'x'.repeat(16 * 1024);
    try {
      // Socket buffers take some megabytes first; the bound is reached well before 4,000 events.
      for (let i = 0; i < 4_000 && api.node.subscribers > 0; i++) {
        api.node.emit({ type: 'warning', context: 'test', message });
      }
      expect(api.node.subscribers).toBe(0);
      await api.log.until((line) => /^events: client too slow, \d+ bytes unsent; stream closed$/.test(line));
    } finally {
      idle.destroy();
    }
  });
});
