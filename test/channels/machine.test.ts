// Channel machine scenarios: Alice's view of her channel with Bob from the proposal through
// payments to a cooperative close or a dispute; signatures checked with the real Ethereum
// verifier; every phase pair tried against the transition table; snapshots surviving a JSON
// round trip and refusing tampering.
import {
  ChannelMachineError,
  IllegalTransitionError,
  InvalidSnapshotError,
  InvalidStateError,
  InvalidTransitionError,
  SignatureError,
} from '../../src/channels/errors.js';
import {
  ChannelMachine,
  TRANSITIONS,
  canTransition,
  type MachineSnapshot,
} from '../../src/channels/machine.js';
import { PHASES, type Phase, type State } from '../../src/channels/types.js';
import { CHANNEL_ID, PARAMS, alice, bob, edit, mallory, pay, state, verify } from './fixtures.js';

/** Alice's machine with version 0 enabled and the channel funded (phase Acting). */
function openChannel(): ChannelMachine {
  const m = ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 0 }, verify);
  const v0 = state(0n);
  m.init(v0);
  m.addOwnSignature(alice.signState(v0));
  m.addSignature(1, bob.signState(v0));
  m.enable();
  m.setPhase('Acting');
  return m;
}

/** Alice pays Bob `amount` and Bob accepts. */
function payBob(m: ChannelMachine, amount: bigint): State {
  const next = pay(m.current!.state, 0, 1, amount);
  m.stage(next, { actor: 0 });
  m.addOwnSignature(alice.signState(next));
  m.addSignature(1, bob.signState(next));
  m.enable();
  return next;
}

const roundTrip = (m: ChannelMachine): ChannelMachine =>
  ChannelMachine.restore(JSON.parse(JSON.stringify(m.snapshot())) as unknown, verify);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

describe('opening', () => {
  it('goes InitActing → InitSigning → Funding → Acting once both signed version 0', () => {
    const m = ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 0 }, verify);
    expect(m.phase).toBe('InitActing');
    expect(m.version).toBe(-1n);
    const v0 = state(0n);
    m.init(v0);
    expect(m.phase).toBe('InitSigning');
    m.addOwnSignature(alice.signState(v0));
    expect(m.missingSignatures()).toEqual([1]);
    expect(() => m.enable()).toThrow(ChannelMachineError);
    m.addSignature(1, bob.signState(v0));
    m.enable();
    expect(m.phase).toBe('Funding');
    expect(m.current!.sigs).toHaveLength(2);
    m.setPhase('Acting');
    expect(m.version).toBe(0n);
  });

  it('refuses an initial state of another version or channel', () => {
    const m = ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 0 }, verify);
    expect(() => m.init(state(1n))).toThrow(InvalidStateError);
    const other = edit(state(0n), (s) => (s.channelID = '0x' + '03'.repeat(32)));
    expect((thrown(() => m.init(other)) as InvalidStateError).code).toBe('CHANNEL_MISMATCH');
    expect(m.phase).toBe('InitActing');
  });

  it('refuses our index outside the participants', () => {
    expect(() => ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 2 }, verify)).toThrow(
      ChannelMachineError,
    );
  });

  it('cannot skip funding by setting phases', () => {
    const m = ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 0 }, verify);
    const err = thrown(() => m.setPhase('Acting')) as IllegalTransitionError;
    expect(err).toBeInstanceOf(IllegalTransitionError);
    expect([err.from, err.to]).toEqual(['InitActing', 'Acting']);
    expect(() => m.setPhase('InitSigning')).toThrow(IllegalTransitionError);
  });
});

describe('updates', () => {
  it('Alice pays Bob three times; each payment goes Acting → Signing → Acting', () => {
    const m = openChannel();
    for (const amount of [10n, 20n, 30n]) {
      const next = pay(m.current!.state, 0, 1, amount);
      m.stage(next, { actor: 0 });
      expect(m.phase).toBe('Signing');
      m.addOwnSignature(alice.signState(next));
      m.addSignature(1, bob.signState(next));
      m.enable();
      expect(m.phase).toBe('Acting');
    }
    expect(m.version).toBe(3n);
    expect(m.current!.state.outcome.balances[0]).toEqual([40n, 110n]);
  });

  it('a forged or wrong signature is refused and changes nothing', () => {
    const m = openChannel();
    const next = pay(m.current!.state, 0, 1, 5n);
    m.stage(next, { actor: 0 });
    expect(() => m.addSignature(1, mallory.signState(next))).toThrow(SignatureError);
    expect(() => m.addSignature(1, bob.signState(state(0n)))).toThrow(SignatureError);
    expect(() => m.addSignature(1, '0x' + '00'.repeat(65))).toThrow(SignatureError);
    expect(() => m.addSignature(2, bob.signState(next))).toThrow(ChannelMachineError);
    expect(m.missingSignatures()).toEqual([0, 1]);
  });

  it('an invalid update is refused with the transition code and nothing is staged', () => {
    const m = openChannel();
    const bad = edit(pay(m.current!.state, 0, 1, 5n), (s) => (s.outcome.balances[0]![1]! += 1n));
    const err = thrown(() => m.stage(bad, { actor: 0 })) as InvalidTransitionError;
    expect(err).toBeInstanceOf(InvalidTransitionError);
    expect(err.code).toBe('NOT_CONSERVED');
    expect(m.phase).toBe('Acting');
    expect(m.staged).toBeUndefined();
  });

  it('only one update is in flight; a rejected one is discarded', () => {
    const m = openChannel();
    const first = pay(m.current!.state, 0, 1, 5n);
    m.stage(first, { actor: 0 });
    const err = thrown(() => m.stage(pay(m.current!.state, 1, 0, 1n), { actor: 1 })) as ChannelMachineError;
    expect(err.code).toBe('ALREADY_STAGED');
    m.discard();
    expect(m.phase).toBe('Acting');
    expect(m.version).toBe(0n);
    expect(() => m.discard()).toThrow(ChannelMachineError);
    payBob(m, 5n);
    expect(m.version).toBe(1n);
  });

  it('keeps its own copies: changing the staged object afterwards changes nothing', () => {
    const m = openChannel();
    const next = pay(m.current!.state, 0, 1, 5n);
    m.stage(next, { actor: 0 });
    next.outcome.balances[0]![0] = 0n;
    expect(m.staged!.state.outcome.balances[0]![0]).toBe(95n);
  });

  it('a final update leads to Final, after which no update is possible', () => {
    const m = openChannel();
    // Unlock the sub-channel's funds first (a ledger channel may only be final without locked funds).
    const unlock = edit(m.current!.state, (s) => {
      s.version += 1n;
      s.outcome.balances[0]![0]! += 10n;
      s.outcome.balances[1]![1]! += 2n;
      s.outcome.locked = [];
    });
    m.stage(unlock, { actor: 0 });
    m.addOwnSignature(alice.signState(unlock));
    m.addSignature(1, bob.signState(unlock));
    m.enable();
    const final = { ...pay(unlock, 0, 1, 1n), isFinal: true };
    m.stage(final, { actor: 0 });
    m.addOwnSignature(alice.signState(final));
    m.addSignature(1, bob.signState(final));
    m.enable();
    expect(m.phase).toBe('Final');
    expect(m.isFinal).toBe(true);
    const err = thrown(() => m.stage(pay(final, 0, 1, 1n), { actor: 0 })) as InvalidTransitionError;
    expect(err.code).toBe('FINAL_STATE');
    m.setPhase('Withdrawing');
    m.setPhase('Withdrawn');
    const last = thrown(() => m.setPhase('Registering')) as IllegalTransitionError;
    expect(last.details).toMatchObject({ from: 'Withdrawn', to: 'Registering' });
  });
});

describe('disputes', () => {
  it('leaving Signing for a dispute drops the half-signed state', () => {
    const m = openChannel();
    payBob(m, 10n);
    m.stage(pay(m.current!.state, 0, 1, 1n), { actor: 0 });
    m.setPhase('Registering');
    expect(m.staged).toBeUndefined();
    m.setPhase('Registered');
    m.setPhase('Registered');
    m.setPhase('Withdrawing');
    m.setPhase('Withdrawn');
    expect(m.version).toBe(1n);
  });

  it('a funding timeout can go straight to a dispute of version 0', () => {
    const m = ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 0 }, verify);
    const v0 = state(0n);
    m.init(v0);
    m.addOwnSignature(alice.signState(v0));
    m.addSignature(1, bob.signState(v0));
    m.enable();
    m.setPhase('Registering');
    expect(m.phase).toBe('Registering');
  });
});

describe('adopting a newer fully signed state (sync, chain)', () => {
  const signedBy = (s: State) => [alice.signState(s), bob.signState(s)];

  it('Bob is two versions ahead after Alice lost an accept: she adopts his state', () => {
    const m = openChannel();
    const v1 = pay(m.current!.state, 0, 1, 5n);
    const v2 = pay(v1, 1, 0, 2n);
    m.stage(v1, { actor: 0 });
    m.installSigned(v2, signedBy(v2));
    expect(m.phase).toBe('Acting');
    expect(m.version).toBe(2n);
    expect(m.staged).toBeUndefined();
  });

  it('does not roll back to an older or equal state', () => {
    const m = openChannel();
    payBob(m, 5n);
    const v0 = state(0n);
    expect((thrown(() => m.installSigned(v0, signedBy(v0))) as ChannelMachineError).code).toBe('NOT_NEWER');
    const v1 = m.current!.state;
    expect((thrown(() => m.installSigned(v1, signedBy(v1))) as ChannelMachineError).code).toBe('NOT_NEWER');
    expect(m.version).toBe(1n);
  });

  it('refuses a newer state that Bob alone signed', () => {
    const m = openChannel();
    const v5 = edit(pay(m.current!.state, 0, 1, 100n), (s) => (s.version = 5n));
    expect(() => m.installSigned(v5, [bob.signState(v5), bob.signState(v5)])).toThrow(SignatureError);
    expect(() => m.installSigned(v5, [alice.signState(v5)])).toThrow(ChannelMachineError);
    expect(m.version).toBe(0n);
  });

  it('a newer final state moves Acting to Final; in a dispute the phase stays', () => {
    const m = openChannel();
    const fin = { ...state(3n, false), isFinal: true };
    m.installSigned(fin, signedBy(fin));
    expect(m.phase).toBe('Final');
    const d = openChannel();
    d.setPhase('Registered');
    const v4 = pay(state(3n), 0, 1, 1n);
    d.installSigned(v4, signedBy(v4));
    expect([d.phase, d.version]).toEqual(['Registered', 4n]);
  });
});

describe('the transition table', () => {
  /** A machine in any phase, built through restore (which checks the snapshot's consistency). */
  function inPhase(phase: Phase): ChannelMachine {
    const m = openChannel();
    const snap = m.snapshot();
    snap.phase = phase;
    if (phase === 'InitActing' || phase === 'InitSigning') snap.current = null;
    if (phase === 'InitSigning' || phase === 'Signing') {
      const s = phase === 'InitSigning' ? state(0n) : pay(state(0n), 0, 1, 1n);
      snap.staged = stagedOf(s);
    }
    return ChannelMachine.restore(snap, verify);
  }
  function stagedOf(s: State): NonNullable<MachineSnapshot['staged']> {
    if (s.version === 0n) {
      const fresh = ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 0 }, verify);
      fresh.init(s);
      return fresh.snapshot().staged!;
    }
    const m = openChannel();
    m.stage(s, { actor: 0 });
    return m.snapshot().staged!;
  }

  const STAGED_ONLY = [
    'InitActing>InitSigning',
    'InitSigning>Funding',
    'Acting>Signing',
    'Acting>Final',
    'Signing>Acting',
    'Signing>Final',
  ];
  const pairs = PHASES.flatMap((from) => PHASES.map((to) => [from, to] as [Phase, Phase]));

  it.each(pairs)('setPhase %s → %s follows the table', (from, to) => {
    const m = inPhase(from);
    expect(m.phase).toBe(from);
    const allowed = canTransition(from, to) && !STAGED_ONLY.includes(`${from}>${to}`) && to !== 'Signing';
    if (allowed) {
      m.setPhase(to);
      expect(m.phase).toBe(to);
    } else {
      const err = thrown(() => m.setPhase(to)) as IllegalTransitionError;
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect(err.code).toBe('ILLEGAL_TRANSITION');
      expect([err.from, err.to]).toEqual([from, to]);
      expect(err.message).toContain(`${from} -> ${to}`);
      expect(m.phase).toBe(from);
    }
  });

  it('Withdrawn is terminal and every phase is reachable from InitActing', () => {
    expect(TRANSITIONS.Withdrawn).toEqual([]);
    const seen = new Set<Phase>(['InitActing']);
    const todo: Phase[] = ['InitActing'];
    for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
      for (const q of TRANSITIONS[p]) {
        if (!seen.has(q)) {
          seen.add(q);
          todo.push(q);
        }
      }
    }
    expect([...seen].sort()).toEqual([...PHASES].sort());
  });
});

describe('snapshots', () => {
  it('survive a JSON round trip in every phase of a payment', () => {
    const m = openChannel();
    payBob(m, 7n);
    const next = pay(m.current!.state, 1, 0, 3n);
    m.stage(next, { actor: 1 });
    m.addSignature(1, bob.signState(next));
    const r = roundTrip(m);
    expect(r.snapshot()).toEqual(m.snapshot());
    expect([r.phase, r.version, r.idx]).toEqual(['Signing', 1n, 0]);
    expect(r.missingSignatures()).toEqual([0]);
    r.addOwnSignature(alice.signState(next));
    r.enable();
    expect(r.current!.state).toEqual(next);
    expect(roundTrip(r).snapshot()).toEqual(r.snapshot());
  });

  it('a snapshot from before the initial state restores too', () => {
    const m = ChannelMachine.create({ params: PARAMS, channelID: CHANNEL_ID, idx: 1 }, verify);
    expect(roundTrip(m).phase).toBe('InitActing');
  });

  const tampered: Array<[string, (s: MachineSnapshot) => void]> = [
    ['a signature replaced by Mallory’s', (s) => (s.current!.sigs[1] = mallory.signState(state(1n)))],
    [
      'a balance changed under the signatures',
      (s) => ((s.current!.state.outcome as { balances: string[][] }).balances[0]![0] = '1'),
    ],
    ['an unknown phase', (s) => ((s as { phase: string }).phase = 'Dancing')],
    ['Signing without a staged state', (s) => (s.phase = 'Signing')],
    ['Acting without a current state', (s) => (s.current = null)],
    ['a missing signature in the current state', (s) => ((s.current!.sigs as unknown[])[0] = null)],
    ['a bigint as a number', (s) => ((s.params as { nonce: unknown }).nonce = 5)],
    ['another format', (s) => ((s as { format: number }).format = 2)],
    ['our index out of range', (s) => (s.idx = 5)],
  ];
  it.each(tampered)('refuse %s', (_name, change) => {
    const m = openChannel();
    payBob(m, 1n);
    const snap = JSON.parse(JSON.stringify(m.snapshot())) as MachineSnapshot;
    change(snap);
    expect(() => ChannelMachine.restore(snap, verify)).toThrow(InvalidSnapshotError);
  });

  it('refuse garbage', () => {
    for (const junk of [null, 42, 'x', [], {}, { format: 1 }]) {
      expect(() => ChannelMachine.restore(junk, verify)).toThrow(InvalidSnapshotError);
    }
  });

  describe("verify: 'later'", () => {
    const forged = () => {
      const m = openChannel();
      payBob(m, 1n);
      const snap = JSON.parse(JSON.stringify(m.snapshot())) as MachineSnapshot;
      snap.current!.sigs[1] = mallory.signState(state(1n));
      return ChannelMachine.restore(snap, verify, { verify: 'later' });
    };

    it('restores a forged snapshot unchecked: its latest state shows, nothing uses it', () => {
      const m = forged();
      expect(m.checked).toBe(false);
      expect([m.phase, m.version, m.latest?.state.version]).toEqual(['Acting', 1n, 1n]);
      const uses: Array<[string, () => unknown]> = [
        ['current', () => m.current],
        ['staged', () => m.staged],
        ['usedState', () => m.usedState],
        ['snapshot', () => m.snapshot()],
        ['stage', () => m.stage(pay(m.latest!.state, 0, 1, 1n), { actor: 0 })],
        ['setPhase', () => m.setPhase('Registering')],
        ['installSigned', () => m.installSigned(m.latest!.state, m.latest!.sigs)],
      ];
      for (const [, use] of uses) {
        expect(thrown(use)).toBeInstanceOf(InvalidSnapshotError);
        expect(m.checked).toBe(false);
      }
      expect([m.phase, m.version]).toEqual(['Acting', 1n]);
    });

    it('a sound snapshot checks once, then works as if restored with every check', () => {
      const m = openChannel();
      payBob(m, 1n);
      const r = ChannelMachine.restore(JSON.parse(JSON.stringify(m.snapshot())), verify, { verify: 'later' });
      expect(r.checked).toBe(false);
      r.check();
      expect(r.checked).toBe(true);
      expect(r.snapshot()).toEqual(m.snapshot());
      payBob(r, 1n);
      expect(r.version).toBe(2n);
    });
  });

  it('can skip signature checks for a trusted store', () => {
    const m = openChannel();
    const snap = JSON.parse(JSON.stringify(m.snapshot())) as MachineSnapshot;
    snap.current!.sigs[1] = mallory.signState(state(0n));
    expect(() => ChannelMachine.restore(snap, verify, { verify: false })).not.toThrow();
  });
});
