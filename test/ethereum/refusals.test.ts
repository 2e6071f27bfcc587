// Refusals of the Perun contracts, one scenario per row: every way register, conclude,
// concludeFinal, progress, deposit, withdraw and setOutcome must fail. Each row runs on a
// fresh channel of its own and asserts the exact revert reason (a ChainError's
// details.reason) and that nothing it watches on chain changed. Also: re-registering the
// registered state is a no-op, concludeFinal supersedes a dispute, an underfunded channel's
// outcome is ignored, and a re-entrant ERC20 token cannot make a holder pay twice.
import { Contract, Wallet } from 'ethers';

import { DisputePhase } from '../../src/channels/ethereum/adjudicator.js';
import { artifact } from '../../src/channels/ethereum/artifacts.js';
import { assetHolderContract } from '../../src/channels/ethereum/contracts.js';
import { deployContract } from '../../src/channels/ethereum/deploy.js';
import {
  fundingId,
  hashState,
  type Address,
  type Hex,
  type Params,
  type State,
  type SubAlloc,
  type WithdrawalAuth,
} from '../../src/channels/ethereum/encoding.js';
import { allocation, ledgerParams, stateOf } from './fixtures.js';
import { ethChannel, expectRefused, next, signed, startWorld, type Party, type World } from './harness.js';

let world: World;
let alice: Party;
let bob: Party;
let mallory: Party;

beforeAll(async () => {
  world = await startWorld();
  alice = world.party(1, 'Alice');
  bob = world.party(2, 'Bob');
  mallory = world.party(3, 'Mallory');
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

// ---------------------------------------------------------------------------------------------
// Refusal rows: `arrange` sets the scene and returns the refused call (`act`) and what must be
// the same before and after it (`unchanged`).

interface Scene {
  act: () => Promise<unknown>;
  unchanged: () => Promise<unknown>;
}

interface Refusal {
  scenario: string;
  reason: string;
  arrange: () => Promise<Scene>;
}

async function runRefusal({ reason, arrange }: Refusal): Promise<void> {
  const { act, unchanged } = await arrange();
  const before = await unchanged();
  await expectRefused(act(), reason);
  expect(await unchanged()).toEqual(before);
}

// ---------------------------------------------------------------------------------------------
// Observations.

const watch =
  (...reads: Array<() => Promise<unknown>>) =>
  () =>
    Promise.all(reads.map((r) => r()));

const disputes =
  (...ids: Hex[]) =>
  () =>
    Promise.all(ids.map((id) => alice.adjudicator.dispute(id)));

const holdingsOf = (holder: Contract, params: Params, channelID: Hex): Promise<bigint[]> =>
  Promise.all(
    params.participants.map(
      (p) => holder.getFunction('holdings').staticCall(fundingId(channelID, p.ethAddress)) as Promise<bigint>,
    ),
  );

const holdings = (holder: Contract, params: Params, channelID: Hex) => () =>
  holdingsOf(holder, params, channelID);

const ethBalance = (a: Address): Promise<bigint> => world.chain.provider().getBalance(a);

const tokenBalance = (token: Contract, a: Address): Promise<bigint> =>
  token.getFunction('balanceOf').staticCall(a) as Promise<bigint>;

const fresh = (): Address => Wallet.createRandom().address;

// ---------------------------------------------------------------------------------------------
// Scenes.

/** A fresh Alice–Bob ETH ledger channel (its own nonce), 5 wei each. */
const channel = (overrides: Partial<Params> = {}) => ethChannel(world, alice, bob, [5n, 5n], overrides);

/** A fresh Alice–Bob app channel on the TrivialApp. */
const appChannel = () => channel({ app: world.deployment.trivialApp! });

const passChallenge = (params: Params) => world.chain.increaseTime(Number(params.challengeDuration));

/** Alice and Bob each deposit their share of `init`. */
const fund = (params: Params, init: State) =>
  Promise.all([
    alice.funder.deposit({ params, state: init, idx: 0 }),
    bob.funder.deposit({ params, state: init, idx: 1 }),
  ]);

/** Alice registers `state`, signed by Alice and Bob. */
const register = (params: Params, state: State) =>
  alice.adjudicator.register(signed(params, state, [alice, bob]));

/** A channel that Alice and Bob funded (5/5) and closed cooperatively at 3/7. */
async function closedChannel() {
  const { params, init } = channel();
  await fund(params, init);
  const final = next(init, 1n, [3n, 7n], true);
  await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
  return { params, init, final };
}

/** A sub-channel between the parent's participants at version 1 with balances `bals`. */
function subChannel(parent: Params, bals: [bigint, bigint], overrides: Partial<Params> = {}) {
  const params = ledgerParams(
    parent.participants.map((p) => p.ethAddress),
    { ledgerChannel: false, ...overrides },
  );
  const state = stateOf(params, 1n, allocation(world.chainId, [world.deployment.assetHolderETH], [bals]));
  return { params, state };
}

/** The parent's sub-allocation for `sub`, of `total` (default: the sum of sub's balances). */
function lockOf(sub: State, total?: bigint): SubAlloc {
  const sum = sub.outcome.balances[0]!.reduce((a, b) => a + b, 0n);
  return { ID: sub.channelID, balances: [total ?? sum], indexMap: [0, 1] };
}

/** `state` at `version` with balances `bals` and the sub-allocations `locked`. */
function locking(state: State, version: bigint, bals: bigint[], locked: SubAlloc[], isFinal = false): State {
  const s = next(state, version, bals, isFinal);
  return { ...s, outcome: { ...s.outcome, locked } };
}

function authFor(
  params: Params,
  channelID: Hex,
  idx: number,
  receiver: Address,
  amount: bigint,
): WithdrawalAuth {
  return { channelID, participant: params.participants[idx]!, receiver, amount };
}

/** Sends a withdrawal from `by`'s account. */
const withdraw = (by: Party, holder: Contract, auth: WithdrawalAuth, sig: Hex) =>
  by.tx.send(holder, 'withdraw', [auth, sig]);

// ---------------------------------------------------------------------------------------------

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

const depositRefusals: Refusal[] = [
  {
    scenario: 'Alice deposits 5 wei of ETH but sends 4',
    reason: 'wrong amount of ETH for deposit',
    async arrange() {
      const { params, init } = channel();
      const fid = fundingId(init.channelID, alice.signer.address);
      const holder = world.deployment.assetHolderETH;
      return {
        act: () => alice.tx.send(world.ethHolder, 'deposit', [fid, 5n], 4n),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(holder)),
      };
    },
  },
  {
    scenario: 'Alice deposits tokens and attaches ETH',
    reason: 'message value must be 0 for token deposit',
    async arrange() {
      const { params, init } = channel();
      const fid = fundingId(init.channelID, alice.signer.address);
      const holder = world.deployment.assetHolderERC20;
      await alice.tx.send(world.token, 'approve', [holder, 5n]);
      return {
        act: () => alice.tx.send(world.erc20Holder, 'deposit', [fid, 5n], 1n),
        unchanged: watch(
          holdings(world.erc20Holder, params, init.channelID),
          () => ethBalance(holder),
          () => tokenBalance(world.token, holder),
        ),
      };
    },
  },
  {
    scenario: 'Alice deposits tokens she has not approved',
    reason: 'transferFrom failed',
    async arrange() {
      const { params, init } = channel();
      const fid = fundingId(init.channelID, alice.signer.address);
      const holder = world.deployment.assetHolderERC20;
      await alice.tx.send(world.token, 'approve', [holder, 0n]);
      return {
        act: () => alice.tx.send(world.erc20Holder, 'deposit', [fid, 5n]),
        unchanged: watch(
          holdings(world.erc20Holder, params, init.channelID),
          () => tokenBalance(world.token, holder),
          () => tokenBalance(world.token, alice.account),
        ),
      };
    },
  },
];

const withdrawRefusals: Refusal[] = [
  {
    scenario: 'Alice withdraws her deposit while the channel is still in dispute',
    reason: 'channel not settled',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      await register(params, next(init, 1n, [5n, 5n]));
      const auth = authFor(params, init.channelID, 0, fresh(), 5n);
      return {
        act: () => withdraw(alice, world.ethHolder, auth, alice.signer.signWithdrawalAuth(auth)),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
  {
    scenario: 'Alice withdraws 4 wei when the outcome gave her 3',
    reason: 'insufficient funds',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, fresh(), 4n);
      return {
        act: () => withdraw(alice, world.ethHolder, auth, alice.signer.signWithdrawalAuth(auth)),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
  {
    scenario: "Bob signs a withdrawal of Alice's holding to himself",
    reason: 'signature verification failed',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, bob.account, 3n);
      return {
        act: () => withdraw(bob, world.ethHolder, auth, bob.signer.signWithdrawalAuth(auth)),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: "Mallory replays Alice's authorization after it was paid out",
    reason: 'insufficient funds',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, fresh(), 3n);
      const sig = alice.signer.signWithdrawalAuth(auth);
      await withdraw(alice, world.ethHolder, auth, sig);
      expect(await ethBalance(auth.receiver)).toBe(3n);
      return {
        act: () => withdraw(mallory, world.ethHolder, auth, sig),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
  {
    scenario: "Mallory raises the amount of Alice's signed authorization",
    reason: 'signature verification failed',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, fresh(), 1n);
      const sig = alice.signer.signWithdrawalAuth(auth);
      return {
        act: () => withdraw(mallory, world.ethHolder, { ...auth, amount: 3n }, sig),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
];

const setOutcomeRefusals: Refusal[] = [
  {
    scenario: 'Mallory sets the outcome of a funded channel on the ETH holder',
    reason: 'can only be called by the adjudicator',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      return {
        act: () =>
          mallory.tx.send(world.ethHolder, 'setOutcome', [init.channelID, params.participants, [0n, 10n]]),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), disputes(init.channelID)),
      };
    },
  },
  {
    scenario: 'Mallory sets the outcome of a channel on the ERC20 holder',
    reason: 'can only be called by the adjudicator',
    async arrange() {
      const { params, init } = channel();
      return {
        act: () =>
          mallory.tx.send(world.erc20Holder, 'setOutcome', [init.channelID, params.participants, [0n, 10n]]),
        unchanged: watch(holdings(world.erc20Holder, params, init.channelID)),
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

describe('progress refuses', () => {
  it.each(progressRefusals)('$scenario: "$reason"', runRefusal);
});

describe('deposit refuses', () => {
  it.each(depositRefusals)('$scenario: "$reason"', runRefusal);
});

describe('withdraw refuses', () => {
  it.each(withdrawRefusals)('$scenario: "$reason"', runRefusal);
});

describe('setOutcome refuses', () => {
  it.each(setOutcomeRefusals)('$scenario: "$reason"', runRefusal);
});

describe('an underfunded channel', () => {
  it('ignores its outcome: Alice gets back exactly her deposit and Bob gets nothing', async () => {
    const { params, init } = channel();
    await alice.funder.deposit({ params, state: init, idx: 0 }); // Bob never deposits
    const v1 = next(init, 1n, [0n, 10n]);
    await bob.adjudicator.register(signed(params, v1, [alice, bob]));
    await passChallenge(params);
    await bob.adjudicator.conclude(params, v1);
    expect(await holdingsOf(world.ethHolder, params, init.channelID)).toEqual([5n, 0n]);

    const rb = fresh();
    const bobs = authFor(params, init.channelID, 1, rb, 1n);
    await expectRefused(
      withdraw(bob, world.ethHolder, bobs, bob.signer.signWithdrawalAuth(bobs)),
      'insufficient funds',
    );
    expect(await ethBalance(rb)).toBe(0n);

    const ra = fresh();
    const tooMuch = authFor(params, init.channelID, 0, ra, 6n);
    await expectRefused(
      withdraw(alice, world.ethHolder, tooMuch, alice.signer.signWithdrawalAuth(tooMuch)),
      'insufficient funds',
    );
    const deposit = authFor(params, init.channelID, 0, ra, 5n);
    await withdraw(alice, world.ethHolder, deposit, alice.signer.signWithdrawalAuth(deposit));
    expect(await ethBalance(ra)).toBe(5n);
    expect(await holdingsOf(world.ethHolder, params, init.channelID)).toEqual([0n, 0n]);
  });
});

describe('a malicious ERC20 token', () => {
  it('cannot make the holder pay a withdrawal twice by re-entering withdraw from transfer', async () => {
    const deployer = world.chain.wallet(0);
    const tokenAddress = await deployContract(deployer, 'ReentrantToken', [
      [alice.account, bob.account],
      1000n,
    ]);
    const holderAddress = await deployContract(deployer, 'AssetHolderERC20', [
      world.deployment.adjudicator,
      tokenAddress,
    ]);
    const provider = world.chain.provider();
    const token = new Contract(tokenAddress, artifact('ReentrantToken').abi, provider);
    const holder = assetHolderContract(holderAddress, provider);

    const params = ledgerParams([alice.signer.address, bob.signer.address]);
    const init = stateOf(params, 0n, allocation(world.chainId, [holderAddress], [[60n, 40n]]));
    await fund(params, init);
    const final = next(init, 1n, [70n, 30n], true);
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);

    const auth = authFor(params, init.channelID, 0, fresh(), 70n);
    const sig = alice.signer.signWithdrawalAuth(auth);
    await mallory.tx.send(token, 'arm', [
      holderAddress,
      holder.interface.encodeFunctionData('withdraw', [auth, sig]),
    ]);
    const held = await tokenBalance(token, holderAddress);
    expect(held).toBe(100n);

    await withdraw(alice, holder, auth, sig);
    expect(await token.getFunction('attacked').staticCall()).toBe(true);
    expect(await token.getFunction('reentrySucceeded').staticCall()).toBe(false);
    expect(held - (await tokenBalance(token, holderAddress))).toBe(70n);
    expect(await tokenBalance(token, auth.receiver)).toBe(70n);
    expect(await holdingsOf(holder, params, init.channelID)).toEqual([0n, 30n]);
  });
});
