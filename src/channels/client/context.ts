// The state one ChannelClient shares with its protocol phases (proposal, update, sync, adjudicate,
// watch, restore, each in its own module): the options it was handed, the registry of channels,
// the proposals waiting for an answer, background work, and the plumbing every phase uses:
// persisting a channel's machine before anything that depends on it leaves the process, sending,
// signature checks, events. Nothing here decides a protocol step.
import { copyState } from '../copy.js';
import { ChannelClientError, InvalidTransitionError } from '../errors.js';
import { PaymentExistsError } from '../persistence/errors.js';
import type { Address, Hex, Params, Phase, State } from '../types.js';
import type { SignedState, WithdrawnAmount } from '../interfaces.js';
import { stateToJson } from '../json.js';
import { RecentStates } from '../state-content.js';
import { transferOf } from '../transfer.js';
import type { ChannelStoreTx, LoggedPayments, SignedState as StoredState } from '../store.js';
import type { App } from '../app.js';
import { canTransition, type ChannelMachine } from '../machine.js';
import { encodeSyncedChannel } from '../message-codec.js';
import {
  MAX_SYNC_BATCH,
  MAX_SYNC_BATCH_CHARS,
  MAX_UPDATE_PAYMENTS,
  type ChannelMessage,
  type ChannelSyncBatch,
  type ChannelUpdate,
  type SyncedChannel,
  type VirtualChannelUpdate,
} from '../messages.js';
import { type AppRule, sameHex, ZERO_APP } from '../validation.js';
import { Channel, type Labelled } from './channel.js';
import type { ChannelClientOptions, ClientEvent } from './types.js';

type Defaults = 'responseTimeoutMs' | 'chainPollMs' | 'concludeWaitMs';
export type ClientOptions = Required<Pick<ChannelClientOptions, Defaults>> & ChannelClientOptions;

/** A proposal of ours waiting for the peer's answer. */
export interface ProposalWait {
  peer: string;
  resolve: (m: ChannelMessage) => void;
}

/** A funding update of a virtual channel the intermediary holds until the other parent's arrives. */
export interface VirtualFunding {
  parent: Channel;
  from: string;
  msg: VirtualChannelUpdate;
  /** The parent's version the update builds on. */
  base: bigint;
  answer: (matched: VirtualFunding | undefined) => void;
}

export const canonical = (s: State): string => JSON.stringify(stateToJson(s));
export const sameState = (a: State, b: State): boolean => canonical(a) === canonical(b);

/**
 * How long a deferred state of ours (ClientContext.defer) waits for the channel's next write to
 * take it along before it is written by itself.
 */
export const DEFER_MS = 5;

/** Signatures verify() remembers. */
const VERIFIED_KEPT = 16;

const CLOSED_PHASES: readonly Phase[] = [
  'Final',
  'Registering',
  'Registered',
  'Progressing',
  'Progressed',
  'Withdrawing',
  'Withdrawn',
];

/**
 * What the store logs for `labelled` with the signed state `signed`: the payments of its own
 * update, or of several versions up to it (with each version's balances), or nothing.
 */
function logged(labelled: Labelled[], signed: State): LoggedPayments | undefined {
  if (labelled.length === 0) return undefined;
  const only = labelled[0]!;
  if (labelled.length === 1 && only.version === signed.version)
    return { payer: only.payer, payments: only.payments };
  return labelled.map((l) => ({
    version: l.version,
    payer: l.payer,
    payments: l.payments,
    balances: l.balances ?? signed.outcome.balances,
  }));
}

/** Sync batches sent to one peer at once. */
const SYNCS_IN_FLIGHT = 4;

/**
 * `channels` as batches within the limits (MAX_SYNC_BATCH channels, MAX_UPDATE_PAYMENTS payments,
 * about MAX_SYNC_BATCH_CHARS of JSON each; a channel larger than that goes alone), in their order,
 * each as soon as it is full; the last one names `synced`, and with no channels that is the only one.
 */
export function* syncBatches(
  channels: Iterable<SyncedChannel>,
  synced?: readonly Hex[],
): Generator<ChannelSyncBatch> {
  let batch: SyncedChannel[] = [];
  let chars = 0;
  let paid = 0;
  for (const c of channels) {
    const size = JSON.stringify(encodeSyncedChannel(c)).length;
    const payments = c.payments?.length ?? 0;
    if (
      batch.length > 0 &&
      (batch.length >= MAX_SYNC_BATCH ||
        chars + size > MAX_SYNC_BATCH_CHARS ||
        paid + payments > MAX_UPDATE_PAYMENTS)
    ) {
      yield { type: 'channel-sync-batch', channels: batch };
      batch = [];
      chars = 0;
      paid = 0;
    }
    batch.push(c);
    chars += size;
    paid += payments;
  }
  if (synced !== undefined) yield { type: 'channel-sync-batch', channels: batch, synced: [...synced] };
  else if (batch.length > 0) yield { type: 'channel-sync-batch', channels: batch };
}

export class ClientContext {
  readonly o: ClientOptions;
  readonly channels = new Map<string, Channel>();
  readonly proposals = new Map<string, ProposalWait>();
  readonly proposalTimes = new Map<string, number[]>();
  /** Virtual channel ID → the first funding update, waiting for its match. */
  readonly virtualFundings = new Map<string, VirtualFunding>();
  readonly background = new Set<Promise<unknown>>();
  readonly abort = new AbortController();
  /** The last signatures found valid (verify), by the content of the state they sign. */
  readonly #verified = new RecentStates<{ sig: Hex; address: Address; ok: boolean }>(VERIFIED_KEPT);
  /** Peers that sent us a single `channel-sync`: they know no batch, and get one sync per channel. */
  readonly singleSyncPeers = new Set<string>();
  readonly apps: ReadonlyMap<string, App>;
  unsubscribe: (() => void) | undefined;
  closed = false;

  constructor(
    options: ChannelClientOptions,
    readonly emit: (e: ClientEvent) => void,
  ) {
    this.o = { responseTimeoutMs: 30_000, chainPollMs: 250, concludeWaitMs: 5_000, ...options };
    this.apps = new Map((options.apps ?? []).map((a) => [a.address.toLowerCase(), a]));
  }

  get address(): Address {
    return this.o.signer.address;
  }

  /** The channel with this ID, if we hold it. */
  get(id: Hex): Channel | undefined {
    return this.channels.get(id.toLowerCase());
  }

  /** The transition rule of the channel's app, for checkUpdate; undefined for a channel without app. */
  appRule(entry: Channel): AppRule | undefined {
    const address = entry.machine.params.app;
    if (sameHex(address, ZERO_APP)) return undefined;
    const app = this.apps.get(address.toLowerCase());
    if (app === undefined) {
      // Restored from a store written with the app, by a client that no longer has it.
      return () => {
        throw new InvalidTransitionError('APP_RULE', `unknown app ${address}`, { app: address });
      };
    }
    return (params, from, to, actor) => app.validTransition(params, from, to, actor);
  }

  /** The channel with this ID; UNKNOWN_CHANNEL if we hold none. */
  entry(id: Hex): Channel {
    const e = this.channels.get(String(id).toLowerCase());
    if (e === undefined)
      throw new ChannelClientError('UNKNOWN_CHANNEL', 'unknown channel', { channelId: id });
    return e;
  }

  add(id: Hex, peer: string, machine: ChannelMachine, persistedPhase: Phase): Channel {
    const entry = new Channel(id, peer, machine, persistedPhase);
    this.channels.set(id.toLowerCase(), entry);
    return entry;
  }

  /**
   * Writes the machine's current state, staged state, used-up version and phase in one
   * transaction. A newly signed state that is a transfer goes into the payment log with it, under
   * the names its update carried (or `v<version>.<asset>`); names the log holds already (a peer
   * reusing one) fall back to those, and the state is written in any case. A deferred state of
   * ours (`defer`) goes with it; if a newer one has replaced it in the machine, it is written first.
   */
  async persist(entry: Channel): Promise<void> {
    const m = entry.machine;
    const done = entry.completed;
    if (done !== undefined) {
      clearTimeout(done.timer);
      entry.completed = undefined;
    }
    try {
      if (done !== undefined && m.version > done.signed.state.version) {
        await this.#writeSigned(entry, done.signed, done.labels, async () => undefined);
        this.emitUpdated(entry, done.signed.state, 'us');
      }
      const from = entry.persistedPhase;
      const cur = m.current;
      const used = m.usedVersion;
      const s = m.staged;
      const staged = entry.stagedPayments;
      const rest = async (tx: ChannelStoreTx) => {
        const labels = s !== undefined && staged?.version === s.state.version ? staged : undefined;
        await tx.saveStagedState(
          entry.id,
          s === undefined
            ? null
            : {
                state: s.state,
                sigs: [...s.sigs],
                ...(labels === undefined
                  ? {}
                  : { payments: { payer: labels.payer, payments: labels.payments } }),
              },
        );
        if (used > entry.persistedUsed) {
          const u = m.usedState;
          await tx.setUsedVersion(
            entry.id,
            used,
            u?.state.version === used ? { state: u.state, sig: u.sig } : undefined,
          );
        }
        if (m.phase !== from) await tx.setPhase(entry.id, m.phase);
      };
      if (cur === undefined || cur.state.version === entry.persistedVersion) {
        await this.o.store.transaction(rest);
      } else {
        const version = cur.state.version;
        const named =
          staged?.version === version
            ? staged
            : done?.signed.state.version === version
              ? done.labels
              : undefined;
        await this.#writeSigned(entry, { state: cur.state, sigs: [...cur.sigs] }, named, rest);
        if (done?.signed.state.version === version) this.emitUpdated(entry, cur.state, 'us');
      }
      entry.persistedUsed = used;
      this.phaseChanged(entry, from);
    } catch (err) {
      // Not written: the channel's next write (or a flush) tries it again.
      if (done !== undefined && entry.persistedVersion < done.signed.state.version) {
        entry.completed ??= { signed: done.signed, labels: done.labels };
      }
      throw err;
    }
  }

  /**
   * Writes the fully signed state `signed` with `rest` in one transaction, its payments logged
   * under the first names the log takes: a sync's, the update's (`named`), the transfer's
   * `v<version>.<asset>`, none.
   */
  async #writeSigned(
    entry: Channel,
    signed: StoredState,
    named: Labelled | undefined,
    rest: (tx: ChannelStoreTx) => Promise<void>,
  ): Promise<void> {
    const version = signed.state.version;
    const synced = entry.syncedPayments?.version === version ? entry.syncedPayments.transfers : undefined;
    const transfer =
      entry.persistedState === undefined ? undefined : transferOf(entry.persistedState, signed.state);
    const candidates: Labelled[][] = [];
    if (synced !== undefined) candidates.push(synced);
    if (named !== undefined) candidates.push([named]);
    if (transfer !== undefined) candidates.push([{ version, ...transfer }]);
    candidates.push([]);
    let paid: Labelled[] = [];
    for (const candidate of candidates) {
      try {
        await this.o.store.transaction(async (tx) => {
          await tx.saveSignedState(entry.id, signed, logged(candidate, signed.state));
          await rest(tx);
        });
        paid = candidate;
        break;
      } catch (err) {
        if (!(err instanceof PaymentExistsError) || candidate.length === 0) throw err;
        this.warn(entry.id, new ChannelClientError('INVALID_PAYMENTS', err.message, err.details), 'update');
      }
    }
    entry.syncedPayments = undefined;
    entry.persistedVersion = version;
    entry.persistedState = signed.state;
    entry.signedPayments = paid;
    for (const wake of [...entry.onNewer]) wake();
  }

  /**
   * Takes `enabled`, our payment update the peer just signed, as written: the machine holds it,
   * and the channel's next write (usually the next update's, one transaction for both) or a timer
   * in DEFER_MS writes it and emits its events. Our signature of it is on disk already (the staged
   * write), and the state only lowers our balance, so a crash before the write loses nothing: the
   * peer holds the state fully signed, and the sync after the restart brings it back.
   */
  defer(entry: Channel, enabled: StoredState, labels: Labelled): void {
    if (entry.completed !== undefined) clearTimeout(entry.completed.timer);
    const timer = setTimeout(() => this.bg(this.flushChannel(entry), entry.id, 'persist'), DEFER_MS);
    entry.completed = { signed: enabled, labels, timer };
  }

  /** Writes the channel's deferred state now, if it has one. */
  async flushChannel(entry: Channel): Promise<void> {
    if (entry.completed === undefined) return;
    await entry.lock.run(async () => {
      if (entry.completed !== undefined) await this.persist(entry);
    });
  }

  /** Writes the deferred state of channel `id` (if we hold it) now, or of every channel. */
  async flush(id?: Hex): Promise<void> {
    const one = id === undefined ? undefined : this.get(id);
    const entries = id === undefined ? [...this.channels.values()] : one === undefined ? [] : [one];
    await Promise.all(entries.map((e) => this.flushChannel(e)));
  }

  phaseChanged(entry: Channel, from: Phase): void {
    const to = entry.machine.phase;
    entry.persistedPhase = to;
    if (to !== from) this.emit({ type: 'phase', channelId: entry.id, from, to });
  }

  warn(channelId: Hex | undefined, error: unknown, context: string): void {
    this.emit({ type: 'warning', channelId, error, context });
  }

  /** Emits `updated`, and the payment it is when our balances only went down or only went up. */
  emitUpdated(entry: Channel, after: State, by: 'us' | 'peer'): void {
    this.emit({
      type: 'updated',
      channelId: entry.id,
      version: after.version,
      by,
      state: copyState(after),
    });
    for (const paid of entry.signedPayments) {
      if (paid.version > after.version) continue;
      const amounts = after.outcome.balances.map(() => 0n);
      for (const p of paid.payments) amounts[p.asset] = amounts[p.asset]! + p.amount;
      this.emit({
        type: paid.payer === entry.machine.idx ? 'payment-sent' : 'payment-received',
        channelId: entry.id,
        version: paid.version,
        amounts,
        payments: paid.payments.map((p) => ({ ...p })),
        state: copyState(after),
      });
    }
  }

  async send(peer: string, msg: ChannelMessage): Promise<void> {
    await this.o.wire.send(peer, msg);
  }

  async ourId(peer: string): Promise<string> {
    return (await this.o.wire.idFor?.(peer)) ?? this.o.wire.id;
  }

  /** Tracks background work so close() can wait for it; its failure becomes a warning event. */
  bg(work: Promise<unknown>, channelId: Hex | undefined, context: string): void {
    const tracked: Promise<void> = work
      .then(
        () => undefined,
        (err: unknown) => this.warn(channelId, err, context),
      )
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /** Runs one on-chain settlement per channel and resolves with what it withdrew; a second request joins the running one. */
  settlement(entry: Channel, flow: () => Promise<WithdrawnAmount[]>): Promise<WithdrawnAmount[]> {
    if (entry.settling === undefined) {
      const p = flow();
      entry.settling = p;
      this.bg(
        p.catch((err: unknown) => {
          entry.settling = undefined;
          throw err;
        }),
        entry.id,
        'settlement',
      );
    }
    return entry.settling;
  }

  /** settlement() that nobody waits for: its failure is reported as a warning (by the tracked flow). */
  settleInBackground(entry: Channel, flow: () => Promise<WithdrawnAmount[]>): void {
    this.settlement(entry, flow).catch(() => undefined);
  }

  /**
   * A state signature check that treats a state the backend cannot even encode as unsigned. A
   * signature found valid is remembered for a few checks: an incoming update is verified before
   * the callbacks and again by the machine when it is staged, and recovery is the costly part. A
   * remembered check counts for the same signature and address on a state of exactly the content
   * it was made on (compared field by field with a private copy).
   */
  verify(state: State, sig: Hex, address: Address, params: Params | undefined): boolean {
    if (this.#verified.find(state, (v) => v.sig === sig && v.address === address) !== undefined) return true;
    const check = (s: State) => {
      try {
        return { sig, address, ok: this.o.backend.verifyState(s, sig, address, params) };
      } catch {
        return { sig, address, ok: false };
      }
    };
    return this.#verified.add(state, check, (v) => v.ok).ok;
  }

  /** verify() as the machine takes it. */
  readonly verifier = (state: State, sig: Hex, address: Address, params?: Params): boolean =>
    this.verify(state, sig, address, params);

  requireOpen(): void {
    if (this.closed || this.unsubscribe === undefined) {
      throw new ChannelClientError('CLIENT_CLOSED', 'the client is not running; call start()');
    }
  }

  /** Resolves once the channel holds a fully signed state newer than `version`, or after `ms`. */
  async newerThan(entry: Channel, version: bigint, ms: number): Promise<void> {
    if (entry.machine.version > version) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      wake = () => {
        if (entry.machine.version > version) resolve();
      };
      entry.onNewer.add(wake);
      timer = setTimeout(resolve, ms);
    }).finally(() => {
      clearTimeout(timer);
      entry.onNewer.delete(wake!);
    });
  }

  /** How long participant 1 lets the peer's concurrent update go first before trying again. */
  get yieldMs(): number {
    return Math.min(this.o.responseTimeoutMs, 1_000);
  }

  /** Waits for `p` (its failure is someone else's to report) at most `ms`. */
  async within(p: Promise<unknown>, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      p.catch(() => undefined),
      new Promise((r) => {
        timer = setTimeout(r, ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** The channels whose latest fully signed state locks funds for `childId` (two for an intermediary). */
  lockers(childId: Hex): Channel[] {
    return [...this.channels.values()].filter((e) => e.locks(childId));
  }

  /** The sub-channel entries a parent state locks, in its locked order (undefined for one we do not know). */
  children(parentState: State): (Channel | undefined)[] {
    return parentState.outcome.locked.map((l) => this.channels.get(l.ID.toLowerCase()));
  }

  /** The fully signed latest states of the sub-channels `parentState` locks, for register. */
  subSigned(parentState: State): SignedState[] {
    return this.children(parentState).map((c, i) => {
      const cur = c?.machine.current;
      if (c === undefined || cur === undefined) {
        throw new ChannelClientError('INVALID_REQUEST', 'a locked sub-channel is unknown to us', {
          channelId: parentState.outcome.locked[i]!.ID,
        });
      }
      return { params: c.machine.params, state: cur.state, sigs: [...cur.sigs] };
    });
  }

  /** Hands the watcher the family's latest states: a parent with its sub-channels. */
  publishFamily(entry: Channel): void {
    const parent = entry.parent ?? entry;
    const cur = parent.machine.current;
    if (parent.watched === undefined || cur === undefined) return;
    try {
      parent.watched.publish(
        { params: parent.machine.params, state: cur.state, sigs: [...cur.sigs] },
        this.subSigned(cur.state),
      );
    } catch (err) {
      this.warn(parent.id, err, 'watch');
    }
  }

  async enterPhase(entry: Channel, phase: Phase): Promise<void> {
    await entry.lock.run(async () => {
      if (entry.machine.phase !== phase && canTransition(entry.machine.phase, phase)) {
        entry.machine.setPhase(phase);
        await this.persist(entry);
      }
    });
  }

  /**
   * Sends our latest fully signed state of every channel shared with `peer` (after a restart or
   * reconnect) in batches, and again every update of ours the peer has not answered: it either
   * signs it or refuses it, and either way the channel is no longer blocked by it. A peer that
   * knows no batch gets one `channel-sync` per channel. The states go as stored, their signatures
   * unchecked (the peer checks every one it adopts; restore checks ours before any use); a channel
   * whose staged state does not verify is left out. A send that fails ends the round (the peer is
   * unreachable) with a warning.
   */
  async sync(peer: string): Promise<void> {
    const shared: Channel[] = [];
    for (const e of this.channels.values()) {
      if (e.peer !== peer || e.observer === true) continue;
      if (e.machine.latest !== undefined && e.machine.phase !== 'Withdrawn') shared.push(e);
    }
    const resends: { entry: Channel; update: ChannelUpdate }[] = [];
    const synced = function* (): Generator<SyncedChannel> {
      for (const entry of shared) {
        const m = entry.machine;
        let update: ChannelUpdate | undefined;
        try {
          update = entry.ourStagedUpdate();
        } catch {
          continue; // its stored signatures do not verify: restore drops it
        }
        const cur = m.latest;
        if (cur === undefined) continue;
        if (update !== undefined) resends.push({ entry, update });
        yield { phase: m.phase, state: cur.state, sigs: [...cur.sigs] };
      }
    };
    try {
      if (this.singleSyncPeers.has(peer)) {
        for (const s of synced()) await this.send(peer, { type: 'channel-sync', ...s });
      } else {
        await this.sendSyncs(peer, synced());
      }
    } catch (err) {
      this.warn(undefined, err, 'sync');
      return;
    }
    for (const { entry, update } of resends) {
      try {
        await this.send(peer, update);
      } catch (err) {
        this.warn(entry.id, err, 'sync');
      }
    }
  }

  /**
   * Sends `channels` to `peer` in batches, each once it is full, up to SYNCS_IN_FLIGHT at once (a
   * batch's channels do not depend on another's); the last, which names `synced` in an answer,
   * goes after the others arrived. The first failed send fails it.
   */
  async sendSyncs(peer: string, channels: Iterable<SyncedChannel>, synced?: readonly Hex[]): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    let failed: unknown;
    let last: ChannelSyncBatch | undefined;
    for (const batch of syncBatches(channels, synced)) {
      if (last !== undefined) {
        const sent: Promise<void> = this.send(peer, last)
          .catch((err: unknown) => void (failed ??= err))
          .finally(() => inFlight.delete(sent));
        inFlight.add(sent);
        if (inFlight.size >= SYNCS_IN_FLIGHT) await Promise.race(inFlight);
      }
      if (failed !== undefined) break;
      last = batch;
    }
    await Promise.all(inFlight);
    if (failed !== undefined) throw failed;
    if (last !== undefined) await this.send(peer, last);
  }

  requirePhase(entry: Channel, phase: Phase): void {
    const now = entry.machine.phase;
    if (now === phase) return;
    throw new ChannelClientError(
      CLOSED_PHASES.includes(now) ? 'CHANNEL_CLOSED' : 'CHANNEL_BUSY',
      `the channel is ${now}, not ${phase}`,
      { channelId: entry.id, phase: now },
    );
  }
}
