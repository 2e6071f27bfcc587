// No participant ever signs two different states with one version. Every client here signs
// through an EquivocationGuard that refuses a second state for a (channel, version) it signed;
// the scenarios would fail on the first such request. Alice and Bob pay at the same moment;
// Mallory signs Alice's payment but answers with a refusal, keeps the state and registers it, and
// Alice's later state outranks it; and a property: random payments from both sides, refusals and
// crashes at every step of an update (the process dies at the failpoint, restarts from its store
// and syncs) end with both sides on one state, no money lost or invented, no equivocation.
import fc from 'fast-check';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import {
  EquivocationError,
  EquivocationGuard,
  MemorySignatureJournal,
} from '../../src/channels/equivocation.js';
import { ChannelClientError, ValidationError } from '../../src/channels/errors.js';
import type { Failpoint } from '../../src/channels/client.js';
import type { ChannelMessage, ChannelUpdate, ChannelUpdateAccept } from '../../src/channels/messages.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import type { State } from '../../src/channels/types.js';
import { LocalWatcher } from '../../src/channels/watcher.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type Party, type World } from '../ethereum/harness.js';
import { propertyRuns } from '../property-seed.js';
import { ethBalance, makeClient, open, waitForEvent, watcherFor, type Person } from './client-harness.js';

let world: World;
const watchers: LocalWatcher[] = [];

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  await world.stop();
});

/** Lets every message in flight arrive and every reaction to it run, until the bus is quiet. */
async function quiet(bus: MemoryBus): Promise<void> {
  for (;;) {
    const sent = bus.sent;
    await bus.settle();
    await new Promise<void>((r) => setImmediate(r));
    if (bus.sent === sent) return;
  }
}

describe('the guard', () => {
  const signer = EthereumSigner.random();
  const s = (version: bigint, paid: bigint): State => ({
    channelID: '0x' + '11'.repeat(32),
    version,
    outcome: {
      assets: [{ chainID: 1n, ethHolder: '0x' + '22'.repeat(20), ccHolder: '0x' + '00'.repeat(32) }],
      backends: [1n],
      balances: [[100n - paid, paid]],
      locked: [],
    },
    appData: '0x',
    isFinal: false,
  });

  it('signs a state again, but refuses a different state with a version it signed', async () => {
    const guard = new EquivocationGuard(signer);
    const sig = await guard.signState(s(4n, 10n));
    expect(await guard.signState(s(4n, 10n))).toBe(sig);
    const err = await guard.signState(s(4n, 20n)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EquivocationError);
    expect((err as EquivocationError).code).toBe('EQUIVOCATION');
    expect((err as EquivocationError).details).toMatchObject({ version: '4' });
    expect(guard.refusals).toBe(1);
    await guard.signState(s(5n, 20n));
  });

  it('remembers across restarts through its journal', async () => {
    const journal = new MemorySignatureJournal();
    await new EquivocationGuard(signer, journal).signState(s(7n, 1n));
    await expect(new EquivocationGuard(signer, journal).signState(s(7n, 2n))).rejects.toBeInstanceOf(
      EquivocationError,
    );
  });
});

describe('Alice and Bob', () => {
  it('pay each other at the same moment ten times: each version is signed once, by both, for one state', async () => {
    const bus = new MemoryBus();
    const guards = [world.party(1, 'Alice'), world.party(2, 'Bob')].map(
      (p) => new EquivocationGuard(p.signer),
    );
    const alice = makeClient(world, bus, world.party(1, 'Alice'), 'alice', { signer: guards[0] });
    const bob = makeClient(world, bus, world.party(2, 'Bob'), 'bob', { signer: guards[1] });
    await Promise.all([alice.client.start(), bob.client.start()]);
    try {
      const id = await open(world, alice, bob, 100n, 100n);
      for (let round = 0; round < 10; round++) {
        await Promise.all([alice.client.sendPayment(id, 3n), bob.client.sendPayment(id, 5n)]);
      }
      expect(guards.map((g) => g.refusals)).toEqual([0, 0]);
      const s = alice.client.channel(id).state!;
      expect(s.outcome.balances[0]).toEqual([120n, 80n]);
      expect(bob.client.channel(id).state).toEqual(s);
    } finally {
      await Promise.all([alice.client.close(), bob.client.close()]);
    }
  });
});

it('Mallory signs Alice’s payment but answers with a refusal; Alice’s next state takes a higher version, so the state Mallory kept is refuted on chain', async () => {
  const bus = new MemoryBus();
  const aliceParty = world.party(3, 'Alice');
  const aliceStore = new MemoryChannelStore();
  const aliceGuard = new EquivocationGuard(aliceParty.signer);
  const alice = makeClient(world, bus, aliceParty, 'alice', {
    store: aliceStore,
    signer: aliceGuard,
    watcher: watcherFor(world, aliceParty, aliceStore, watchers),
  });
  // Mallory runs a client that signs whatever it is sent.
  const mallory = makeClient(world, bus, world.party(4, 'Mallory'), 'mallory', {
    onUpdate: () => ({ accept: true }),
  });
  await Promise.all([alice.client.start(), mallory.client.start()]);
  try {
    const id = await open(world, alice, mallory, 1000n, 0n, 30n);
    await alice.client.sendPayment(id, 1n);

    // Alice's payment of 500: Mallory signs it, keeps both signatures, and sends a refusal.
    let kept: { update?: ChannelUpdate; accept?: ChannelUpdateAccept } = {};
    bus.setFilter((from, _to, msg): ChannelMessage => {
      if (from === 'alice' && msg.type === 'channel-update') kept = { update: msg };
      if (from === 'mallory' && msg.type === 'channel-update-accept' && kept.update !== undefined) {
        kept.accept = msg;
        return {
          type: 'channel-update-reject',
          channelID: id,
          version: msg.version,
          reason: 'no',
          code: 'REFUSED',
        };
      }
      return msg;
    });
    const refused = await alice.client.sendPayment(id, 500n).catch((e: unknown) => e);
    bus.setFilter(undefined);
    expect((refused as ChannelClientError).code).toBe('UPDATE_REJECTED');
    const stolen = kept.update!.state;
    expect(stolen.version).toBe(2n);
    expect(stolen.outcome.balances[0]).toEqual([499n, 501n]);

    // Alice pays 10 instead. Version 2 is used up for her: the new state is version 3.
    const latest = await alice.client.sendPayment(id, 10n);
    expect(latest.version).toBe(3n);
    expect(latest.outcome.balances[0]).toEqual([989n, 11n]);

    // Mallory registers the state she kept; Alice's watcher refutes it with version 3.
    await world.party(4, 'Mallory').adjudicator.register({
      params: alice.client.channel(id).params,
      state: stolen,
      sigs: [kept.update!.sig, kept.accept!.sig],
    });
    await waitForEvent(alice, 'registered', (e) => e.channelId === id && e.by === 'chain');
    await waitForEvent(alice, 'phase', (e) => e.channelId === id && e.to === 'Registered');
    expect((await aliceParty.adjudicator.dispute(id)).version).toBe(3n);
    await world.chain.increaseTime(31);
    expect(await alice.client.settlement(id)).toEqual([{ asset: 0, amount: 989n }]);
    expect(await ethBalance(world, alice.receiver)).toBe(989n);
    expect(aliceGuard.refusals).toBe(0);
  } finally {
    await Promise.all([alice.client.close(), mallory.client.close()]);
  }
});

// ---------------------------------------------------------------------------------------------
// Property: payments, refusals and crashes at every failpoint

/** Cases of the property (EQUIVOCATION_RUNS=500 for a long search; `npm run test:deep` runs more). */
const RUNS = propertyRuns('EQUIVOCATION_RUNS', 12);

const FAILPOINTS: Failpoint[] = [
  'update-staged',
  'update-sent',
  'update-received',
  'accept-persisted',
  'accept-received',
  'update-signed',
];

type Op =
  | { kind: 'pay'; payer: 0 | 1; amount: bigint; both: boolean; refuser: -1 | 0 | 1 }
  | { kind: 'crash'; who: 0 | 1; at: Failpoint };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('pay' as const),
    payer: fc.constantFrom(0 as const, 1 as const),
    amount: fc.bigInt({ min: 1n, max: 40n }),
    both: fc.boolean(),
    refuser: fc.constantFrom(-1 as const, -1 as const, 0 as const, 1 as const),
  }),
  fc.record({
    kind: fc.constant('crash' as const),
    who: fc.constantFrom(0 as const, 1 as const),
    at: fc.constantFrom(...FAILPOINTS),
  }),
);

class Crash extends Error {}

/** `part` (a store, a signer) as a process sees it: every call fails once `life.dead` (the part itself survives). */
function untilDead<T extends object>(part: T, life: { dead: boolean }): T {
  return new Proxy(part, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        if (life.dead) throw new Crash('the process is dead');
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** One participant's process: its store and signing journal survive a crash, its client does not. */
interface Proc {
  name: string;
  party: Party;
  store: MemoryChannelStore;
  guard: EquivocationGuard;
  person: Person;
  /** The failpoint at which this process dies next. */
  armed?: Failpoint;
  crashed: boolean;
}

/**
 * Alice and Bob as processes on `bus` (dev accounts `first` and `first` + 1). `refuser()` names the
 * one who refuses incoming updates at the moment (-1: nobody).
 */
async function processes(bus: MemoryBus, first: number, refuser: () => number) {
  const procs: Proc[] = [];
  const boot = (p: Proc) => {
    const idx = procs.indexOf(p);
    // A dead process writes and signs nothing: this client's store and signer fail once it has crashed.
    const life = { dead: false };
    p.person = makeClient(world, bus, p.party, p.name, {
      store: untilDead(p.store, life),
      signer: untilDead(p.guard, life),
      responseTimeoutMs: 300,
      onUpdate: () => (refuser() === idx ? { accept: false, reason: 'not now' } : { accept: true }),
      failpoint: (point) => {
        if (p.armed !== point) return;
        p.armed = undefined;
        p.crashed = true;
        life.dead = true;
        bus.disconnect(p.name);
        throw new Crash(point);
      },
    });
    p.crashed = false;
    return p.person.client.start();
  };
  for (const [i, name] of ['alice', 'bob'].entries()) {
    const party = world.party(first + i, name);
    procs.push({
      name,
      party,
      store: new MemoryChannelStore(),
      guard: new EquivocationGuard(party.signer, new MemorySignatureJournal()),
      person: undefined as unknown as Person,
      crashed: false,
    });
  }
  await Promise.all(procs.map(boot));
  return {
    procs: procs as [Proc, Proc],
    /** Starts every crashed process again from its store (it syncs with its peer on start). */
    async restartCrashed() {
      // A restart's sync can carry an update to the other process's failpoint: go on until none is down.
      for (let p = procs.find((q) => q.crashed); p !== undefined; p = procs.find((q) => q.crashed)) {
        await p.person.client.close();
        await boot(p);
        await quiet(bus);
      }
    },
    close: () => Promise.all(procs.map((p) => p.person.client.close())),
  };
}

/** A channel's payment log, oldest first, as both sides should agree on it (once written). */
async function paymentLog(p: Proc, channelId: string) {
  await p.person.client.flush();
  const rows = await p.store.listPayments({ channelId });
  return rows.reverse().map((r) => ({ id: r.id, version: r.version, payer: r.payer, amount: r.amount }));
}

/** Both sides hold one state, in phase Acting, with the channel's total; their guards refused nothing. */
function expectOneState(procs: Proc[], id: string, total: bigint): bigint[] {
  const [a, b] = procs.map((p) => p.person.client.channel(id));
  expect([a!.phase, b!.phase]).toEqual(['Acting', 'Acting']);
  expect(a!.state).toEqual(b!.state);
  const row = a!.state!.outcome.balances[0]!;
  expect(row[0]! + row[1]!).toBe(total);
  expect(procs.map((p) => p.guard.refusals)).toEqual([0, 0]);
  return row;
}

const PROPOSER_POINTS: Failpoint[] = ['update-staged', 'update-sent', 'accept-received', 'update-signed'];

describe.each(['Alice', 'Bob'])('%s pays 7', (payerName) => {
  it.each(FAILPOINTS)(
    'and the %s step kills a process: it restarts, syncs, and the payment counts once',
    async (at) => {
      const bus = new MemoryBus();
      const run = await processes(bus, 5, () => -1);
      const [alice, bob] = run.procs;
      try {
        const id = await open(world, alice.person, bob.person, 100n, 100n);
        await alice.person.client.sendPayment(id, 1n);
        const payer = payerName === 'Alice' ? alice : bob;
        const victim = PROPOSER_POINTS.includes(at) ? payer : payer === alice ? bob : alice;
        victim.armed = at;
        const outcome = await payer.person.client.sendPayment(id, 7n).then(
          () => 'paid',
          (e: unknown) => e,
        );
        expect(victim.crashed).toBe(true);
        // The payer's call dies with its process, or (the process died receiving) times out.
        if (at === 'update-staged' || at === 'update-sent') expect(outcome).toBeInstanceOf(Crash);
        else expect(outcome).toMatchObject({ code: 'PEER_TIMEOUT' });
        await run.restartCrashed();
        // Signed and stored before the crash, the payment completes after it, exactly once.
        const [a, b] = expectOneState(run.procs, id, 200n);
        expect([a, b]).toEqual(payer === alice ? [92n, 108n] : [106n, 94n]);
        await alice.person.client.sendPayment(id, 2n);
        await bob.person.client.sendPayment(id, 3n);
        expectOneState(run.procs, id, 200n);
        expect(alice.person.client.channel(id).state!.outcome.balances[0]).toEqual(
          payer === alice ? [93n, 107n] : [107n, 93n],
        );
        // Both payment logs name the same four payments at the same versions, the 7 once.
        const [logA, logB] = await Promise.all([alice, bob].map((p) => paymentLog(p, id)));
        expect(logA).toEqual(logB);
        expect(logA!.map((l) => l.amount)).toEqual([1n, 7n, 2n, 3n]);
      } finally {
        await run.close();
      }
    },
  );
});

it(
  'random payments, refusals and crashes at every step of an update: one state on both sides, funds conserved, no equivocation',
  async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), async (ops) => {
        const bus = new MemoryBus();
        let refuser = -1;
        const run = await processes(bus, 5, () => refuser);
        const [alice, bob] = run.procs;
        try {
          const id = await open(world, alice.person, bob.person, 200n, 200n);
          /** What Alice paid Bob (Bob's payments negative): for sure, and maybe (crashed or timed out). */
          let sure = 0n;
          const unsure: bigint[] = [];
          for (const o of ops) {
            if (o.kind === 'crash') {
              run.procs[o.who].armed = o.at;
              continue;
            }
            refuser = o.refuser;
            const payers = o.both ? [0, 1] : [o.payer];
            const results = await Promise.allSettled(
              payers.map((i) => run.procs[i]!.person.client.sendPayment(id, o.amount)),
            );
            results.forEach((r, k) => {
              const amount = payers[k] === 0 ? o.amount : -o.amount;
              if (r.status === 'fulfilled') sure += amount;
              else if (r.reason instanceof ValidationError)
                return; // refused before signing
              else if (r.reason instanceof ChannelClientError && r.reason.code === 'UPDATE_REJECTED') return;
              else if (r.reason instanceof ChannelClientError && r.reason.code === 'CHANNEL_BUSY') return;
              else unsure.push(amount); // the signed update may still complete after a restart
            });
            refuser = -1;
            await run.restartCrashed();
          }
          for (const p of run.procs) p.armed = undefined;
          await run.restartCrashed();

          const [toAlice, toBob] = expectOneState(run.procs, id, 400n);
          const possible = unsure.reduce((sums, x) => [...sums, ...sums.map((v) => v + x)], [sure]);
          expect(possible).toContain(200n - toAlice!);
          // Both payment logs name the same payments at the same versions, and they add up.
          const [logA, logB] = await Promise.all(run.procs.map((p) => paymentLog(p, id)));
          expect(logA).toEqual(logB);
          const paid = logA!.reduce((sum, l) => sum + (l.payer === 0 ? l.amount : -l.amount), 0n);
          expect(paid).toBe(200n - toAlice!);

          await alice.person.client.settle(id);
          await waitForEvent(bob.person, 'settled', (e) => e.channelId === id);
          expect(await ethBalance(world, alice.person.receiver)).toBe(toAlice);
          expect(await ethBalance(world, bob.person.receiver)).toBe(toBob);
        } finally {
          await run.close();
        }
      }),
      { numRuns: RUNS },
    );
  },
  60_000 + RUNS * 5_000,
);
