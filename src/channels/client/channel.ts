// One channel as the client holds it (go-perun's Channel): its machine, the two locks that order
// what happens to it, what is known to be persisted, the update waiting for the peer's answer and
// its on-chain settlement. Every change of the machine happens under `lock`; local operations
// (update, close, dispute) run one at a time under `local`.
import type { SignedState, WatchedChannel, WithdrawnAmount } from '../interfaces.js';
import { copyParams, copyState } from '../copy.js';
import type { ChannelMachine } from '../machine.js';
import type { ChannelUpdate } from '../messages.js';
import type { SignedState as StoredState } from '../store.js';
import { Mutex } from '../persistence/mutex.js';
import { identityMap, pairMap } from '../subchannel.js';
import type { Address, Hex, PaymentRecord, Phase, State } from '../types.js';
import type { VersionTransfer } from '../transfer.js';
import { sameHex } from '../validation.js';
import type { ChannelInfo } from './types.js';

/** The peer's answer to our update. `conflict`: try again; with `wait`, once the peer's update that went first is signed. */
export type Answer =
  | { kind: 'accepted'; state: State }
  | { kind: 'rejected'; reason: string; code?: string }
  | { kind: 'conflict'; wait: boolean };

export interface Pending {
  version: bigint;
  resolve: (a: Answer) => void;
  /**
   * Our update, signed and sent, that we dropped to sign the peer's newer concurrent one. The
   * peer may still have signed it first (its update then builds on ours), so its answer decides.
   */
  yielded?: State;
}

/** The payments of the state at `version`, all by participant `payer`. */
export interface Labelled {
  version: bigint;
  payer: number;
  payments: PaymentRecord[];
  /** The balances after them, [asset][participant], for a version before the latest one. */
  balances?: bigint[][];
}

/** A fully signed state of ours waiting for its write, with the payments it carries. */
export interface Completed {
  signed: StoredState;
  labels: Labelled;
  /** Writes it if nothing else has by then; none after a failed write (the next one retries). */
  timer?: ReturnType<typeof setTimeout>;
}

/** A payment waiting for an update, with its caller's promise. */
export interface QueuedPayment {
  payment: PaymentRecord;
  resolve: (state: State) => void;
  reject: (err: unknown) => void;
}

export class Channel {
  /** The sub-channels and virtual channels this ledger channel funds (each one's `parent` keeps it). */
  readonly children = new Set<Channel>();
  #parent: Channel | undefined;
  /** We are the intermediary of this virtual channel (a copy of its states, never signed by us). */
  observer?: boolean;
  /** Serializes machine changes and their persistence (short critical sections). */
  readonly lock = new Mutex();
  /** Serializes local operations (update, close, dispute); held while waiting for the peer. */
  readonly local = new Mutex();
  pending?: Pending;
  persistedVersion = -1n;
  persistedUsed = -1n;
  /** The lowest version the peer said it would sign (its used-up version + 1), from a VERSION_USED refusal. */
  peerMinVersion?: bigint;
  /** Called whenever a newer fully signed state is persisted. */
  readonly onNewer = new Set<() => void>();
  watched?: WatchedChannel;
  /** The on-chain settlement in progress (dispute, conclusion, withdrawal), if any. */
  settling?: Promise<WithdrawnAmount[]>;
  /** The latest state seen registered on chain with its signatures (from watcher events). */
  registered?: SignedState;
  /** Counts the chain events seen for this channel: a dispute flow waiting for a timeout wakes on one. */
  chainEvents = 0;
  /** Responder side: fires when the proposer never sends its version-0 signature. */
  openTimer?: ReturnType<typeof setTimeout>;
  /** Our funding in progress: the peer may see the channel funded first and send an update. */
  funding?: Promise<void>;
  /** The payments of the staged update (ours or the peer's), kept with it until it is signed. */
  stagedPayments?: Labelled;
  /** The payments the log recorded with the latest signed state, per version (a sync may bring several). */
  signedPayments: Labelled[] = [];
  /** The payments of the versions up to `version` a peer told us in a sync, checked, for the next persist. */
  syncedPayments?: { version: bigint; transfers: VersionTransfer[] };
  /** The latest signed state the store holds (what the next one's payments are measured from). */
  persistedState?: State;
  /** Payments asked of us, waiting for the next update (payments.ts). */
  readonly outbox: QueuedPayment[] = [];
  /** Whether payments.ts is draining the outbox. */
  paying = false;
  /**
   * We made the peer's concurrent update wait for ours (participant 0 goes first): our next
   * update lets the peer's next one go first.
   */
  owedTurn = false;
  /** One of our updates is being proposed (from its first attempt to its last answer). */
  proposing = false;
  /**
   * Our payment update the peer signed, not yet in the store (ClientContext.defer): the next
   * write of the channel takes it along, or a short timer writes it.
   */
  completed?: Completed;
  /** We compared states with the peer since the start (a restored channel starts without). */
  synced = true;

  constructor(
    readonly id: Hex,
    /** Wire ID of the other participant. */
    readonly peer: string,
    readonly machine: ChannelMachine,
    /** The phase the store holds. */
    public persistedPhase: Phase,
  ) {}

  /** The ledger channel funding this sub-channel or virtual channel (ours, for a virtual channel). */
  get parent(): Channel | undefined {
    return this.#parent;
  }

  set parent(parent: Channel | undefined) {
    this.#parent?.children.delete(this);
    this.#parent = parent;
    parent?.children.add(this);
  }

  /** The other participant's address. */
  get peerAddress(): Address {
    return this.machine.params.participants[1 - this.machine.idx]!.ethAddress;
  }

  /** Whether our latest fully signed state locks funds for `childId`. */
  locks(childId: Hex): boolean {
    return this.machine.latest?.state.outcome.locked.some((l) => sameHex(l.ID, childId)) ?? false;
  }

  /**
   * How this child's participants map onto its parent's: a sub-channel's are the parent's; a
   * virtual channel's other participant is the intermediary, the other participant of our parent.
   */
  indexMap(): number[] {
    if (!this.machine.params.virtualChannel) return identityMap(2);
    return pairMap(this.machine.idx, this.parent!.machine.idx);
  }

  /** Our update being signed, as the message that proposes it (to send it again), or undefined. */
  ourStagedUpdate(): ChannelUpdate | undefined {
    const m = this.machine;
    if (m.phase !== 'Signing') return undefined;
    const s = m.staged;
    if (s === undefined || s.actor !== m.idx) return undefined;
    const labels =
      this.stagedPayments?.version === s.state.version ? this.stagedPayments.payments : undefined;
    return {
      type: 'channel-update',
      state: s.state,
      actorIdx: m.idx,
      sig: s.sigs[m.idx]!,
      ...(labels === undefined ? {} : { payments: labels }),
    };
  }

  /** Hands the peer's answer to our update of `version`, if that update still waits for one. */
  answer(version: bigint, a: Answer): void {
    if (this.pending?.version === version) this.pending.resolve(a);
  }

  info(): ChannelInfo {
    const cur = this.machine.latest;
    return {
      id: this.id,
      peer: this.peer,
      idx: this.machine.idx,
      params: copyParams(this.machine.params),
      phase: this.machine.phase,
      state: cur === undefined ? undefined : copyState(cur.state),
      synced: this.synced,
      ...(this.parent === undefined ? {} : { parent: this.parent.id }),
      ...(this.observer === true ? { observer: true as const } : {}),
      queuedPayments: this.outbox.length,
    };
  }
}
