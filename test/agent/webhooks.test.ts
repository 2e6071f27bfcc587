// Webhooks: a receiver on 127.0.0.1 gets every node event as a signed JSON POST. It verifies the
// signature as docs/agent.md tells it to (HMAC-SHA256 over "<timestamp>.<body>"); a receiver that
// answers 500 gets the event again after exponential backoff with jitter, and after the bound the
// event is logged and dropped; each webhook gets its events in order; a receiver that never
// answers does not hold up the node, whose queue stays bounded. The waits between attempts are
// injected: the test records them and lets them pass at once.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  WebhookDispatcher,
  verifyWebhook,
  webhookSecret,
  type WebhookOptions,
} from '../../src/agent/api/webhooks.js';
import { AgentConfigError, loadAgentConfig } from '../../src/agent/node/config.js';
import type { NodeEvent, NodeEventWithId } from '../../src/agent/node/types.js';

const SECRET = 'whsec-test-2f4a6c8e0b1d3f5a7c9e';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: NodeEventWithId;
}

/** An HTTP receiver whose answer to each request `answer` decides. */
class Receiver {
  readonly requests: Received[] = [];
  answer: (r: Received) => number = () => 200;
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const r = { headers: req.headers, body, event: JSON.parse(body) as NodeEventWithId };
        this.requests.push(r);
        res.statusCode = this.answer(r);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook?key=k`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  attemptsOf(id: number): string[] {
    return this.requests
      .filter((r) => r.event.id === id)
      .map((r) => String(r.headers['x-perun-delivery-attempt']));
  }
}

/** The node's side: subscribers and numbered events. */
class Node {
  private readonly listeners = new Set<(e: NodeEventWithId) => void>();
  private next = 1;
  subscribe(listener: (e: NodeEventWithId) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: NodeEvent = { type: 'warning', context: 'test', message: 'hello' }): NodeEventWithId {
    const e = { ...event, id: this.next++, at: new Date().toISOString() } as NodeEventWithId;
    for (const l of this.listeners) l(e);
    return e;
  }
}

let receiver: Receiver;
let node: Node;
let log: string[];
let waits: number[];
let dispatcher: WebhookDispatcher;

function dispatch(options: Partial<WebhookOptions> = {}): WebhookDispatcher {
  dispatcher = new WebhookDispatcher(node, {
    urls: [receiver.url],
    secret: SECRET,
    log: (line) => log.push(line),
    wait: async (ms) => {
      waits.push(ms);
    },
    random: () => 0.5,
    firstDelayMs: 1_000,
    ...options,
  });
  dispatcher.start();
  return dispatcher;
}

beforeEach(async () => {
  receiver = await new Receiver().start();
  node = new Node();
  log = [];
  waits = [];
});

afterEach(async () => {
  await dispatcher.stop();
  await receiver.close();
});

describe('a receiver verifies what it gets', () => {
  it('the signature is HMAC-SHA256 of "<timestamp>.<body>" under the secret, with the event as the body', async () => {
    const now = 1_767_225_600_000;
    dispatch({ now: () => now });
    const sent = node.emit({ type: 'channel-phase', channelId: '0xc', from: 'Acting', to: 'Signing' });
    await dispatcher.idle();
    const [r] = receiver.requests;
    expect(JSON.parse(r!.body)).toEqual(sent);
    expect(r!.headers['content-type']).toBe('application/json');
    expect([r!.headers['x-perun-event-id'], r!.headers['x-perun-event-type']]).toEqual([
      String(sent.id),
      'channel-phase',
    ]);
    const timestamp = String(r!.headers['x-perun-timestamp']);
    expect(timestamp).toBe(String(now / 1000));
    // As a receiver in any language computes it.
    const expected = 'v1=' + createHmac('sha256', SECRET).update(`${timestamp}.${r!.body}`).digest('hex');
    expect(r!.headers['x-perun-signature']).toBe(expected);

    const check = (secret: string, body: string, at: number) =>
      verifyWebhook(secret, { timestamp, signature: r!.headers['x-perun-signature'] as string, body }, at);
    expect(check(SECRET, r!.body, now / 1000 + 10)).toBe(true);
    expect(check('another secret', r!.body, now / 1000)).toBe(false);
    expect(check(SECRET, r!.body.replace('Signing', 'Acting!'), now / 1000)).toBe(false);
    expect(check(SECRET, r!.body, now / 1000 + 301)).toBe(false);
  });
});

describe('retries', () => {
  it('after 500s the same event comes again, after backoff doubling from the first delay, with jitter', async () => {
    receiver.answer = (r) => (r.headers['x-perun-delivery-attempt'] === '3' ? 200 : 500);
    dispatch();
    const e = node.emit();
    await dispatcher.idle();
    expect(receiver.attemptsOf(e.id)).toEqual(['1', '2', '3']);
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    // random 0.5: half the backoff plus a quarter of it.
    expect(waits).toEqual([750, 1_500]);
    expect(log).toEqual([
      expect.stringContaining(`event ${e.id} (warning) attempt 1/8 failed (HTTP 500); next in 750 ms`),
      expect.stringContaining(`attempt 2/8 failed (HTTP 500); next in 1500 ms`),
    ]);
    expect(log.join('\n')).not.toContain('key=k');
  });

  it('jitter stays within half the backoff and the backoff stops at its ceiling', async () => {
    receiver.answer = () => 500;
    let r = 0;
    const randoms = [0, 0.999];
    dispatch({ maxAttempts: 7, maxDelayMs: 10_000, random: () => randoms[r++ % 2]! });
    node.emit();
    await dispatcher.idle();
    expect(waits).toEqual([500, 1_999, 2_000, 7_996, 5_000, 9_995]);
  });

  it('a receiver that is down counts as a failure too', async () => {
    await receiver.close();
    dispatch({ maxAttempts: 2 });
    node.emit();
    await dispatcher.idle();
    expect(log).toEqual([
      expect.stringMatching(/attempt 1\/2 failed \(.*ECONNREFUSED.*\); next in/),
      expect.stringMatching(/attempt 2\/2 failed .*; gave up, event dropped/),
    ]);
    receiver = await new Receiver().start();
  });

  it('gives up after the bound, logs it, and goes on with the next event', async () => {
    receiver.answer = (r) => (r.event.id === 1 ? 500 : 200);
    dispatch({ maxAttempts: 4 });
    node.emit();
    node.emit();
    await dispatcher.idle();
    expect(receiver.attemptsOf(1)).toEqual(['1', '2', '3', '4']);
    expect(receiver.attemptsOf(2)).toEqual(['1']);
    expect(log.filter((l) => l.includes('gave up'))).toEqual([
      expect.stringContaining('event 1 (warning) attempt 4/4 failed (HTTP 500); gave up, event dropped'),
    ]);
  });
});

describe('order and the node', () => {
  it('each webhook gets its events in order, retries included', async () => {
    const second = await new Receiver().start();
    try {
      receiver.answer = (r) =>
        r.event.id % 3 === 0 && r.headers['x-perun-delivery-attempt'] === '1' ? 500 : 200;
      second.answer = (r) =>
        r.event.id % 4 === 0 && r.headers['x-perun-delivery-attempt'] !== '3' ? 503 : 200;
      dispatch({ urls: [receiver.url, second.url] });
      for (let i = 0; i < 20; i++) node.emit();
      await dispatcher.idle();
      const ids = (rec: Receiver) => rec.requests.map((r) => r.event.id);
      const inOrder = (list: number[]) => list.every((id, i) => i === 0 || list[i - 1]! <= id);
      expect([inOrder(ids(receiver)), inOrder(ids(second))]).toEqual([true, true]);
      const delivered = (rec: Receiver, failed: (id: number) => number) =>
        [...new Set(ids(rec))].map((id) => [id, rec.attemptsOf(id).length - failed(id)]);
      const all = Array.from({ length: 20 }, (_, i) => [i + 1, 1]);
      expect(delivered(receiver, (id) => (id % 3 === 0 ? 1 : 0))).toEqual(all);
      expect(delivered(second, (id) => (id % 4 === 0 ? 2 : 0))).toEqual(all);
    } finally {
      await second.close();
    }
  });

  it('a receiver that never answers does not hold up the node, and its queue stays bounded', async () => {
    let started = 0;
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_, reject) => {
        started++;
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      });
    dispatch({ fetch: hanging, maxQueued: 10 });
    for (let i = 0; i < 50; i++) node.emit();
    expect(started).toBe(1);
    expect(log.filter((l) => l.includes('queue full'))).toHaveLength(40);
    expect(log[0]).toContain('queue full, dropped event 2 (warning)');
    expect(await dispatcher.stop()).toBe(10);
  });
});

describe('configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'perun-webhooks-'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ webhookUrls: ['https://example.org/a'] }));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('webhookUrls come from config.json, PERUN_WEBHOOK_URLS or flags; each must be http(s)', () => {
    expect(loadAgentConfig({ dataDir: dir }).webhookUrls).toEqual(['https://example.org/a']);
    const env = { PERUN_WEBHOOK_URLS: 'http://127.0.0.1:8080/x, https://example.org/b' };
    expect(loadAgentConfig({ dataDir: dir, env }).webhookUrls).toEqual([
      'http://127.0.0.1:8080/x',
      'https://example.org/b',
    ]);
    expect(
      loadAgentConfig({ dataDir: dir, env, flags: { webhookUrls: ['http://h/c'] } }).webhookUrls,
    ).toEqual(['http://h/c']);
    for (const bad of ['ftp://example.org/', 'example.org/hook'])
      expect(() => loadAgentConfig({ dataDir: dir, env: { PERUN_WEBHOOK_URLS: bad } })).toThrow(
        AgentConfigError,
      );
  });

  it('the secret is made once, owner-only, and kept', () => {
    const first = webhookSecret(dir);
    expect(first.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(webhookSecret(dir)).toEqual(first);
  });
});
