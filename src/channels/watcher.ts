// LocalWatcher: the in-process watcher of go-perun (watcher/local), on one cursor-based event
// subscription shared by every watched channel (docs/protocol.md §8).
//
// - One subscription, opened lazily by the first watch() and started at the stored cursor (the
//   ChannelStore's global watcher cursor), else at `fromBlock`, else at the chain head. There is
//   no fixed lookback: after any downtime the scan resumes exactly where it stopped.
// - The watcher drives the subscription itself: every `pollIntervalMs`, and on catchUp(), it
//   scans every confirmed block once, handles the events in chain order, and then stores the
//   subscription's cursor. The stored value is the NEXT block to scan (every block before it has
//   been handled), so a restart never skips a block and rescans at most one poll's worth.
// - For a watched channel, a 'registered' or 'progressed' event with a version below the latest
//   published one is a stale registration. The watcher re-reads the dispute record and, while it
//   is refutable (stage 'dispute' and chain time < timeout) and still older than our latest
//   state, registers the latest state: one transaction per stale registration, because a second
//   stale event finds the record already refuted. A register that reverts (the peer refuted or
//   concluded concurrently, the window closed) is not an error: the record is read again and the
//   outcome reported. Only when the record is still stale and refutable does the attempt count
//   as failed; it is then retried at the end of that scan and of every later one, until it
//   succeeds or the window closes (the cursor moves on: one stuck channel never blocks others).
// - Every event of a watched channel is then handed to the channel's `onEvent`, awaited, in chain
//   order. A handler that throws is reported through `onError` and changes nothing else. The
//   handler runs inside the scan: it should return promptly and start long work (waiting for the
//   timeout, conclude, withdraw) without awaiting it, or it delays the refutations of other
//   channels. Delivery is at least once: a scan that fails part-way is repeated from the stored
//   cursor, and a channel watched again (or back-filled, below) may see an event twice.
// - A channel first watched after the subscription has scanned past the resume point is
//   back-filled: a one-off scan from the resume point up to the shared cursor for the channels
//   waiting to be added (one scan for all the channels watched meanwhile, not one per channel),
//   so none of their events in the blocks already scanned is lost. After a restart the
//   client should still watch every restored channel before the first scan (which runs
//   `pollIntervalMs` after the first watch): the cursor only covers the channels watched so far.
// - Sub-channels: a channel is published with the latest signed states of the sub-channels its
//   state locks; their IDs join the subscription, a stale registration of one of them (the parent
//   re-registered unchanged with an old child) is refuted like the parent's, by registering the
//   latest parent state with the latest children, and their events go to the parent's handler.
import { AsyncLocalStorage } from 'node:async_hooks';
import { WatcherError } from './errors.js';
import type {
  Adjudicator,
  AdjudicatorEvent,
  AdjudicatorEventSource,
  EventSubscription,
  OnChainDispute,
  SignedState,
  WatchedChannel,
  Watcher,
} from './interfaces.js';
import type { Hex } from './types.js';

/** Where the watcher keeps its cursor (the ChannelStore's global watcher cursor fits). */
export interface WatcherCursorStore {
  /** The next block to scan, or null when the watcher never ran. */
  getCursor(): Promise<bigint | null>;
  setCursor(block: bigint): Promise<void>;
}

/**
 * What became of a stale registration:
 * - 'refuted': we registered our latest state;
 * - 'already-refuted': the registered version is already at least ours (someone refuted, or the
 *   peer registered a newer state), nothing sent or our register reverted because of it;
 * - 'not-refutable': the channel is concluded or in force-execution (or not registered at all);
 * - 'expired': the challenge window closed before the refutation could land;
 * - 'failed': the attempt failed while the record was still refutable; it is retried at the end
 *   of the scan and of each later one (`error` holds a WatcherError 'REFUTATION_FAILED').
 */
export type RefutationOutcome = 'refuted' | 'already-refuted' | 'not-refutable' | 'expired' | 'failed';

export interface RefutationReport {
  channelID: Hex;
  /** The stale version that was registered (or progressed to). */
  staleVersion: bigint;
  /** Our latest published version, the one registered as the refutation. */
  latestVersion: bigint;
  outcome: RefutationOutcome;
  /** The dispute record after the attempt, when it could be read. */
  dispute?: OnChainDispute;
  error?: WatcherError;
}

export interface LocalWatcherOptions {
  /** Adjudicator events (one subscription is taken from it). */
  events: AdjudicatorEventSource;
  /** Reads dispute records and the chain time, and sends refutations. */
  adjudicator: Adjudicator;
  /** Keeps the cursor across restarts; without it every new watcher starts at `fromBlock`/head. */
  store?: WatcherCursorStore;
  /** First block to scan when the store holds no cursor (default: the chain head). */
  fromBlock?: number;
  /** Time between scans while at least one channel is watched (default 1,000 ms). */
  pollIntervalMs?: number;
  /** Called with the outcome of every refutation attempt. */
  onRefutation?: (report: RefutationReport) => void;
  /** Failures that do not stop the watcher: a scan that failed (retried), a handler that threw. */
  onError?: (error: unknown) => void;
}

type EventHandler = (event: AdjudicatorEvent) => void | Promise<void>;

interface Entry {
  readonly id: string;
  latest: SignedState;
  /** The latest states of the sub-channels `latest` locks, in its locked order. */
  subs: SignedState[];
  readonly onEvent: EventHandler;
  active: boolean;
  /** The stale version (of the channel or a sub-channel) whose refutation is still owed (after a failed attempt). */
  owed: { version: bigint; target: string } | undefined;
}

/** A channel waiting to join the shared subscription, and its watch() call waiting for that. */
interface Joining {
  entry: Entry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class LocalWatcher implements Watcher {
  readonly #events: AdjudicatorEventSource;
  readonly #adjudicator: Adjudicator;
  readonly #store: WatcherCursorStore | undefined;
  readonly #fromBlock: number | undefined;
  readonly #interval: number;
  readonly #onRefutation: ((report: RefutationReport) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;

  readonly #channels = new Map<string, Entry>();
  /** Sub-channel ID → the entry of the channel that locks it. */
  readonly #children = new Map<string, Entry>();
  readonly #inHandler = new AsyncLocalStorage<true>();
  #joining: Joining[] = [];
  #sub: EventSubscription | undefined;
  /** The block the subscription was opened at (the resume point of this watcher). */
  #origin = 0;
  /** The cursor value last written to the store. */
  #saved: number | undefined;
  /** Scans, back-fills and channel additions run one at a time, in this chain. */
  #queue: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: LocalWatcherOptions) {
    this.#events = options.events;
    this.#adjudicator = options.adjudicator;
    this.#store = options.store;
    this.#fromBlock = options.fromBlock;
    this.#interval = options.pollIntervalMs ?? 1_000;
    this.#onRefutation = options.onRefutation;
    this.#onError = options.onError;
  }

  /** The next block the shared subscription scans; undefined until the first watch or catchUp. */
  get cursor(): number | undefined {
    return this.#sub?.cursor;
  }

  /** The block this watcher resumed from (stored cursor, `fromBlock` or head); 0 before it opened. */
  get origin(): number {
    return this.#origin;
  }

  /** IDs (lower case) of the channels under watch. */
  get watching(): string[] {
    return [...this.#channels.keys()];
  }

  /**
   * Starts watching the channel of `signed` (its latest fully signed state). Resolves once the
   * channel is part of the shared subscription, back-filled if the subscription had already
   * scanned past the resume point. ALREADY_WATCHING if the channel is watched already.
   */
  async watch(
    signed: SignedState,
    onEvent: EventHandler,
    subChannels: SignedState[] = [],
  ): Promise<WatchedChannel> {
    if (this.#closed) throw new WatcherError('CLOSED', 'the watcher is closed');
    checkFullySigned(signed);
    subChannels.forEach(checkFullySigned);
    const id = signed.state.channelID.toLowerCase();
    if (this.#channels.has(id)) {
      throw new WatcherError('ALREADY_WATCHING', 'the channel is already watched', { channelID: id });
    }
    const entry: Entry = { id, latest: copy(signed), subs: [], onEvent, active: true, owed: undefined };
    this.#channels.set(id, entry);
    this.#setSubs(entry, subChannels);
    const added = new Promise<void>((resolve, reject) => this.#joining.push({ entry, resolve, reject }));
    // #addJoining hands its failures to the joining channels; anything else is the watcher's to report.
    this.#serial(() => this.#addJoining()).catch((err: unknown) => this.#report(err));
    const handle: WatchedChannel = {
      publish: (next, subs) => this.#publish(entry, next, subs),
      stop: async () => this.#remove(entry),
    };
    if (this.#inHandler.getStore() === true) {
      // Awaiting the queue from inside a scan would wait for ourselves: let it run afterwards.
      added.catch((err: unknown) => {
        this.#remove(entry);
        this.#report(err);
      });
    } else {
      try {
        await added;
      } catch (err) {
        this.#remove(entry);
        throw err;
      }
    }
    this.#schedule();
    return handle;
  }

  /**
   * Scans every confirmed block from the cursor once: refutes, delivers every event, stores the
   * cursor. Resolves when all of that is done; rejects if the scan failed. Opens the
   * subscription if no channel was watched yet. Not for use inside an event handler (REENTRANT).
   */
  async catchUp(): Promise<void> {
    if (this.#closed) throw new WatcherError('CLOSED', 'the watcher is closed');
    if (this.#inHandler.getStore() === true) {
      throw new WatcherError('REENTRANT', 'catchUp() was called from inside an event handler');
    }
    await this.#serial(() => this.#scan());
  }

  /** Stops scanning and waits for a running scan to finish. The stored cursor stays. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const entry of this.#channels.values()) entry.active = false;
    this.#channels.clear();
    this.#children.clear();
    if (this.#inHandler.getStore() !== true) await this.#queue;
    await this.#sub?.stop();
  }

  // -------------------------------------------------------------------------------------------

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed || this.#channels.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#serial(() => this.#scan())
        .catch((err: unknown) => this.#report(err))
        .finally(() => this.#schedule());
    }, this.#interval);
  }

  async #open(): Promise<EventSubscription> {
    if (this.#sub !== undefined) return this.#sub;
    const stored = this.#store === undefined ? null : await this.#store.getCursor();
    if (stored !== null) {
      this.#origin = Number(stored);
      this.#saved = this.#origin;
    } else {
      this.#origin = this.#fromBlock ?? (this.#events.head === undefined ? 0 : await this.#events.head());
    }
    this.#sub = this.#events.subscribe({
      fromBlock: this.#origin,
      channelIDs: [],
      onEvent: (event) => this.#dispatch(event),
      onError: (err) => this.#report(err),
    });
    return this.#sub;
  }

  /** Adds every channel watched since the last call to the subscription, with one back-fill for all. */
  async #addJoining(): Promise<void> {
    const joining = this.#joining;
    this.#joining = [];
    if (joining.length === 0) return;
    const entries = joining.map((j) => j.entry).filter((e) => e.active && !this.#closed);
    try {
      if (entries.length > 0) {
        const sub = await this.#open();
        const scanned = sub.cursor;
        for (const e of entries) {
          sub.watch(e.id);
          for (const c of e.subs) sub.watch(c.state.channelID.toLowerCase());
        }
        if (scanned > this.#origin) await this.#backfill(entries, scanned);
      }
    } catch (err) {
      for (const j of joining) j.reject(err);
      return;
    }
    for (const j of joining) j.resolve();
  }

  /** Delivers the channels' events in [origin, until): blocks the shared scan passed without them. */
  async #backfill(entries: Entry[], until: number): Promise<void> {
    const once = this.#events.subscribe({
      fromBlock: this.#origin,
      channelIDs: entries.flatMap((e) => [e.id, ...e.subs.map((c) => c.state.channelID.toLowerCase())]),
      onEvent: (event) => (event.blockNumber < until ? this.#dispatch(event) : undefined),
    });
    try {
      await once.poll();
    } finally {
      await once.stop();
    }
  }

  async #scan(): Promise<void> {
    if (this.#closed) return;
    const sub = await this.#open();
    await sub.poll();
    for (const entry of [...this.#channels.values()]) {
      if (entry.active && entry.owed !== undefined)
        await this.#refute(entry, entry.owed.version, entry.owed.target);
    }
    if (this.#store !== undefined && sub.cursor !== this.#saved) {
      await this.#store.setCursor(BigInt(sub.cursor));
      this.#saved = sub.cursor;
    }
  }

  async #dispatch(event: AdjudicatorEvent): Promise<void> {
    const id = event.channelID.toLowerCase();
    const entry = this.#channels.get(id) ?? this.#children.get(id);
    if (entry === undefined || !entry.active) return;
    const latest = latestVersionOf(entry, id);
    if (
      latest !== undefined &&
      (event.kind === 'registered' || event.kind === 'progressed') &&
      event.version < latest
    ) {
      await this.#refute(entry, event.version, id);
    }
    try {
      await this.#inHandler.run(true, () => entry.onEvent(event));
    } catch (err) {
      this.#report(
        new WatcherError(
          'HANDLER_FAILED',
          'an adjudicator event handler threw',
          { channelID: entry.id, kind: event.kind, version: event.version.toString() },
          { cause: err },
        ),
      );
    }
  }

  /** Whether (and why not) the record can still be refuted with `latest`; undefined if it can. */
  async #verdict(d: OnChainDispute, latest: bigint): Promise<RefutationOutcome | undefined> {
    if (d.stage !== 'none' && d.version >= latest) return 'already-refuted';
    if (d.stage !== 'dispute') return 'not-refutable';
    if ((await this.#adjudicator.now()) >= d.timeout) return 'expired';
    return undefined;
  }

  /** Registers the latest state over a stale registration if the record still allows it. Never throws. */
  async #refute(entry: Entry, staleVersion: bigint, target: string = entry.id): Promise<void> {
    const latest = entry.latest;
    const latestVersion = latestVersionOf(entry, target) ?? latest.state.version;
    const base = { channelID: target, staleVersion, latestVersion };
    let report: RefutationReport;
    try {
      const before = await this.#adjudicator.dispute(target);
      const skip = await this.#verdict(before, latestVersion);
      if (skip !== undefined) {
        report = { ...base, outcome: skip, dispute: before };
      } else {
        try {
          await this.#adjudicator.register(latest, entry.subs);
          report = { ...base, outcome: 'refuted', dispute: await this.#adjudicator.dispute(target) };
        } catch (err) {
          // A concurrent refutation or conclusion makes our register revert: that is fine.
          const after = await this.#adjudicator.dispute(target);
          const outcome = await this.#verdict(after, latestVersion);
          if (outcome === undefined) throw err;
          report = { ...base, outcome, dispute: after };
        }
      }
      entry.owed = undefined;
    } catch (err) {
      entry.owed = { version: staleVersion, target };
      const error = new WatcherError(
        'REFUTATION_FAILED',
        'could not refute a stale registration; retrying while the window is open',
        {
          channelID: entry.id,
          staleVersion: staleVersion.toString(),
          latestVersion: base.latestVersion.toString(),
        },
        { cause: err },
      );
      report = { ...base, outcome: 'failed', error };
      this.#report(error);
    }
    this.#notify(report);
  }

  #publish(entry: Entry, signed: SignedState, subs?: SignedState[]): void {
    if (signed.state.channelID.toLowerCase() !== entry.id) {
      throw new WatcherError('CHANNEL_MISMATCH', 'published a state of another channel', {
        channelID: entry.id,
        published: signed.state.channelID,
      });
    }
    checkFullySigned(signed);
    subs?.forEach(checkFullySigned);
    if (signed.state.version > entry.latest.state.version) {
      entry.latest = copy(signed);
      this.#setSubs(entry, subs ?? []);
    } else if (signed.state.version === entry.latest.state.version && subs !== undefined) {
      this.#setSubs(entry, subs);
    }
  }

  /** Replaces the entry's sub-channel states and (un)subscribes their IDs. */
  #setSubs(entry: Entry, subs: SignedState[]): void {
    const before = new Set(entry.subs.map((c) => c.state.channelID.toLowerCase()));
    entry.subs = subs.map(copy);
    for (const c of entry.subs) {
      const id = c.state.channelID.toLowerCase();
      if (!before.delete(id)) {
        this.#children.set(id, entry);
        this.#sub?.watch(id);
      }
    }
    for (const id of before) {
      if (this.#children.get(id) === entry) this.#children.delete(id);
      this.#sub?.unwatch(id);
    }
  }

  #remove(entry: Entry): void {
    entry.active = false;
    if (this.#channels.get(entry.id) !== entry) return;
    this.#setSubs(entry, []);
    this.#channels.delete(entry.id);
    this.#sub?.unwatch(entry.id);
    if (this.#channels.size === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #notify(report: RefutationReport): void {
    try {
      this.#onRefutation?.(report);
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    try {
      this.#onError?.(err);
    } catch {
      // An error reporter that throws has nowhere left to report to.
    }
  }
}

function checkFullySigned(signed: SignedState): void {
  const n = signed.params.participants.length;
  if (signed.sigs.length !== n || signed.sigs.some((s) => typeof s !== 'string' || s.length <= 2)) {
    throw new WatcherError('NOT_FULLY_SIGNED', 'a watched state needs every participant signature', {
      channelID: signed.state.channelID,
      version: signed.state.version.toString(),
      participants: n,
      sigs: signed.sigs.length,
    });
  }
}

/** Our latest version of channel `id`: the entry's own or one of its sub-channels'. */
function latestVersionOf(entry: Entry, id: string): bigint | undefined {
  if (id === entry.id) return entry.latest.state.version;
  return entry.subs.find((c) => c.state.channelID.toLowerCase() === id)?.state.version;
}

/** The watcher keeps its own sigs array; params and state are treated as immutable. */
function copy(signed: SignedState): SignedState {
  return { params: signed.params, state: signed.state, sigs: [...signed.sigs] };
}
