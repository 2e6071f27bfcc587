// Refusals of the Perun adjudicator's progress on an app channel, one scenario per row, with the
// exact revert reason and nothing watched changed.
import { next } from './harness.js';
import {
  alice,
  bob,
  mallory,
  useWorld,
  type Refusal,
  runRefusal,
  disputes,
  channel,
  appChannel,
  passChallenge,
  register,
} from './refusals-support.js';

useWorld();

/** A registered app channel at version 1 (5/5), by default past its timeout. */
async function appDispute({ timedOut = true } = {}) {
  const { params, init } = appChannel();
  const v1 = next(init, 1n, [5n, 5n]);
  await register(params, v1);
  if (timedOut) await passChallenge(params);
  return { params, v1, unchanged: disputes(init.channelID) };
}

const progressRefusals: Refusal[] = [
  {
    scenario: 'Alice progresses before the timeout',
    reason: 'timeout not passed',
    async arrange() {
      const { params, v1, unchanged } = await appDispute({ timedOut: false });
      const v2 = next(v1, 2n, [4n, 6n]);
      return {
        act: () => alice.adjudicator.progress(params, v1, v2, 0, alice.signer.signState(v2)),
        unchanged,
      };
    },
  },
  {
    scenario: 'Bob progresses from a state that is not the registered one',
    reason: 'wrong old state',
    async arrange() {
      const { params, v1, unchanged } = await appDispute();
      const forged = next(v1, 1n, [0n, 10n]);
      const v2 = next(v1, 2n, [0n, 10n]);
      return {
        act: () => bob.adjudicator.progress(params, forged, v2, 1, bob.signer.signState(v2)),
        unchanged,
      };
    },
  },
  {
    scenario: 'Bob progresses by two versions at once',
    reason: 'version must increment by one',
    async arrange() {
      const { params, v1, unchanged } = await appDispute();
      const v3 = next(v1, 3n, [4n, 6n]);
      return { act: () => bob.adjudicator.progress(params, v1, v3, 1, bob.signer.signState(v3)), unchanged };
    },
  },
  {
    scenario: 'Bob progresses to a state that creates money',
    reason: 'sum of balances mismatch',
    async arrange() {
      const { params, v1, unchanged } = await appDispute();
      const v2 = next(v1, 2n, [5n, 6n]);
      return { act: () => bob.adjudicator.progress(params, v1, v2, 1, bob.signer.signState(v2)), unchanged };
    },
  },
  {
    scenario: "Bob submits his own move as Alice's",
    reason: 'invalid signature',
    async arrange() {
      const { params, v1, unchanged } = await appDispute();
      const v2 = next(v1, 2n, [4n, 6n]);
      return { act: () => bob.adjudicator.progress(params, v1, v2, 0, bob.signer.signState(v2)), unchanged };
    },
  },
  {
    scenario: 'Bob progresses a payment channel (no app)',
    reason: 'must have app',
    async arrange() {
      const { params, init } = channel();
      const v1 = next(init, 1n, [5n, 5n]);
      await register(params, v1);
      await passChallenge(params);
      const v2 = next(v1, 2n, [4n, 6n]);
      return {
        act: () => bob.adjudicator.progress(params, v1, v2, 1, bob.signer.signState(v2)),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: 'Mallory progresses as participant 2 of a two-party channel',
    reason: 'actorIdx out of range',
    async arrange() {
      const { params, v1, unchanged } = await appDispute();
      const v2 = next(v1, 2n, [0n, 10n]);
      return {
        act: () => mallory.adjudicator.progress(params, v1, v2, 2, mallory.signer.signState(v2)),
        unchanged,
      };
    },
  },
];

describe('progress refuses', () => {
  it.each(progressRefusals)('$scenario: "$reason"', runRefusal);
});
