// Alice and Bob pay each other at the same moment, over a wire with a network's delay, so that
// their updates cross. Every payment must succeed (participant 0's update goes first, participant
// 1's payments follow on top of it), the channel must end on one state on both sides with the
// totals conserved, and the version must grow about one per update, not run away.
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { makeClient, open, type Person } from './client-harness.js';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.stop();
});

async function pair(latencyMs: number): Promise<{ alice: Person; bob: Person; bus: MemoryBus }> {
  const bus = new MemoryBus({ latencyMs });
  const alice = makeClient(world, bus, world.party(1, 'Alice'), 'alice');
  const bob = makeClient(world, bus, world.party(2, 'Bob'), 'bob');
  await Promise.all([alice.client.start(), bob.client.start()]);
  return { alice, bob, bus };
}

describe('Alice and Bob pay at the same moment', () => {
  it.each([5, 20])('%i payments each, asked at once: all succeed, on one state', async (n) => {
    const { alice, bob } = await pair(2);
    try {
      const id = await open(world, alice, bob, 1000n, 1000n);
      const start = alice.client.channel(id).state!.version;
      const updatesBefore = alice.events.filter((e) => e.type === 'updated').length;
      const results = await Promise.allSettled([
        ...Array.from({ length: n }, () => alice.client.sendPayment(id, 1n)),
        ...Array.from({ length: n }, () => bob.client.sendPayment(id, 2n)),
      ]);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const end = alice.client.channel(id).state!;
      expect(bob.client.channel(id).state).toEqual(end);
      expect(end.outcome.balances[0]).toEqual([1000n + BigInt(n), 1000n - BigInt(n)]);
      const updates = alice.events.filter((e) => e.type === 'updated').length - updatesBefore;
      // One version per update, and one more now and then where both proposed at once.
      expect(Number(end.version - start)).toBeLessThanOrEqual(2 * updates);
      expect(updates).toBeLessThanOrEqual(2 * n);
    } finally {
      await Promise.all([alice.client.close(), bob.client.close()]);
    }
  });
});
