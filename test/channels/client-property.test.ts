// Property (fast-check): whatever sequence of payments Alice and Bob attempt, with overdrafts
// refused locally and some updates refused by the receiver, every state both sides hold keeps
// the channel's total, both hold the same last state, and the on-chain settlement pays each
// exactly that state's balance.
import fc from 'fast-check';
import { ChannelClientError, ValidationError } from '../../src/channels/errors.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { propertyRuns } from '../property-seed.js';
import { ethBalance, makeClient, open, waitForEvent } from './client-harness.js';

let world: World;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());

const op = fc.record({
  payer: fc.constantFrom(0, 1),
  amount: fc.bigInt({ min: 1n, max: 60n }),
  refused: fc.boolean(),
});

/** Cases of the property (`npm run test:deep` runs more). */
const RUNS = propertyRuns('CLIENT_PROPERTY_RUNS', 5);

it('random payments and refusals conserve the total and settle to the last signed state', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
      const bus = new MemoryBus();
      let refuse = false;
      const decide = () =>
        refuse ? { accept: false as const, reason: 'not now' } : { accept: true as const };
      const alice = makeClient(world, bus, world.party(1, 'Alice'), 'alice', { onUpdate: decide });
      const bob = makeClient(world, bus, world.party(2, 'Bob'), 'bob', { onUpdate: decide });
      await Promise.all([alice.client.start(), bob.client.start()]);
      try {
        const id = await open(world, alice, bob, 100n, 50n);
        const expected = [100n, 50n];
        for (const { payer, amount, refused } of ops) {
          refuse = refused;
          const who = payer === 0 ? alice : bob;
          const outcome = await who.client.sendPayment(id, amount).then(
            () => 'paid',
            (e: unknown) => e,
          );
          if (outcome === 'paid') {
            expect(refused || expected[payer]! < amount).toBe(false);
            expected[payer]! -= amount;
            expected[1 - payer]! += amount;
          } else if (expected[payer]! < amount) {
            expect(outcome).toBeInstanceOf(ValidationError);
          } else {
            expect(outcome).toBeInstanceOf(ChannelClientError);
            expect((outcome as ChannelClientError).code).toBe('UPDATE_REJECTED');
          }
          const a = alice.client.channel(id).state!;
          expect(a).toEqual(bob.client.channel(id).state);
          expect(a.outcome.balances[0]).toEqual(expected);
        }
        refuse = false;
        const aliceReceiver = alice.receiver;
        await alice.client.settle(id);
        await waitForEvent(bob, 'settled', (e) => e.channelId === id);
        expect(await ethBalance(world, aliceReceiver)).toBe(expected[0]);
        expect(await ethBalance(world, bob.receiver)).toBe(expected[1]);
      } finally {
        await Promise.all([alice.client.close(), bob.client.close()]);
      }
    }),
    { numRuns: RUNS },
  );
});
