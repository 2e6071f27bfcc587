// Webhooks, the alternative to the event stream (ACA-Py style): every node event is POSTed as
// JSON to each configured URL, signed with HMAC-SHA256 under the data directory's
// `webhook-secret` over `<timestamp>.<body>` (headers X-Perun-Timestamp, X-Perun-Signature:
// v1=<hex>). Each webhook has its own queue and sends one event at a time, so its receiver gets
// them in order; a failed attempt (no 2xx in time) is retried with exponential backoff and jitter,
// up to `maxAttempts`, then logged and dropped. The node only appends to the queues: a slow or
// dead receiver never holds it up, and a queue that grows past `maxQueued` drops its oldest.
// Nothing is kept across restarts: the queues live in memory.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { AgentNodeApi, NodeEventWithId } from '../node/types.js';

export const WEBHOOK_SECRET_FILE = 'webhook-secret';
export const TIMESTAMP_HEADER = 'x-perun-timestamp';
export const SIGNATURE_HEADER = 'x-perun-signature';

/** The signature header's value for `body` sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return 'v1=' + createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/**
 * What a receiver checks: the signature over the timestamp and the raw body, compared in constant
 * time, and a timestamp at most `toleranceSeconds` from its clock (so a captured request cannot
 * be replayed later).
 */
export function verifyWebhook(
  secret: string,
  request: { timestamp: string | undefined; signature: string | undefined; body: string },
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  const { timestamp, signature, body } = request;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The data directory's webhook secret, made (32 random bytes, mode 600) if there is none. */
export function webhookSecret(dataDir: string): { secret: string; file: string } {
  const file = join(dataDir, WEBHOOK_SECRET_FILE);
  if (!existsSync(file))
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  return { secret: readFileSync(file, 'utf8').trim(), file };
}

export interface WebhookOptions {
  urls: string[];
  secret: string;
  /** Attempts per event before it is dropped; default 8. */
  maxAttempts?: number;
  /** Backoff before the second attempt, doubling after each failure; default 1 s. */
  firstDelayMs?: number;
  /** The longest backoff; default 5 minutes. */
  maxDelayMs?: number;
  /** Time for the receiver's answer; default 10 s. */
  attemptTimeoutMs?: number;
  /** Events a webhook's queue holds; default 1,000. */
  maxQueued?: number;
  log?: (line: string) => void;
  fetch?: typeof fetch;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** In [0, 1): the jitter. */
  random?: () => number;
  /** Unix milliseconds: the signed timestamp. */
  now?: () => number;
}

const realWait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Where a URL points, without its query or credentials (the log names webhooks this way). */
const shown = (url: string) => {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
};

type Settings = Required<Omit<WebhookOptions, 'urls' | 'secret'>> & { secret: string };

/** One URL's queue and the loop that empties it in order. */
class WebhookTarget {
  private readonly queue: NodeEventWithId[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly s: Settings,
    private readonly stopping: AbortSignal,
  ) {}

  push(e: NodeEventWithId): void {
    if (this.queue.length >= this.s.maxQueued) {
      // The head may be in flight: the next oldest goes.
      const dropped = this.queue.splice(this.running === undefined ? 0 : 1, 1)[0];
      if (dropped !== undefined)
        this.s.log(`webhook ${shown(this.url)}: queue full, dropped event ${dropped.id} (${dropped.type})`);
    }
    this.queue.push(e);
    this.kick();
  }

  private kick(): void {
    if (this.running !== undefined || this.stopping.aborted) return;
    this.running = this.drain()
      .catch((err: unknown) => this.s.log(`webhook ${shown(this.url)}: ${String(err)}`))
      .finally(() => {
        this.running = undefined;
        if (this.queue.length > 0) this.kick();
      });
  }

  get idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  get pending(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopping.aborted) {
      await this.deliver(this.queue[0]!);
      if (!this.stopping.aborted) this.queue.shift();
    }
  }

  /** Sends `e` until it is taken or the attempts are used up. */
  private async deliver(e: NodeEventWithId): Promise<void> {
    const body = JSON.stringify(e);
    const { maxAttempts, firstDelayMs, maxDelayMs, log } = this.s;
    for (let attempt = 1; !this.stopping.aborted; attempt++) {
      const failure = await this.attempt(e, body, attempt);
      if (failure === undefined || this.stopping.aborted) return;
      const what = `webhook ${shown(this.url)}: event ${e.id} (${e.type}) attempt ${attempt}/${maxAttempts}`;
      if (attempt >= maxAttempts) {
        log(`${what} failed (${failure}); gave up, event dropped`);
        return;
      }
      const backoff = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(backoff / 2 + this.s.random() * (backoff / 2));
      log(`${what} failed (${failure}); next in ${delay} ms`);
      await this.s.wait(delay, this.stopping);
    }
  }

  /** One POST; undefined when the receiver took it, else why not. */
  private async attempt(e: NodeEventWithId, body: string, attempt: number): Promise<string | undefined> {
    const timestamp = Math.floor(this.s.now() / 1000);
    try {
      const res = await this.s.fetch(this.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'perun-agent',
          'x-perun-event-id': String(e.id),
          'x-perun-event-type': e.type,
          'x-perun-delivery-attempt': String(attempt),
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(this.s.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.any([this.stopping, AbortSignal.timeout(this.s.attemptTimeoutMs)]),
      });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      // fetch's errors name the network's reason in their cause (ECONNREFUSED, a timeout).
      const e = err as { message?: unknown; cause?: { message?: unknown } } | undefined;
      const why = e?.cause?.message ?? e?.message;
      return typeof why === 'string' ? why : String(err);
    }
  }
}

/** Posts the node's events to the configured webhooks from `start` until `stop`. */
export class WebhookDispatcher {
  private readonly targets: WebhookTarget[];
  private readonly stopper = new AbortController();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly node: Pick<AgentNodeApi, 'subscribe'>,
    options: WebhookOptions,
  ) {
    const s: Settings = {
      secret: options.secret,
      maxAttempts: options.maxAttempts ?? 8,
      firstDelayMs: options.firstDelayMs ?? 1_000,
      maxDelayMs: options.maxDelayMs ?? 300_000,
      attemptTimeoutMs: options.attemptTimeoutMs ?? 10_000,
      maxQueued: options.maxQueued ?? 1_000,
      log: options.log ?? (() => {}),
      fetch: options.fetch ?? fetch,
      wait: options.wait ?? realWait,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
    this.targets = options.urls.map((url) => new WebhookTarget(url, s, this.stopper.signal));
  }

  start(): void {
    this.unsubscribe ??= this.node.subscribe((e) => {
      for (const target of this.targets) target.push(e);
    });
  }

  /** Resolves once every queue is empty (for tests and a graceful stop). */
  async idle(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.idle));
  }

  /** Stops listening, ends waits and requests in flight; what was queued is dropped. */
  async stop(): Promise<number> {
    this.unsubscribe?.();
    this.stopper.abort();
    await this.idle();
    return this.targets.reduce((n, t) => n + t.pending, 0);
  }
}
