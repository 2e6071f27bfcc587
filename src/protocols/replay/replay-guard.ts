// The replay guard: which inbound DIDComm messages an agent has already taken, by the plaintext's
// @id, per connection (the connection the envelope authenticated to, never a field a sender
// writes). Both inbound paths ask it before any work: the Perun lean path
// (../perun/lean/lean-path.ts) and Credo's pipeline through a handler middleware
// (./replay-module.ts). A repeat is dropped: no handler runs, nothing is answered, nothing goes
// to the peer; over HTTP it is acknowledged (202) as any message handed over.
//
// Bound: per connection the REPLAY_IDS_PER_CONNECTION most recent IDs, none older than
// REPLAY_RETENTION_MS (oldest evicted first). "Could still be valid": a DIDComm v1 message
// carries no expiry unless it has `~timing` (the middleware refuses one past its expires_time,
// or sent before the retention window), so no bound covers every message; the bound covers what
// has effects a repeat could redo:
// - Perun channel updates, accepts, syncs and update refusals are also guarded by the channel
//   machine's versions: a repeat of the current version's update is answered with the same
//   accept (no new state), an older one is refused as STALE_VERSION, an accept or refusal of
//   nothing pending changes nothing. So an ID evicted or lost costs at most one answer to the real
//   peer, after which the ID is remembered again and further repeats are dropped.
// - The answers to a channel proposal (accepts, proposal refusals) resolve only the proposal of
//   ours still waiting for that answer, by the proposal's random ID: the first copy ends the
//   wait, so a repeat finds nothing to resolve (nothing waits after a crash either).
// - Everything else through Credo's pipeline (proposals, credentials and proofs, basic messages,
//   trust pings) is remembered durably before its handler runs. Credo's protocol state checks
//   refuse a repeat of a finished exchange's message; what they do not guard (a basic message)
//   is taken again only once its ID is evicted, a week or 4096 messages on that connection later.
//
// Persistence, without a durable write per payment message: IDs of the messages above are
// kept in memory and written behind in small batches (at most every WRITE_BEHIND_MS, or at once
// when WRITE_BEHIND_BATCH are waiting, and on shutdown), beside the channel's own one write per
// state. An ID lost in a crash is harmless by the version argument above: its replay is answered
// once (the accept the peer already holds, or a STALE_VERSION refusal), and that answer is not
// sent again, since the replay's ID is remembered from then on. On start the store's IDs within
// the bound are loaded back.

import type { AgentContext } from '@credo-ts/core';
import type { DidCommEncryptedMessage } from '@credo-ts/didcomm';
import { reportDropped, type DroppedMessage } from './replay-events.js';

/** One remembered inbound message: the connection it came on, its @id, when it was first taken (ms). */
export interface SeenMessage {
  connectionId: string;
  messageId: string;
  seenAt: number;
}

/** Where the guard keeps its IDs across restarts (the agent's database: src/agent/storage). */
export interface ReplayStore {
  /** Every remembered ID taken at or after `since` (ms), oldest first; older ones may be deleted. */
  load(since: number): Promise<SeenMessage[]>;
  /**
   * Adds (or refreshes) `add`; deletes every ID taken before `expiredBefore`, and for each entry of
   * `evicted` the connection's IDs taken before its `before` (they fell out of the bound).
   */
  write(change: {
    add: SeenMessage[];
    evicted: Array<{ connectionId: string; before: number }>;
    expiredBefore: number;
  }): Promise<void>;
}

export const REPLAY_IDS_PER_CONNECTION = 4096;
export const REPLAY_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export const WRITE_BEHIND_MS = 200;
export const WRITE_BEHIND_BATCH = 256;
/** IDs waiting for a store that keeps failing: beyond this the oldest are only kept in memory. */
const MAX_UNWRITTEN = 8 * WRITE_BEHIND_BATCH;

export interface ReplayGuardOptions {
  perConnection?: number;
  retentionMs?: number;
  /** The clock, ms since the epoch. */
  now?: () => number;
  /** A failed write-behind (the IDs are kept and written with the next batch). */
  onError?: (error: unknown) => void;
  /** Told of every message a path dropped (see `dropped`). */
  onDropped?: (d: DroppedMessage) => void;
}

export class ReplayGuard {
  readonly #store: ReplayStore;
  readonly #perConnection: number;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #onDropped: ((d: DroppedMessage) => void) | undefined;
  /** Connection → message ID → first taken (ms); insertion order is age order. */
  readonly #seen = new Map<string, Map<string, number>>();
  #pending: SeenMessage[] = [];
  /** Connection → the first taken time still kept, where IDs were evicted since the last write. */
  #evicted = new Map<string, number>();
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  #repeats = 0;

  constructor(store: ReplayStore, o: ReplayGuardOptions = {}) {
    this.#store = store;
    this.#perConnection = o.perConnection ?? REPLAY_IDS_PER_CONNECTION;
    this.#retentionMs = o.retentionMs ?? REPLAY_RETENTION_MS;
    this.#now = o.now ?? Date.now;
    this.#onError = o.onError ?? (() => undefined);
    this.#onDropped = o.onDropped;
  }

  /** A path dropped a message (a repeat, or one too old to judge): the event and `onDropped` hear of it. */
  dropped(agentContext: AgentContext, d: DroppedMessage, encryptedMessage?: DidCommEncryptedMessage): void {
    reportDropped(agentContext, d, encryptedMessage, this.#onDropped);
  }

  /** How many repeats were dropped since the guard was made. */
  get repeats(): number {
    return this.#repeats;
  }

  /** The oldest time a message may have been sent and still be judged (ms). */
  get horizon(): number {
    return this.#now() - this.#retentionMs;
  }

  /** Loads the stored IDs within the bound (on start, before any message is taken). */
  async load(): Promise<void> {
    for (const s of await this.#store.load(this.horizon))
      this.#remember(s.connectionId, s.messageId, s.seenAt);
  }

  /**
   * Whether message `messageId` on `connectionId` is new: if so it is remembered (written behind;
   * `flush` makes it durable), else it is a repeat and counted. Synchronous: two copies arriving
   * together are told apart.
   */
  admit(connectionId: string, messageId: string): boolean {
    const now = this.#tick();
    const ids = this.#seen.get(connectionId);
    const seenAt = ids?.get(messageId);
    if (seenAt !== undefined && seenAt >= now - this.#retentionMs) {
      this.#repeats++;
      return false;
    }
    this.#remember(connectionId, messageId, now);
    this.#pending.push({ connectionId, messageId, seenAt: now });
    if (this.#pending.length > MAX_UNWRITTEN) this.#pending.shift();
    if (this.#pending.length >= WRITE_BEHIND_BATCH) this.#writeBehind();
    else this.#timer ??= setTimeout(() => this.#writeBehind(), WRITE_BEHIND_MS).unref();
    return true;
  }

  /** Writes every ID taken so far; resolves once they are durable (rejects if the store fails). */
  flush(): Promise<void> {
    return this.#write();
  }

  /** Writes what is pending and stops the timer (the agent shutting down); a failure is reported. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
  }

  /** Monotonic ms: a clock set back does not reorder the IDs. */
  #tick(): number {
    this.#last = Math.max(this.#last, this.#now());
    return this.#last;
  }

  #remember(connectionId: string, messageId: string, seenAt: number): void {
    let ids = this.#seen.get(connectionId);
    if (ids === undefined) this.#seen.set(connectionId, (ids = new Map()));
    ids.delete(messageId);
    ids.set(messageId, seenAt);
    this.#last = Math.max(this.#last, seenAt);
    const horizon = seenAt - this.#retentionMs;
    let evicted = false;
    for (const [id, at] of ids) {
      if (ids.size <= this.#perConnection && at >= horizon) break;
      ids.delete(id);
      evicted = true;
    }
    if (evicted) this.#evicted.set(connectionId, ids.values().next().value ?? seenAt);
  }

  /** A write nobody waits for: its failure goes to onError (through #writing). */
  #writeBehind(): void {
    this.#write().catch(() => undefined);
  }

  /** One write of everything pending, after the writes before it. */
  #write(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const run = this.#writing.then(async () => {
      const add = this.#pending;
      const evicted = [...this.#evicted].map(([connectionId, before]) => ({ connectionId, before }));
      if (add.length === 0 && evicted.length === 0) return;
      this.#pending = [];
      this.#evicted = new Map();
      try {
        await this.#store.write({ add, evicted, expiredBefore: this.horizon });
      } catch (err) {
        this.#pending = [...add, ...this.#pending].slice(-MAX_UNWRITTEN);
        for (const e of evicted)
          if (!this.#evicted.has(e.connectionId)) this.#evicted.set(e.connectionId, e.before);
        throw err;
      }
    });
    this.#writing = run.catch((err: unknown) => this.#onError(err));
    return run;
  }
}
