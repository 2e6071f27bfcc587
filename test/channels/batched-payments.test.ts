// Payments asked while an update is in flight go together in the next update, each with its own
// ID, amount and result. Alice asks many at once; one she cannot cover fails alone; batches keep
// to their limit; Bob keeps the names of an update's payments only when they are what it does;
// and a property: both sides pay in random bursts over a wire with a delay, and every payment is
// in exactly one fully signed state on both sides (or failed with a typed error), with the totals
// conserved and both histories naming the same payments at the same versions.
import fc from 'fast-check';
import type { ClientEvent } from '../../src/channels/client.js';
import { ChannelClientError, InvalidTransitionError } from '../../src/channels/errors.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { propertyRuns } from '../property-seed.js';
import { makeClient, open, waitForEvent, type ClientOverrides, type Person } from './client-harness.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.stop();
});

async function pair(o: { latencyMs?: number; alice?: ClientOverrides; bob?: ClientOverrides } = {}) {
  const bus = new MemoryBus({ latencyMs: o.latencyMs ?? 0 });
  const alice = makeClient(world, bus, world.party(1, 'Alice'), 'alice', o.alice);
  const bob = makeClient(world, bus, world.party(2, 'Bob'), 'bob', o.bob);
  await Promise.all([alice.client.start(), bob.client.start()]);
  return { alice, bob, bus, close: () => Promise.all([alice.client.close(), bob.client.close()]) };
}

type PaymentEvent = Extract<ClientEvent, { type: 'payment-sent' | 'payment-received' }>;
type Line = { version: bigint; amount: bigint; payer: string };

/** The payments a person's events name on one channel: ID → version, amount, payer. */
function history(p: Person, channelId: string, peer: string): Map<string, Line> {
  const h = new Map<string, Line>();
  for (const e of p.events) {
    if ((e.type !== 'payment-sent' && e.type !== 'payment-received') || e.channelId !== channelId) continue;
    for (const x of (e as PaymentEvent).payments) {
      expect(h.has(x.id)).toBe(false);
      h.set(x.id, { version: e.version, amount: x.amount, payer: e.type === 'payment-sent' ? p.name : peer });
    }
  }
  return h;
}

/** The payments each channel-update message on the bus carried. */
function countPayments(bus: MemoryBus): number[] {
  const counts: number[] = [];
  bus.setFilter((_from, _to, msg: ChannelMessage) => {
    if (msg.type === 'channel-update') counts.push(msg.payments?.length ?? 0);
    return msg;
  });
  return counts;
}

describe('Alice asks many payments at once', () => {
  it('they go in a few updates, each resolves with a state that contains it, and Bob names the same payments', async () => {
    const { alice, bob, bus, close } = await pair();
    try {
      const id = await open(world, alice, bob, 2000n, 0n);
      const perUpdate = countPayments(bus);
      const ids = Array.from({ length: 50 }, (_, i) => `pay-${i}`);
      const states = await Promise.all(
        ids.map((pid, i) => alice.client.sendPayment(id, BigInt(i + 1), 0, pid)),
      );
      expect(alice.client.channel(id).state!.outcome.balances[0]).toEqual([725n, 1275n]);
      expect(bob.client.channel(id).state).toEqual(alice.client.channel(id).state);
      expect(perUpdate.length).toBeLessThan(50);
      expect(perUpdate.reduce((a, b) => a + b, 0)).toBe(50);

      // A payer's last state is written (and its payments announced) within a few milliseconds.
      await Promise.all([alice.client.flush(), bob.client.flush()]);
      const mine = history(alice, id, 'bob');
      const theirs = history(bob, id, 'alice');
      expect([...mine.keys()].sort()).toEqual([...ids].sort());
      expect(theirs).toEqual(mine);
      // The stores' payment logs hold the same, written with the states.
      const logs = await Promise.all([alice, bob].map((p) => p.store.listPayments({ channelId: id })));
      expect(logs[0]).toHaveLength(50);
      expect(logs[1]!.map((r) => [r.id, r.version, r.payer, r.amount])).toEqual(
        logs[0]!.map((r) => [r.id, r.version, r.payer, r.amount]),
      );
      for (const [i, pid] of ids.entries()) {
        // The state a payment resolved with is the one it went in.
        expect(states[i]!.version).toBe(mine.get(pid)!.version);
        expect(mine.get(pid)!.amount).toBe(BigInt(i + 1));
      }
    } finally {
      await close();
    }
  });

  it('a payment she cannot cover fails alone with a typed error; the rest of its batch goes through', async () => {
    const { alice, bob, close } = await pair();
    try {
      const id = await open(world, alice, bob, 100n, 0n);
      const results = await Promise.allSettled([
        alice.client.sendPayment(id, 40n, 0, 'a'),
        alice.client.sendPayment(id, 70n, 0, 'too-much'),
        alice.client.sendPayment(id, 50n, 0, 'b'),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const err = (results[1] as PromiseRejectedResult).reason as InvalidTransitionError;
      expect(err).toBeInstanceOf(InvalidTransitionError);
      expect(err.code).toBe('NEGATIVE_BALANCE');
      expect(err.details).toMatchObject({ available: '60', amount: '70' });
      expect(alice.client.channel(id).state!.outcome.balances[0]).toEqual([10n, 90n]);
      expect([...history(bob, id, 'alice').keys()].sort()).toEqual(['a', 'b']);
    } finally {
      await close();
    }
  });

  it('an update carries at most maxBatchPayments payments and maxBatchAmount of an asset', async () => {
    const { alice, bob, bus, close } = await pair({ alice: { maxBatchPayments: 4, maxBatchAmount: 10n } });
    try {
      const id = await open(world, alice, bob, 1000n, 0n);
      const perUpdate = countPayments(bus);
      await Promise.all(Array.from({ length: 20 }, () => alice.client.sendPayment(id, 1n)));
      await Promise.all([4n, 4n, 4n, 12n].map((a) => alice.client.sendPayment(id, a)));
      expect(Math.max(...perUpdate)).toBeLessThanOrEqual(4);
      expect(perUpdate.reduce((a, b) => a + b, 0)).toBe(24);
      // 4 + 4 would exceed 10 of the asset: 4, 4 | 4 | 12 (one larger payment still goes alone).
      expect(perUpdate.slice(-3)).toEqual([2, 1, 1]);
      expect(alice.client.channel(id).state!.outcome.balances[0]).toEqual([956n, 44n]);
    } finally {
      await close();
    }
  });

  it('a second payment with an ID that is still waiting is refused', async () => {
    const { alice, bob, close } = await pair();
    try {
      const id = await open(world, alice, bob, 100n, 0n);
      const first = alice.client.sendPayment(id, 1n, 0, 'same');
      await expect(alice.client.sendPayment(id, 2n, 0, 'same')).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
      });
      await expect(alice.client.sendPayment(id, 2n, 0, 'not a valid id!')).rejects.toBeInstanceOf(
        ChannelClientError,
      );
      await first;
    } finally {
      await close();
    }
  });
});

describe('Bob and the names of payments', () => {
  it('drops names that are not what the update does, warns, and counts the update as what it is', async () => {
    const { alice, bob, bus, close } = await pair();
    try {
      const id = await open(world, alice, bob, 100n, 0n);
      // Mallory's wire: the update pays 5, the names claim 50.
      bus.setFilter((_from, _to, msg) =>
        msg.type === 'channel-update' && msg.payments !== undefined
          ? { ...msg, payments: msg.payments.map((p) => ({ ...p, amount: 50n })) }
          : msg,
      );
      await alice.client.sendPayment(id, 5n, 0, 'lie');
      await waitForEvent(bob, 'updated', (e) => e.channelId === id && e.by === 'peer');
      const got = bob.events.find((e): e is PaymentEvent => e.type === 'payment-received')!;
      expect(got.payments).toEqual([{ id: `v${got.version}.0`, asset: 0, amount: 5n }]);
      const warning = await waitForEvent(bob, 'warning', (e) => e.channelId === id);
      expect(warning.error).toMatchObject({ code: 'INVALID_PAYMENTS' });
      expect(bob.client.channel(id).state!.outcome.balances[0]).toEqual([95n, 5n]);
    } finally {
      await close();
    }
  });
});

/** Cases of the property (BATCH_RUNS=200 for a long search). */
const RUNS = propertyRuns('BATCH_RUNS', 6);

describe('property', () => {
  it('both sides pay in random bursts: every payment in exactly one state on both sides or failed typed, totals conserved, histories equal', async () => {
    const burst = fc.record({
      payer: fc.constantFrom(0, 1),
      amounts: fc.array(fc.bigInt({ min: 1n, max: 60n }), { minLength: 1, maxLength: 12 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(burst, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 3 }),
        async (bursts, latencyMs) => {
          const { alice, bob, close } = await pair({ latencyMs });
          const people = [alice, bob];
          try {
            const id = await open(world, alice, bob, 200n, 200n);
            const asked: { payer: number; id: string; amount: bigint; result: Promise<unknown> }[] = [];
            // All bursts at once: both sides' payments cross on the wire.
            for (const [b, { payer, amounts }] of bursts.entries()) {
              for (const [i, amount] of amounts.entries()) {
                const pid = `b${b}-${i}`;
                const result = people[payer]!.client.sendPayment(id, amount, 0, pid).then(
                  () => 'paid',
                  (e: unknown) => e,
                );
                asked.push({ payer, id: pid, amount, result });
              }
            }
            const outcomes = await Promise.all(asked.map((a) => a.result));
            const state = alice.client.channel(id).state!;
            expect(bob.client.channel(id).state).toEqual(state);
            const row = state.outcome.balances[0]!;
            expect(row[0]! + row[1]!).toBe(400n);

            await Promise.all(people.map((p) => p.client.flush()));
            const ha = history(alice, id, 'bob');
            const hb = history(bob, id, 'alice');
            expect(hb).toEqual(ha);
            let net = 0n; // what Alice paid Bob
            for (const [i, a] of asked.entries()) {
              const line = ha.get(a.id);
              if (outcomes[i] === 'paid') {
                expect(line).toMatchObject({ amount: a.amount, payer: a.payer === 0 ? 'alice' : 'bob' });
                net += a.payer === 0 ? a.amount : -a.amount;
              } else {
                expect(line).toBeUndefined();
                expect(outcomes[i]).toMatchObject({ code: expect.any(String) });
                expect((outcomes[i] as { code: string }).code).toMatch(/NEGATIVE_BALANCE|CHANNEL_BUSY/);
              }
            }
            expect(row).toEqual([200n - net, 200n + net]);
            const logs = await Promise.all(people.map((p) => p.store.listPayments({ channelId: id })));
            const lines = (rows: (typeof logs)[0]) => rows.map((r) => [r.id, r.version, r.payer, r.amount]);
            expect(lines(logs[1]!)).toEqual(lines(logs[0]!));
            expect(new Set(logs[0]!.map((r) => r.id))).toEqual(new Set(ha.keys()));
            expect(ha.size).toBe(outcomes.filter((o) => o === 'paid').length);
          } finally {
            await close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
