// Refusals of the Perun adjudicator's conclude and concludeFinal, one scenario per row, with the
// exact revert reason and nothing watched changed; and concludeFinal supersedes a dispute.
import { DisputePhase } from '../../src/channels/ethereum/adjudicator.js';
import { hashState } from '../../src/channels/ethereum/encoding.js';
import { next, signed } from './harness.js';
import {
  world,
  alice,
  bob,
  mallory,
  useWorld,
  type Refusal,
  runRefusal,
  watch,
  disputes,
  holdingsOf,
  holdings,
  channel,
  passChallenge,
  fund,
  register,
  subChannel,
  lockOf,
  locking,
} from './refusals-support.js';

useWorld();

const concludeRefusals: Refusal[] = [
  {
    scenario: 'Bob concludes before the timeout',
    reason: 'timeout not passed yet',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      const v1 = next(init, 1n, [2n, 8n]);
      await register(params, v1);
      return {
        act: () => bob.adjudicator.conclude(params, v1),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: 'Mallory concludes with a state that is not the registered one',
    reason: 'invalid state',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      await register(params, next(init, 2n, [6n, 4n]));
      await passChallenge(params);
      const v1 = next(init, 1n, [0n, 10n]);
      return {
        act: () => mallory.adjudicator.conclude(params, v1),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: 'Alice concludes a channel that was never registered',
    reason: 'not registered',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      return {
        act: () => alice.adjudicator.conclude(params, init),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: 'Bob concludes a channel a second time',
    reason: 'already concluded',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      const v1 = next(init, 1n, [2n, 8n]);
      await register(params, v1);
      await passChallenge(params);
      await alice.adjudicator.conclude(params, v1);
      return {
        act: () => bob.adjudicator.conclude(params, v1),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
];

const concludeFinalRefusals: Refusal[] = [
  {
    scenario: 'Alice concludes at once with a state that is not final',
    reason: 'state not final',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      const v3 = next(init, 3n, [2n, 8n]);
      return {
        act: () => alice.adjudicator.concludeFinal(params, v3, signed(params, v3, [alice, bob]).sigs),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: 'Alice concludes at once with her own signature only',
    reason: 'signatures length mismatch',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      const final = next(init, 3n, [10n, 0n], true);
      return {
        act: () => alice.adjudicator.concludeFinal(params, final, [alice.signer.signState(final)]),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: 'Alice and Bob conclude at once after the channel was concluded by dispute',
    reason: 'concluded already',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      const v1 = next(init, 1n, [2n, 8n]);
      await register(params, v1);
      await passChallenge(params);
      await bob.adjudicator.conclude(params, v1);
      const final = next(init, 9n, [5n, 5n], true);
      return {
        act: () => alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: 'Alice and Bob conclude at once with a final state that still locks funds in a sub-channel',
    reason: 'has sub-channels',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      const sub = subChannel(params, [1n, 1n]);
      const final = locking(init, 2n, [4n, 4n], [lockOf(sub.state)], true);
      return {
        act: () => alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs),
        unchanged: watch(disputes(init.channelID), holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
];

describe('conclude refuses', () => {
  it.each(concludeRefusals)('$scenario: "$reason"', runRefusal);
});

describe('concludeFinal refuses', () => {
  it.each(concludeFinalRefusals)('$scenario: "$reason"', runRefusal);
});

describe('concludeFinal', () => {
  it('supersedes an ongoing dispute: Alice registered, then she and Bob close with a final state', async () => {
    const { params, init } = channel();
    await fund(params, init);
    await register(params, next(init, 1n, [6n, 4n]));
    expect((await alice.adjudicator.dispute(init.channelID)).phase).toBe(DisputePhase.DISPUTE);

    const final = next(init, 4n, [1n, 9n], true);
    await bob.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
    const d = await alice.adjudicator.dispute(init.channelID);
    expect(d.phase).toBe(DisputePhase.CONCLUDED);
    expect(d.version).toBe(4n);
    expect(d.stateHash).toBe(hashState(final));
    expect(d.timeout).toBe(await alice.adjudicator.now());
    expect(await holdingsOf(world.ethHolder, params, init.channelID)).toEqual([1n, 9n]);
  });
});
