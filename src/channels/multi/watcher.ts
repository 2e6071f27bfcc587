// The watcher of channels whose assets live on several chains: one LocalWatcher per chain (its
// own event subscription, cursor and clock) follows every chain a channel has assets on.
// - A stale registration (or progression) on any chain is refuted on that chain by that chain's
//   LocalWatcher, judged by that chain's clock: a peer who registers an old state on one chain
//   only does not win there.
// - After any registration of the channel, on whichever chain, the watcher registers the same
//   state on every other chain of the channel whose record is missing or older (the newer state
//   the event carries if it is signed by everyone and newer than ours, else our latest), each
//   while that chain's own challenge window is open; a failed attempt is retried every poll
//   interval until it lands or every window closed. So the state registered last is the same
//   on all chains before the challenges end.
// - Events reach the channel's handler with the chain they came from (`chainID`); registrations
//   and progressions at once, a conclusion only when every chain of the channel has concluded
//   (until then the channel cannot be withdrawn everywhere).
import type {
  AdjudicatorEvent,
  SignedState,
  WatchedChannel,
  Watcher,
  OnChainDispute,
} from '../interfaces.js';
import type { Hex } from '../types.js';
import { LocalWatcher, type RefutationReport, type WatcherCursorStore } from '../watcher.js';
import type { Ledger, Ledgers } from './ledgers.js';

/** An adjudicator event with the chain it was read from. */
export interface LedgerEvent extends AdjudicatorEvent {
  chainID: bigint;
}

/** What the watcher did to make a chain hold the same state as the others. */
export interface AlignmentReport {
  channelID: Hex;
  chainID: bigint;
  version: bigint;
  outcome: 'registered' | 'failed' | 'expired';
  error?: unknown;
}

export interface MultiLedgerWatcherOptions {
  ledgers: Ledgers;
  /** The cursor store of each chain's LocalWatcher (none: each starts at its chain's head). */
  cursors?: (chainID: bigint) => WatcherCursorStore | undefined;
  pollIntervalMs?: number;
  onRefutation?: (report: RefutationReport & { chainID: bigint }) => void;
  onAlignment?: (report: AlignmentReport) => void;
  onError?: (error: unknown) => void;
}

interface Entry {
  id: string;
  ledgers: Ledger[];
  latest: SignedState;
  subs: SignedState[];
  concluded: Set<bigint>;
  active: boolean;
  onEvent: (event: AdjudicatorEvent) => void | Promise<void>;
}

export class MultiLedgerWatcher implements Watcher {
  readonly #o: MultiLedgerWatcherOptions;
  readonly #interval: number;
  readonly #watchers = new Map<bigint, LocalWatcher>();

  constructor(options: MultiLedgerWatcherOptions) {
    this.#o = options;
    this.#interval = options.pollIntervalMs ?? 1_000;
  }

  /** The LocalWatcher of one chain (created on first use). */
  ledgerWatcher(chainID: bigint): LocalWatcher {
    let w = this.#watchers.get(chainID);
    if (w === undefined) {
      const l = this.#o.ledgers.ledger(chainID);
      w = new LocalWatcher({
        events: l.events,
        adjudicator: l.adjudicator,
        store: this.#o.cursors?.(chainID),
        pollIntervalMs: this.#interval,
        onRefutation: (r) => this.#o.onRefutation?.({ ...r, chainID }),
        onError: this.#o.onError,
      });
      this.#watchers.set(chainID, w);
    }
    return w;
  }

  async watch(
    signed: SignedState,
    onEvent: (event: AdjudicatorEvent) => void | Promise<void>,
    subChannels: SignedState[] = [],
  ): Promise<WatchedChannel> {
    const entry: Entry = {
      id: signed.state.channelID.toLowerCase(),
      ledgers: this.#o.ledgers.of(signed.state),
      latest: signed,
      subs: subChannels,
      concluded: new Set(),
      active: true,
      onEvent,
    };
    const handles: WatchedChannel[] = [];
    try {
      for (const l of entry.ledgers) {
        handles.push(
          await this.ledgerWatcher(l.chainID).watch(
            signed,
            (ev) => this.#onLedgerEvent(entry, l, ev),
            subChannels,
          ),
        );
      }
    } catch (err) {
      await Promise.all(handles.map((h) => h.stop()));
      throw err;
    }
    return {
      publish: (next, subs) => {
        for (const h of handles) h.publish(next, subs);
        if (next.state.version > entry.latest.state.version) {
          entry.latest = next;
          entry.subs = subs ?? [];
        } else if (next.state.version === entry.latest.state.version && subs !== undefined) {
          entry.subs = subs;
        }
      },
      stop: async () => {
        entry.active = false;
        await Promise.all(handles.map((h) => h.stop()));
      },
    };
  }

  /** Scans every chain once (see LocalWatcher.catchUp). */
  async catchUp(): Promise<void> {
    await Promise.all([...this.#watchers.values()].map((w) => w.catchUp()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#watchers.values()].map((w) => w.close()));
  }

  async #onLedgerEvent(entry: Entry, from: Ledger, ev: AdjudicatorEvent): Promise<void> {
    const event: LedgerEvent = { ...ev, chainID: from.chainID };
    if (ev.channelID.toLowerCase() !== entry.id) return entry.onEvent(event);
    if (ev.kind === 'concluded') {
      entry.concluded.add(from.chainID);
      if (await this.#concludedEverywhere(entry)) await entry.onEvent(event);
      return;
    }
    const target =
      ev.state !== undefined &&
      ev.params !== undefined &&
      ev.kind === 'registered' &&
      ev.sigs?.length === ev.params.participants.length &&
      ev.state.version > entry.latest.state.version
        ? { params: ev.params, state: ev.state, sigs: ev.sigs }
        : entry.latest;
    // Handed off: the handler runs inside the chain's scan and must not wait for other chains.
    this.#align(entry, from, target).catch((err: unknown) => this.#o.onError?.(err));
    await entry.onEvent(event);
  }

  async #concludedEverywhere(entry: Entry): Promise<boolean> {
    for (const l of entry.ledgers) {
      if (entry.concluded.has(l.chainID)) continue;
      if ((await l.adjudicator.dispute(entry.id)).stage !== 'concluded') return false;
      entry.concluded.add(l.chainID);
    }
    return true;
  }

  /** Registers `target` on every other chain whose record is missing or older, retrying while a window is open. */
  async #align(entry: Entry, from: Ledger, target: SignedState): Promise<void> {
    let pending = entry.ledgers.filter((l) => l !== from);
    while (pending.length > 0 && entry.active) {
      const retry: Ledger[] = [];
      for (const l of pending) {
        const outcome = await this.#alignOne(entry, l, target);
        if (outcome === 'failed') retry.push(l);
      }
      pending = retry;
      if (pending.length > 0) await new Promise((r) => setTimeout(r, this.#interval));
    }
  }

  async #alignOne(entry: Entry, l: Ledger, target: SignedState): Promise<'done' | 'failed'> {
    const report = (outcome: AlignmentReport['outcome'], error?: unknown) =>
      this.#o.onAlignment?.({
        channelID: entry.id,
        chainID: l.chainID,
        version: target.state.version,
        outcome,
        error,
      });
    try {
      const d = await l.adjudicator.dispute(entry.id);
      if (!behind(d, target.state.version)) return 'done';
      if (d.stage === 'dispute' && (await l.adjudicator.now()) >= d.timeout) {
        report('expired');
        return 'done';
      }
      const subs = target === entry.latest ? entry.subs : [];
      await l.adjudicator.register(target, subs);
      report('registered');
      return 'done';
    } catch (err) {
      const d = await l.adjudicator.dispute(entry.id).catch(() => undefined);
      if (d !== undefined && !behind(d, target.state.version)) return 'done';
      report('failed', err);
      return 'failed';
    }
  }
}

/** Whether a chain's record must be brought up to `version`: nothing registered, or an older state in dispute. */
function behind(d: OnChainDispute, version: bigint): boolean {
  return d.stage === 'none' || (d.stage === 'dispute' && d.version < version);
}
