// An in-memory Wire for tests and benchmarks: a bus joining named peers in one process.
// Delivery is asynchronous (a later macrotask) and in order per sender→receiver pair; by
// default each message goes through its JSON wire form (encode, JSON text, decode) so tests
// exercise the real codec. A peer can be disconnected and reconnected to simulate an outage:
// sends to or from it fail with PeerUnreachableError, and messages still in flight to it are
// lost. A filter can observe, drop or rewrite messages (attack and loss scenarios).
import { PeerUnreachableError } from '../errors.js';
import type { MessageHandler, Wire } from '../interfaces.js';
import { encodeChannelMessage, parseChannelMessage } from '../message-codec.js';
import { type ChannelMessage } from '../messages.js';

export interface MemoryBusOptions {
  /** Pass every message through its JSON text form (default true). */
  serialize?: boolean;
  /**
   * How long a message takes to arrive, in milliseconds (default 0: the next macrotask); a link
   * still delivers in order. A network's delay is what lets two peers' updates cross.
   */
  latencyMs?: number;
  /** Called with errors thrown (or rejected) by message handlers; they are also kept in `handlerErrors`. */
  onHandlerError?: (error: unknown, from: string, to: string, msg: ChannelMessage | undefined) => void;
}

/** Returns the message to deliver (possibly changed) or null to drop it. */
export type MessageFilter = (from: string, to: string, msg: ChannelMessage) => ChannelMessage | null;

interface Envelope {
  from: string;
  to: string;
  payload: ChannelMessage | string;
}

interface Link {
  queue: Envelope[];
  scheduled: boolean;
  /** Messages on their way (with a latency). */
  inFlight: number;
}

export class MemoryBus {
  readonly #serialize: boolean;
  readonly #latencyMs: number;
  readonly #onHandlerError: MemoryBusOptions['onHandlerError'];
  readonly #wires = new Map<string, MemoryWire>();
  readonly #down = new Set<string>();
  readonly #links = new Map<string, Link>();
  #filter: MessageFilter | undefined;
  /** Errors thrown by handlers, in order. */
  readonly handlerErrors: unknown[] = [];
  /** Messages accepted by send() so far. */
  sent = 0;
  /** Messages handed to a receiver so far. */
  delivered = 0;

  constructor(options: MemoryBusOptions = {}) {
    this.#serialize = options.serialize ?? true;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#onHandlerError = options.onHandlerError;
  }

  /** The wire endpoint of peer `id` (created on first use, the same object afterwards). */
  connect(id: string): MemoryWire {
    let w = this.#wires.get(id);
    if (w === undefined) {
      w = new MemoryWire(this, id);
      this.#wires.set(id, w);
    }
    this.#down.delete(id);
    return w;
  }

  /** Takes peer `id` off the bus: its sends and sends to it fail, messages in flight to it are lost. */
  disconnect(id: string): void {
    this.#down.add(id);
  }

  /** Puts a disconnected peer back; its handlers are still registered. */
  reconnect(id: string): void {
    if (!this.#wires.has(id)) throw new PeerUnreachableError('unknown peer', { peer: id });
    this.#down.delete(id);
  }

  isConnected(id: string): boolean {
    return this.#wires.has(id) && !this.#down.has(id);
  }

  /** Installs (or with undefined removes) a filter run on every message at send time. */
  setFilter(filter: MessageFilter | undefined): void {
    this.#filter = filter;
  }

  /** Resolves once every message sent so far has been handed to its receiver (or lost). */
  async settle(): Promise<void> {
    while ([...this.#links.values()].some((l) => l.queue.length > 0 || l.scheduled || l.inFlight > 0)) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** @internal Used by MemoryWire.send. */
  enqueue(from: string, to: string, msg: ChannelMessage): void {
    if (!this.isConnected(from)) throw new PeerUnreachableError('sender is disconnected', { peer: from });
    if (!this.isConnected(to)) throw new PeerUnreachableError('peer is unreachable', { peer: to });
    const filtered = this.#filter === undefined ? msg : this.#filter(from, to, msg);
    this.sent++;
    if (filtered === null) return;
    // Copy at send time, so the sender may reuse or change its objects afterwards.
    const payload = this.#serialize
      ? JSON.stringify(encodeChannelMessage(filtered))
      : structuredClone(filtered);
    const key = `${from}\u0000${to}`;
    let link = this.#links.get(key);
    if (link === undefined) {
      link = { queue: [], scheduled: false, inFlight: 0 };
      this.#links.set(key, link);
    }
    if (this.#latencyMs > 0) {
      link.inFlight++;
      setTimeout(() => {
        link.inFlight--;
        link.queue.push({ from, to, payload });
        this.#drain(link);
      }, this.#latencyMs);
      return;
    }
    link.queue.push({ from, to, payload });
    if (!link.scheduled) {
      link.scheduled = true;
      setImmediate(() => this.#drain(link));
    }
  }

  #drain(link: Link): void {
    link.scheduled = false;
    const batch = link.queue.splice(0);
    for (const env of batch) {
      const wire = this.#wires.get(env.to);
      if (wire === undefined || this.#down.has(env.to)) continue; // lost in the outage
      let msg: ChannelMessage;
      try {
        msg = typeof env.payload === 'string' ? parseChannelMessage(env.payload) : env.payload;
      } catch (err) {
        // A malformed message is dropped at the receiver's decoder, as a real transport does.
        this.handlerErrors.push(err);
        this.#onHandlerError?.(err, env.from, env.to, undefined);
        continue;
      }
      this.delivered++;
      wire.deliver(env.from, msg, (err) => {
        this.handlerErrors.push(err);
        this.#onHandlerError?.(err, env.from, env.to, msg);
      });
    }
  }
}

/** One peer's endpoint on a MemoryBus. */
export class MemoryWire implements Wire {
  readonly id: string;
  readonly #bus: MemoryBus;
  readonly #handlers = new Set<MessageHandler>();

  constructor(bus: MemoryBus, id: string) {
    this.#bus = bus;
    this.id = id;
  }

  async send(peerId: string, msg: ChannelMessage): Promise<void> {
    this.#bus.enqueue(this.id, peerId, msg);
  }

  onMessage(handler: MessageHandler): () => void {
    const h: MessageHandler = (from, msg) => handler(from, msg);
    this.#handlers.add(h);
    return () => {
      this.#handlers.delete(h);
    };
  }

  /** @internal Hands a message to every handler without waiting for them (a handler may itself wait for replies). */
  deliver(from: string, msg: ChannelMessage, onError: (err: unknown) => void): void {
    for (const h of [...this.#handlers]) {
      try {
        const r = h(from, msg);
        if (r instanceof Promise) r.catch(onError);
      } catch (err) {
        onError(err);
      }
    }
  }
}
