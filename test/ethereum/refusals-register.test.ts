// Refusals of the Perun adjudicator's register, one scenario per row: each row runs on a fresh
// channel of its own and asserts the exact revert reason (a ChainError's details.reason) and that
// nothing it watches on chain changed. Also: re-registering the registered state is a no-op.
import {} from './fixtures.js';
import { next, signed } from './harness.js';
import {
  world,
  alice,
  bob,
  mallory,
  useWorld,
  type Refusal,
  runRefusal,
  disputes,
  channel,
  passChallenge,
  register,
  subChannel,
  lockOf,
  locking,
} from './refusals-support.js';

useWorld();

const registerRefusals: Refusal[] = [
  {
    scenario: "Mallory registers a state whose channel ID is another channel's",
    reason: 'invalid params',
    async arrange() {
      const { params, init } = channel();
      const other = channel();
      const state = next(other.init, 1n, [4n, 6n]);
      return {
        act: () => mallory.adjudicator.register(signed(params, state, [alice, bob])),
        unchanged: disputes(init.channelID, other.init.channelID),
      };
    },
  },
  {
    scenario: "Mallory registers a state with Alice's signature only",
    reason: 'signatures length mismatch',
    async arrange() {
      const { params, init } = channel();
      const v1 = next(init, 1n, [4n, 6n]);
      return {
        act: () => mallory.adjudicator.register({ params, state: v1, sigs: [alice.signer.signState(v1)] }),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: "Mallory registers a state with Alice's signature twice",
    reason: 'invalid signature',
    async arrange() {
      const { params, init } = channel();
      const v1 = next(init, 1n, [4n, 6n]);
      const sig = alice.signer.signState(v1);
      return {
        act: () => mallory.adjudicator.register({ params, state: v1, sigs: [sig, sig] }),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: "Mallory registers a state with her own signature in Bob's place",
    reason: 'invalid signature',
    async arrange() {
      const { params, init } = channel();
      const v1 = next(init, 1n, [0n, 10n]);
      return {
        act: () =>
          mallory.adjudicator.register({
            params,
            state: v1,
            sigs: [alice.signer.signState(v1), mallory.signer.signState(v1)],
          }),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: 'Bob registers version 3 after Alice registered version 5',
    reason: 'invalid version',
    async arrange() {
      const { params, init } = channel();
      await register(params, next(init, 5n, [6n, 4n]));
      const v3 = next(init, 3n, [2n, 8n]);
      return {
        act: () => bob.adjudicator.register(signed(params, v3, [alice, bob])),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: 'Bob registers another state with the version Alice registered',
    reason: 'invalid version',
    async arrange() {
      const { params, init } = channel();
      await register(params, next(init, 5n, [6n, 4n]));
      const other5 = next(init, 5n, [2n, 8n]);
      return {
        act: () => bob.adjudicator.register(signed(params, other5, [alice, bob])),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: 'Bob refutes with a newer state after the refutation timeout passed',
    reason: 'refutation timeout passed',
    async arrange() {
      const { params, init } = channel();
      await register(params, next(init, 1n, [6n, 4n]));
      await passChallenge(params);
      const v2 = next(init, 2n, [2n, 8n]);
      return {
        act: () => bob.adjudicator.register(signed(params, v2, [alice, bob])),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: 'Mallory registers a channel that is not a ledger channel at the top level',
    reason: 'not ledger',
    async arrange() {
      const { params, init } = channel({ ledgerChannel: false });
      const v1 = next(init, 1n, [4n, 6n]);
      return {
        act: () => mallory.adjudicator.register(signed(params, v1, [alice, bob])),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: 'Alice registers a ledger channel with a virtual sub-channel that has an app',
    reason: 'cannot have app',
    async arrange() {
      const { params, init } = channel();
      const virtual = subChannel(params, [1n, 1n], {
        virtualChannel: true,
        app: world.deployment.trivialApp!,
      });
      const parent = locking(init, 1n, [4n, 4n], [lockOf(virtual.state)]);
      return {
        act: () =>
          alice.adjudicator.register(signed(params, parent, [alice, bob]), [
            signed(virtual.params, virtual.state, [alice, bob]),
          ]),
        unchanged: disputes(init.channelID, virtual.state.channelID),
      };
    },
  },
  {
    scenario: 'Alice registers a ledger channel with a virtual sub-channel that locks funds',
    reason: 'funds locked',
    async arrange() {
      const { params, init } = channel();
      const virtual = subChannel(params, [1n, 1n], { virtualChannel: true });
      const grandchild = subChannel(virtual.params, [1n, 0n]);
      const virtualState = locking(virtual.state, 1n, [1n, 0n], [lockOf(grandchild.state)]);
      const parent = locking(init, 1n, [4n, 4n], [lockOf(virtualState, 2n)]);
      return {
        act: () =>
          alice.adjudicator.register(signed(params, parent, [alice, bob]), [
            signed(virtual.params, virtualState, [alice, bob]),
            signed(grandchild.params, grandchild.state, [alice, bob]),
          ]),
        unchanged: disputes(init.channelID, virtual.state.channelID, grandchild.state.channelID),
      };
    },
  },
  {
    scenario: "Bob registers a ledger channel with a sub-channel state that is not the locked one's",
    reason: 'invalid sub-channel id',
    async arrange() {
      const { params, init } = channel();
      const locked = subChannel(params, [1n, 1n]);
      const impostor = subChannel(params, [1n, 1n]);
      const parent = locking(init, 1n, [4n, 4n], [lockOf(locked.state)]);
      return {
        act: () =>
          bob.adjudicator.register(signed(params, parent, [alice, bob]), [
            signed(impostor.params, impostor.state, [alice, bob]),
          ]),
        unchanged: disputes(init.channelID, locked.state.channelID, impostor.state.channelID),
      };
    },
  },
  {
    scenario: 'Bob registers a ledger channel that locks funds without the sub-channel state',
    reason: 'subChannels too short',
    async arrange() {
      const { params, init } = channel();
      const sub = subChannel(params, [1n, 1n]);
      const parent = locking(init, 1n, [4n, 4n], [lockOf(sub.state)]);
      return {
        act: () => bob.adjudicator.register(signed(params, parent, [alice, bob]), []),
        unchanged: disputes(init.channelID, sub.state.channelID),
      };
    },
  },
  {
    scenario:
      "Bob registers a ledger channel whose sub-allocation total differs from the sub-channel's balances",
    reason: 'sub-allocation mismatch',
    async arrange() {
      const { params, init } = channel();
      const sub = subChannel(params, [1n, 1n]);
      const parent = locking(init, 1n, [4n, 5n], [lockOf(sub.state, 1n)]);
      return {
        act: () =>
          bob.adjudicator.register(signed(params, parent, [alice, bob]), [
            signed(sub.params, sub.state, [alice, bob]),
          ]),
        unchanged: disputes(init.channelID, sub.state.channelID),
      };
    },
  },
  {
    scenario: 'Mallory registers a state with one balance for two participants',
    reason: 'balances length mismatch',
    async arrange() {
      const { params, init } = channel();
      const v1 = next(init, 1n, [10n]);
      return {
        act: () => mallory.adjudicator.register(signed(params, v1, [alice, bob])),
        unchanged: disputes(init.channelID),
      };
    },
  },
  {
    scenario: 'Alice registers a channel whose challenge duration exceeds 2^64-1',
    reason: 'challenge duration too large',
    async arrange() {
      const { params, init } = channel({ challengeDuration: 1n << 64n });
      const v1 = next(init, 1n, [4n, 6n]);
      return {
        act: () => alice.adjudicator.register(signed(params, v1, [alice, bob])),
        unchanged: disputes(init.channelID),
      };
    },
  },
];

describe('register refuses', () => {
  it.each(registerRefusals)('$scenario: "$reason"', runRefusal);
});

describe('register', () => {
  it('re-registering the registered state is a no-op: it succeeds, emits nothing and changes nothing', async () => {
    const { params, init } = channel();
    const v2 = next(init, 2n, [3n, 7n]);
    await register(params, v2);
    const before = await alice.adjudicator.dispute(init.channelID);
    const receipt = await bob.adjudicator.register(signed(params, v2, [alice, bob]));
    expect(receipt.status).toBe(1);
    expect(receipt.logs).toEqual([]);
    expect(await alice.adjudicator.dispute(init.channelID)).toEqual(before);
  });
});
