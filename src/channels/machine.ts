// The channel state machine (go-perun channel/machine.go, docs/protocol.md §9): the phase of
// one channel and its explicit transition table, the channel's params, our participant index,
// the latest fully signed state with every signature, the staged state with the signatures
// collected so far, and the highest version of a state we signed that was dropped (a used-up
// version: we never sign two different states with one version). It validates every staged state (validation.ts) and every signature it
// adds (through an injected verifier), never does I/O and never signs: the client signs and
// sends, the store persists `snapshot()` and rebuilds the machine with `restore()`.
import {
  ChannelMachineError,
  IllegalTransitionError,
  InvalidSnapshotError,
  InvalidStateError,
  SignatureError,
} from './errors.js';
import {
  field,
  paramsFromJson,
  paramsToJson,
  readBytes32,
  readBigint,
  readIndex,
  readObject,
  sigsFromJson,
  stateFromJson,
  stateToJson,
  type JsonObject,
} from './json.js';
import type { StateVerifier } from './interfaces.js';
import { copyState } from './copy.js';
import { isPhase, type Address, type Hex, type Params, type Phase, type State } from './types.js';
import {
  checkUpdate,
  MAX_UINT64,
  validateParams,
  validateState,
  type CheckUpdateOptions,
} from './validation.js';

const sameTransition = (a: State, b: State): boolean =>
  JSON.stringify(stateToJson(a)) === JSON.stringify(stateToJson(b));

/**
 * Every allowed phase change. go-perun's table plus its extra rules written out: a dispute can
 * start from any phase from Funding on (Registering/Registered, again when a newer state is
 * registered), withdrawing follows Final, Registered or Progressed. Withdrawn is terminal.
 * Acting → Final is ours: adopting a peer's newer fully signed final state (installSigned).
 */
export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  InitActing: ['InitSigning'],
  InitSigning: ['Funding'],
  Funding: ['Acting', 'Registering', 'Registered'],
  Acting: ['Signing', 'Final', 'Registering', 'Registered'],
  Signing: ['Acting', 'Final', 'Registering', 'Registered'],
  Final: ['Registering', 'Registered', 'Withdrawing'],
  Registering: ['Registered'],
  Registered: ['Registering', 'Registered', 'Progressing', 'Progressed', 'Withdrawing'],
  Progressing: ['Progressed', 'Registering', 'Registered'],
  Progressed: ['Progressing', 'Progressed', 'Registering', 'Registered', 'Withdrawing'],
  Withdrawing: ['Withdrawn'],
  Withdrawn: [],
};

export function canTransition(from: Phase, to: Phase): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Transitions that carry a staged state; only init/stage/enable/discard/installSigned make
 * them (setPhase refuses them), so the phase and the staged state cannot disagree.
 */
const STAGING_EDGES = new Set([
  'InitActing>InitSigning',
  'InitSigning>Funding',
  'Acting>Signing',
  'Acting>Final',
  'Signing>Acting',
  'Signing>Final',
]);

export type { StateVerifier };

/** A state with one signature per participant, in participant order. */
export interface Transaction {
  state: State;
  sigs: Hex[];
}

/** A state being signed: missing signatures are null; `actor` proposed it. */
export interface StagedTransaction {
  state: State;
  sigs: (Hex | null)[];
  actor: number;
}

export interface MachineInit {
  params: Params;
  /** The channel ID the backend computed from params (ChannelBackend.channelId). */
  channelID: Hex;
  /** Our index in params.participants. */
  idx: number;
}

/** JSON-safe picture of a machine (bigints as decimal strings); `format` versions the layout. */
export interface MachineSnapshot {
  format: 1;
  params: JsonObject;
  channelID: Hex;
  idx: number;
  phase: Phase;
  current: { state: JsonObject; sigs: Hex[] } | null;
  staged: { state: JsonObject; sigs: (Hex | null)[]; actor: number } | null;
  /** The highest used-up version (decimal), absent when none. */
  usedVersion?: string;
  /** Our signed state at usedVersion, when it is known. */
  usedState?: { state: JsonObject; sig: Hex };
}

/** A state we signed alone. */
export interface OwnSigned {
  state: State;
  sig: Hex;
}

export class ChannelMachine {
  readonly params: Params;
  readonly channelID: Hex;
  readonly idx: number;
  readonly #verify: StateVerifier;
  #phase: Phase = 'InitActing';
  #current: Transaction | undefined;
  #staged: StagedTransaction | undefined;
  #used = -1n;
  #usedState: OwnSigned | undefined;
  /** Signature checks restore left for later; undefined once done (or never left). */
  #unchecked: (() => void)[] | undefined;
  #broken: InvalidSnapshotError | undefined;

  private constructor(init: MachineInit, verifier: StateVerifier) {
    validateParams(init.params);
    if (!Number.isInteger(init.idx) || init.idx < 0 || init.idx >= init.params.participants.length) {
      throw new ChannelMachineError('INVALID_INDEX', 'our index is not a participant', { idx: init.idx });
    }
    this.params = structuredClone(init.params);
    this.channelID = init.channelID;
    this.idx = init.idx;
    this.#verify = verifier;
  }

  /** A new channel in phase InitActing, before the initial state is agreed. */
  static create(init: MachineInit, verifier: StateVerifier): ChannelMachine {
    return new ChannelMachine(init, verifier);
  }

  get phase(): Phase {
    return this.#phase;
  }

  get numParts(): number {
    return this.params.participants.length;
  }

  /** The latest fully signed state and its signatures (undefined before the initial state is). Do not mutate. */
  get current(): Readonly<Transaction> | undefined {
    this.check();
    return this.#current;
  }

  /** `current` without checking stored signatures restore left for later: to show, never to use. */
  get latest(): Readonly<Transaction> | undefined {
    return this.#current;
  }

  /** The state being signed, if any. Do not mutate. */
  get staged(): Readonly<StagedTransaction> | undefined {
    this.check();
    return this.#staged;
  }

  /** Version of the latest fully signed state, -1n before there is one. */
  get version(): bigint {
    return this.#current?.state.version ?? -1n;
  }

  get isFinal(): boolean {
    return this.#current?.state.isFinal ?? false;
  }

  /**
   * The highest version of a state we signed that was dropped without becoming current (rejected,
   * undelivered, superseded); -1n if none. No new state may take a version at or below it.
   */
  get usedVersion(): bigint {
    return this.#used;
  }

  /**
   * The state we signed at usedVersion and dropped: the peer may hold it, so it is the only state
   * we may sign at that version again (an app channel progressed on chain needs exactly it).
   */
  get usedState(): Readonly<OwnSigned> | undefined {
    this.check();
    return this.#usedState;
  }

  /** The lowest version a new state we sign may have: above the current, staged and used-up versions. */
  get nextVersion(): bigint {
    let v = this.version;
    if (
      this.#staged !== undefined &&
      this.#staged.sigs[this.idx] !== null &&
      this.#staged.state.version > v
    ) {
      v = this.#staged.state.version;
    }
    return (v > this.#used ? v : this.#used) + 1n;
  }

  /** Stages the initial state (version 0): InitActing → InitSigning. */
  init(state: State): void {
    this.#expect('InitSigning');
    if (this.#current !== undefined || this.#staged !== undefined) {
      throw new ChannelMachineError('ALREADY_INITIALIZED', 'the initial state is already staged');
    }
    if (state.version !== 0n) {
      throw new InvalidStateError('VERSION_OUT_OF_RANGE', 'the initial state must have version 0', {
        version: String(state.version),
      });
    }
    validateState(this.params, state, { channelID: this.channelID });
    this.#staged = { state: structuredClone(state), sigs: this.#noSigs(), actor: this.idx };
    this.#phase = 'InitSigning';
  }

  /**
   * Stages an update of the current state proposed by participant `opts.actor`: Acting → Signing.
   * Refuses with ChannelMachineError ALREADY_STAGED while another update is staged, with
   * InvalidTransitionError if `next` is not a valid successor (VERSION_USED for a version at or
   * below one we used up), with IllegalTransitionError in any other phase than Acting.
   */
  stage(next: State, opts: Omit<CheckUpdateOptions, 'minVersion'> & { actor: number }): void {
    if (this.#staged !== undefined) {
      throw new ChannelMachineError('ALREADY_STAGED', 'another update is being signed', {
        staged: String(this.#staged.state.version),
      });
    }
    const current = this.#requireCurrent();
    checkUpdate(this.params, current.state, next, { ...opts, minVersion: this.nextVersion });
    this.#expect('Signing');
    this.#staged = { state: copyState(next), sigs: this.#noSigs(), actor: opts.actor };
    this.#phase = 'Signing';
  }

  /** Adds participant `idx`'s signature on the staged state after verifying it (SignatureError otherwise). */
  addSignature(idx: number, sig: Hex): void {
    const staged = this.#requireStaged();
    const part = this.#participant(idx);
    if (staged.sigs[idx] === sig) return;
    if (!this.#verify(staged.state, sig, part, this.params)) {
      throw new SignatureError('invalid signature on the staged state', {
        channelID: this.channelID,
        version: String(staged.state.version),
        idx,
        signer: part,
      });
    }
    staged.sigs[idx] = sig;
  }

  /** Adds our own signature on the staged state without verifying it (our signer made it). */
  addOwnSignature(sig: Hex): void {
    this.#requireStaged().sigs[this.idx] = sig;
  }

  /** Indices of the participants whose signature on the staged state is missing. */
  missingSignatures(): number[] {
    const staged = this.#requireStaged();
    return staged.sigs.flatMap((s, i) => (s === null ? [i] : []));
  }

  /**
   * Makes the fully signed staged state current: InitSigning → Funding, Signing → Acting, or
   * Signing → Final for a final state. Returns the new current transaction.
   */
  enable(): Readonly<Transaction> {
    const staged = this.#requireStaged();
    const missing = this.missingSignatures();
    if (missing.length > 0) {
      throw new ChannelMachineError('MISSING_SIGNATURES', 'not every participant signed the staged state', {
        missing,
        version: String(staged.state.version),
      });
    }
    const to: Phase = this.#phase === 'InitSigning' ? 'Funding' : staged.state.isFinal ? 'Final' : 'Acting';
    this.#expect(to);
    this.#current = { state: staged.state, sigs: staged.sigs as Hex[] };
    this.#staged = undefined;
    this.#phase = to;
    return this.#current;
  }

  /** Drops the staged update (rejected, undelivered, beaten): Signing → Acting; a version we signed is used up. */
  discard(): void {
    this.#requireStaged();
    this.#expect('Acting');
    this.#dropStaged();
    this.#phase = 'Acting';
  }

  /**
   * Moves to `to` along the transition table (funded, registering, registered, progressing,
   * progressed, withdrawing, withdrawn). Phases that carry a staged state are entered and left
   * by init/stage/enable/discard only. Leaving Signing for a dispute drops the staged state: it
   * is not fully signed and cannot be registered. Setting a phase the table links to itself
   * (Registered → Registered) is allowed.
   */
  setPhase(to: Phase): void {
    if (STAGING_EDGES.has(`${this.#phase}>${to}`) || to === 'InitSigning' || to === 'Signing') {
      throw new IllegalTransitionError(this.#phase, to, {
        hint: 'states are staged and enabled with init/stage/enable/discard',
      });
    }
    this.#expect(to);
    if (to !== 'Acting' && this.#phase === 'Signing') this.#dropStaged();
    this.#phase = to;
  }

  /**
   * Adopts a state every participant signed that is newer than the current one (a peer's
   * ChannelSync, a state registered on chain). Every signature is verified; the current state's
   * rules are not re-checked, because our own signature is among them. A staged state is superseded
   * and dropped; InitSigning becomes Funding, Signing becomes Acting (or Final), Acting
   * becomes Final for a final state; dispute phases stay.
   */
  installSigned(state: State, sigs: readonly Hex[]): Readonly<Transaction> {
    this.check();
    const allowed: readonly Phase[] = [
      'InitSigning',
      'Funding',
      'Acting',
      'Signing',
      'Registering',
      'Registered',
      'Progressing',
      'Progressed',
    ];
    if (!allowed.includes(this.#phase)) {
      throw new IllegalTransitionError(this.#phase, this.#phase, {
        reason: 'cannot adopt a newer state now',
      });
    }
    if (state.version <= this.version) {
      throw new ChannelMachineError('NOT_NEWER', 'the state is not newer than the current one', {
        current: String(this.version),
        offered: String(state.version),
      });
    }
    validateState(this.params, state, { channelID: this.channelID });
    this.#verifyAll(state, sigs);
    let to: Phase = this.#phase;
    if (this.#phase === 'InitSigning') to = 'Funding';
    else if (this.#phase === 'Signing' || this.#phase === 'Acting') to = state.isFinal ? 'Final' : 'Acting';
    this.#current = { state: structuredClone(state), sigs: [...sigs] };
    // A staged state is superseded; if we signed it and it is not this state, its version is used up.
    if (this.#staged !== undefined && !sameTransition(this.#staged.state, state)) this.#dropStaged();
    this.#staged = undefined;
    this.#phase = to;
    return this.#current;
  }

  /** A JSON-safe copy of everything the machine holds. */
  snapshot(): MachineSnapshot {
    this.check();
    return {
      format: 1,
      params: paramsToJson(this.params),
      channelID: this.channelID,
      idx: this.idx,
      phase: this.#phase,
      current:
        this.#current === undefined
          ? null
          : { state: stateToJson(this.#current.state), sigs: [...this.#current.sigs] },
      staged:
        this.#staged === undefined
          ? null
          : {
              state: stateToJson(this.#staged.state),
              sigs: [...this.#staged.sigs],
              actor: this.#staged.actor,
            },
      ...(this.#used >= 0n ? { usedVersion: this.#used.toString() } : {}),
      ...(this.#usedState === undefined
        ? {}
        : { usedState: { state: stateToJson(this.#usedState.state), sig: this.#usedState.sig } }),
    };
  }

  /**
   * Rebuilds a machine from `snapshot()` output (possibly after a JSON round trip). Throws
   * InvalidSnapshotError if it is malformed or inconsistent, or (unless `verify: false`) if a
   * signature in it does not verify. With `verify: 'later'` the signatures are checked by
   * `check()`, which everything that uses the states runs first: reading `current`, `staged` or
   * `usedState`, any change, `snapshot()`; only `latest` and `version` read them unchecked.
   */
  static restore(
    snapshot: unknown,
    verifier: StateVerifier,
    opts: { verify?: boolean | 'later' } = {},
  ): ChannelMachine {
    try {
      return ChannelMachine.#restore(snapshot, verifier, opts.verify ?? true);
    } catch (err) {
      if (err instanceof InvalidSnapshotError) throw err;
      throw new InvalidSnapshotError(
        `cannot restore the channel machine: ${err instanceof Error ? err.message : String(err)}`,
        {},
        { cause: err },
      );
    }
  }

  static #restore(snapshot: unknown, verifier: StateVerifier, verify: boolean | 'later'): ChannelMachine {
    const o = readObject(snapshot, 'snapshot');
    if (field(o, 'format', 'snapshot') !== 1) throw new InvalidSnapshotError('unknown snapshot format');
    const params = paramsFromJson(field(o, 'params', 'snapshot'), 'snapshot.params');
    const channelID = readBytes32(field(o, 'channelID', 'snapshot'), 'snapshot.channelID');
    const idx = readIndex(field(o, 'idx', 'snapshot'), 'snapshot.idx');
    const phase = field(o, 'phase', 'snapshot');
    if (!isPhase(phase)) throw new InvalidSnapshotError('unknown phase', { phase: String(phase) });
    const m = new ChannelMachine({ params, channelID, idx }, verifier);
    const n = m.numParts;
    const checks: (() => void)[] = [];

    const cur = field(o, 'current', 'snapshot');
    if (cur !== null) {
      const c = readObject(cur, 'snapshot.current');
      const state = stateFromJson(field(c, 'state', 'snapshot.current'), 'snapshot.current.state');
      const sigs = sigsFromJson(field(c, 'sigs', 'snapshot.current'), 'snapshot.current.sigs');
      validateState(params, state, { channelID });
      if (sigs.length !== n || sigs.some((s) => s === null)) {
        throw new InvalidSnapshotError('the current state lacks signatures');
      }
      checks.push(() => m.#verifyAll(state, sigs as Hex[]));
      m.#current = { state, sigs: sigs as Hex[] };
    }
    const st = field(o, 'staged', 'snapshot');
    if (st !== null) {
      const s = readObject(st, 'snapshot.staged');
      const state = stateFromJson(field(s, 'state', 'snapshot.staged'), 'snapshot.staged.state');
      const sigs = sigsFromJson(field(s, 'sigs', 'snapshot.staged'), 'snapshot.staged.sigs');
      const actor = readIndex(field(s, 'actor', 'snapshot.staged'), 'snapshot.staged.actor');
      validateState(params, state, { channelID });
      if (sigs.length !== n || actor >= n)
        throw new InvalidSnapshotError('the staged state does not fit the channel');
      checks.push(() =>
        sigs.forEach((sig, i) => {
          if (sig !== null && !verifier(state, sig, params.participants[i]!.ethAddress, params)) {
            throw new InvalidSnapshotError('a signature on the staged state does not verify', { idx: i });
          }
        }),
      );
      m.#staged = { state, sigs, actor };
    }
    const staging = phase === 'InitSigning' || phase === 'Signing';
    if (staging !== (m.#staged !== undefined)) {
      throw new InvalidSnapshotError('the phase and the staged state disagree', { phase });
    }
    if ((phase === 'InitActing' || phase === 'InitSigning') !== (m.#current === undefined)) {
      throw new InvalidSnapshotError('the phase and the current state disagree', { phase });
    }
    if (o.usedVersion !== undefined) {
      m.#used = readBigint(o.usedVersion, 'snapshot.usedVersion', MAX_UINT64);
    }
    if (o.usedState !== undefined) {
      const u = readObject(o.usedState, 'snapshot.usedState');
      const state = stateFromJson(field(u, 'state', 'snapshot.usedState'), 'snapshot.usedState.state');
      const [sig] = sigsFromJson([field(u, 'sig', 'snapshot.usedState')], 'snapshot.usedState.sig');
      validateState(params, state, { channelID });
      if (state.version !== m.#used || sig === null || sig === undefined) {
        throw new InvalidSnapshotError('the used state does not fit the used version');
      }
      checks.push(() => {
        if (!verifier(state, sig, params.participants[idx]!.ethAddress, params)) {
          throw new InvalidSnapshotError('our signature on the used state does not verify');
        }
      });
      m.#usedState = { state, sig };
    }
    m.#phase = phase;
    if (verify === 'later') m.#unchecked = checks;
    else if (verify) for (const c of checks) c();
    return m;
  }

  /** Whether the signatures of a machine restored with `verify: 'later'` are checked yet. */
  get checked(): boolean {
    return this.#unchecked === undefined;
  }

  /**
   * Checks the signatures restore left for later (once): InvalidSnapshotError if one does not
   * verify, then and on every later use of the states.
   */
  check(): void {
    const checks = this.#unchecked;
    if (checks === undefined) return;
    if (this.#broken !== undefined) throw this.#broken;
    try {
      for (const c of checks) c();
    } catch (err) {
      this.#broken =
        err instanceof InvalidSnapshotError
          ? err
          : new InvalidSnapshotError('a stored signature does not verify', {}, { cause: err });
      throw this.#broken;
    }
    this.#unchecked = undefined;
  }

  // -------------------------------------------------------------------------------------------

  #expect(to: Phase): void {
    this.check();
    if (!canTransition(this.#phase, to)) throw new IllegalTransitionError(this.#phase, to);
  }

  /** Forgets the staged state; a version we signed in it is used up. */
  #dropStaged(): void {
    const s = this.#staged;
    if (s !== undefined && s.sigs[this.idx] !== null && s.state.version > this.#used) {
      this.#used = s.state.version;
      this.#usedState = { state: s.state, sig: s.sigs[this.idx]! };
    }
    this.#staged = undefined;
  }

  #noSigs(): (Hex | null)[] {
    return Array.from({ length: this.numParts }, () => null);
  }

  #participant(idx: number): Address {
    const p = Number.isInteger(idx) ? this.params.participants[idx] : undefined;
    if (p === undefined) throw new ChannelMachineError('INVALID_INDEX', 'no such participant', { idx });
    return p.ethAddress;
  }

  #requireCurrent(): Transaction {
    this.check();
    if (this.#current === undefined) {
      throw new ChannelMachineError('NOT_INITIALIZED', 'the channel has no fully signed state yet', {
        phase: this.#phase,
      });
    }
    return this.#current;
  }

  #requireStaged(): StagedTransaction {
    this.check();
    if (this.#staged === undefined) {
      throw new ChannelMachineError('NO_STAGED_STATE', 'no state is being signed', { phase: this.#phase });
    }
    return this.#staged;
  }

  #verifyAll(state: State, sigs: readonly Hex[]): void {
    if (sigs.length !== this.numParts) {
      throw new ChannelMachineError('MISSING_SIGNATURES', 'one signature per participant is required', {
        count: sigs.length,
      });
    }
    sigs.forEach((sig, i) => {
      const signer = this.params.participants[i]!.ethAddress;
      if (typeof sig !== 'string' || !this.#verify(state, sig, signer, this.params)) {
        throw new SignatureError('invalid signature', {
          channelID: this.channelID,
          version: String(state.version),
          idx: i,
          signer,
        });
      }
    });
  }
}
