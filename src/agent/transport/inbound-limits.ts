// What an inbound DIDComm transport holds at once, and how much each source (remote address) may
// ask of it. Every request or frame costs its source a token from a bucket that refills at
// `sourceRatePerSecond`; a message that fails (cannot be decrypted, fails validation, too large,
// too slow) or is refused costs `failureCost` more, so a source sending garbage runs dry (429)
// while one sending valid messages keeps its tokens. A source whose messages got through and whose
// bucket is at least half full is in good standing: it may use the whole of the request and byte
// budgets, others only what `reservedShare` leaves (503 beyond), so a flood of strangers cannot
// crowd out a working peer. Bytes are counted from admission (the declared Content-Length, or as
// a chunked body streams) until the request is answered.

import { DEFAULT_MAX_MESSAGE_BYTES } from './common.js';

/** The bounds of an inbound transport; every field has a default (INBOUND_LIMIT_DEFAULTS). */
export interface InboundLimitOptions {
  /** Largest accepted message (HTTP body, WebSocket frame) in bytes. */
  maxMessageBytes?: number;
  /** HTTP requests held at once, from admission until answered. */
  maxConcurrentRequests?: number;
  /** Bytes of HTTP request bodies held at once, from admission until answered. */
  maxInflightBytes?: number;
  /** Open connections (HTTP sockets, WebSockets) at once. */
  maxConnections?: number;
  /** Open connections of one source at once. */
  maxConnectionsPerSource?: number;
  /** Messages per second a source may send, sustained. */
  sourceRatePerSecond?: number;
  /** Messages a source may send in a burst (its bucket's size). */
  sourceBurst?: number;
  /** Tokens a failed or refused message costs its source on top of the one it paid. */
  failureCost?: number;
  /** Share of the request and byte budgets only sources in good standing may use (0..1). */
  reservedShare?: number;
  /** Time a client has to send a request's headers. */
  headersTimeoutMs?: number;
  /** Time a client has to send a request's body once its headers arrived. */
  bodyTimeoutMs?: number;
  /** Sources tracked at once; the least recently seen idle ones are forgotten beyond. */
  maxSources?: number;
}

export type InboundLimits = Required<InboundLimitOptions>;

const MiB = 1024 * 1024;

export const INBOUND_LIMIT_DEFAULTS: InboundLimits = {
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxConcurrentRequests: 256,
  maxInflightBytes: 32 * MiB,
  maxConnections: 1024,
  maxConnectionsPerSource: 256,
  sourceRatePerSecond: 1000,
  sourceBurst: 2000,
  failureCost: 25,
  reservedShare: 0.25,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  maxSources: 10_000,
};

/** The options with their defaults filled in (undefined fields take the default). */
export function inboundLimits(options: InboundLimitOptions = {}): InboundLimits {
  const out = { ...INBOUND_LIMIT_DEFAULTS };
  for (const key of Object.keys(out) as (keyof InboundLimits)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (key === 'reservedShare' && value > 1))
      throw new RangeError(`inbound limit ${key}: ${value} is out of range`);
    out[key] = value;
  }
  return out;
}

/** The source key of a remote address: IPv4 as is (also IPv4-mapped IPv6), IPv6 by its /64. */
export function sourceOf(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::', 2);
  const groups = head === '' ? [] : head.split(':');
  const rest = tail === '' ? [] : tail.split(':');
  const full = [...groups, ...Array<string>(Math.max(0, 8 - groups.length - rest.length)).fill('0'), ...rest];
  return `${full.slice(0, 4).join(':')}::/64`;
}

/** Why a request or frame was not taken; `retryAfterS` where the source may try again later. */
export interface Refusal {
  status: 413 | 429 | 503;
  reason: string;
  retryAfterS?: number;
}

interface Standing {
  tokens: number;
  refilledAt: number;
  delivered: boolean;
  connections: number;
  requests: number;
  bytes: number;
}

/** A request admitted to the budgets: grows as its body streams, released once answered. */
export interface Ticket {
  readonly source: string;
  /** Counts `n` more bytes; a refusal when they do not fit (the ticket is then released). */
  grow(n: number): Refusal | undefined;
  release(): void;
}

export class InboundBudget {
  readonly #sources = new Map<string, Standing>();
  #requests = 0;
  #bytes = 0;
  #connections = 0;

  public constructor(
    public readonly limits: InboundLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Requests and bytes held now, connections open (for tests and diagnostics). */
  public get usage(): { requests: number; bytes: number; connections: number; sources: number } {
    return {
      requests: this.#requests,
      bytes: this.#bytes,
      connections: this.#connections,
      sources: this.#sources.size,
    };
  }

  /** Takes a connection of `source`; a refusal when there are too many. Pair with closeConnection. */
  public openConnection(source: string): Refusal | undefined {
    const s = this.#standing(source);
    if (this.#connections >= this.limits.maxConnections)
      return { status: 503, reason: 'too many connections', retryAfterS: 1 };
    if (s.connections >= this.limits.maxConnectionsPerSource)
      return { status: 429, reason: 'too many connections from this source', retryAfterS: 1 };
    s.connections += 1;
    this.#connections += 1;
    return undefined;
  }

  public closeConnection(source: string): void {
    const s = this.#sources.get(source);
    if (s === undefined || s.connections === 0) return;
    s.connections -= 1;
    this.#connections -= 1;
  }

  /** Spends a token of `source` for one message; a 429 when its bucket is empty. */
  public spend(source: string): Refusal | undefined {
    const s = this.#standing(source);
    this.#refill(s);
    if (s.tokens < 1) {
      this.#charge(s, 1);
      return {
        status: 429,
        reason: 'too many messages from this source',
        retryAfterS: Math.max(1, Math.ceil((1 - s.tokens) / this.#rate())),
      };
    }
    s.tokens -= 1;
    return undefined;
  }

  /**
   * Admits a request of `declaredBytes` (its Content-Length, 0 when chunked) to the budgets, after
   * `spend`. A refusal when it is too large or does not fit.
   */
  public admit(source: string, declaredBytes: number): Ticket | Refusal {
    const s = this.#standing(source);
    if (declaredBytes > this.limits.maxMessageBytes) return tooLarge();
    const share = this.#inGoodStanding(s) ? 1 : 1 - this.limits.reservedShare;
    const maxRequests = Math.floor(this.limits.maxConcurrentRequests * share);
    const maxBytes = Math.floor(this.limits.maxInflightBytes * share);
    if (this.#requests + 1 > maxRequests || this.#bytes + declaredBytes > maxBytes)
      return { status: 503, reason: 'busy', retryAfterS: 1 };
    s.requests += 1;
    this.#requests += 1;
    s.bytes += declaredBytes;
    this.#bytes += declaredBytes;
    let held = declaredBytes;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      s.requests -= 1;
      this.#requests -= 1;
      s.bytes -= held;
      this.#bytes -= held;
    };
    return {
      source,
      grow: (n) => {
        if (released) return undefined;
        if (held + n > this.limits.maxMessageBytes) {
          release();
          return tooLarge();
        }
        const limit = Math.floor(
          this.limits.maxInflightBytes * (this.#inGoodStanding(s) ? 1 : 1 - this.limits.reservedShare),
        );
        if (this.#bytes + n > limit) {
          release();
          return { status: 503, reason: 'busy', retryAfterS: 1 };
        }
        held += n;
        s.bytes += n;
        this.#bytes += n;
        return undefined;
      },
      release,
    };
  }

  /** A message of `source` got through: it counts towards good standing. */
  public delivered(source: string): void {
    this.#standing(source).delivered = true;
  }

  /** A message of `source` failed or was refused: it costs `failureCost` tokens. */
  public failed(source: string): void {
    const s = this.#standing(source);
    this.#refill(s);
    this.#charge(s, this.limits.failureCost);
  }

  #rate(): number {
    return Math.max(this.limits.sourceRatePerSecond, 1e-9);
  }

  #charge(s: Standing, cost: number): void {
    s.tokens = Math.max(-this.limits.sourceBurst, s.tokens - cost);
  }

  #inGoodStanding(s: Standing): boolean {
    this.#refill(s);
    return s.delivered && s.tokens >= this.limits.sourceBurst / 2;
  }

  #refill(s: Standing): void {
    const now = this.now();
    const earned = ((now - s.refilledAt) / 1000) * this.limits.sourceRatePerSecond;
    s.tokens = Math.min(this.limits.sourceBurst, s.tokens + earned);
    s.refilledAt = now;
  }

  #standing(source: string): Standing {
    let s = this.#sources.get(source);
    if (s !== undefined) {
      this.#sources.delete(source);
      this.#sources.set(source, s);
      return s;
    }
    if (this.#sources.size >= this.limits.maxSources) this.#forgetOne();
    s = {
      tokens: this.limits.sourceBurst,
      refilledAt: this.now(),
      delivered: false,
      connections: 0,
      requests: 0,
      bytes: 0,
    };
    this.#sources.set(source, s);
    return s;
  }

  /** Forgets the least recently seen idle source, a stranger before a peer in good standing. */
  #forgetOne(): void {
    let fallback: string | undefined;
    for (const [key, s] of this.#sources) {
      if (s.connections > 0 || s.requests > 0) continue;
      if (!this.#inGoodStanding(s)) {
        this.#sources.delete(key);
        return;
      }
      fallback ??= key;
    }
    if (fallback !== undefined) this.#sources.delete(fallback);
  }
}

function tooLarge(): Refusal {
  return { status: 413, reason: 'message too large' };
}

export function isRefusal(x: Ticket | Refusal | undefined): x is Refusal {
  return x !== undefined && 'status' in x;
}
