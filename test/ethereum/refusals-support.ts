// The set-up of the refusals-*.test.ts scenarios of the Perun contracts: a chain with Alice, Bob
// and Mallory; refusal rows (a scene, the refused call, what must not change) and how one runs;
// what the rows watch on chain; and the scenes they start from.
import { Contract, Wallet } from 'ethers';
import {
  fundingId,
  type Address,
  type Hex,
  type Params,
  type State,
  type SubAlloc,
  type WithdrawalAuth,
} from '../../src/channels/ethereum/encoding.js';
import { allocation, ledgerParams, stateOf } from './fixtures.js';
import { ethChannel, expectRefused, next, signed, startWorld, type Party, type World } from './harness.js';

export let world: World;
export let alice: Party;
export let bob: Party;
export let mallory: Party;

/** Starts the chain with Alice, Bob and Mallory for the test file, and stops it after. */
export function useWorld(): void {
  beforeAll(async () => {
    world = await startWorld();
    alice = world.party(1, 'Alice');
    bob = world.party(2, 'Bob');
    mallory = world.party(3, 'Mallory');
  }, 30_000);
  afterAll(async () => {
    await world?.stop();
  });
}

// ---------------------------------------------------------------------------------------------
// Refusal rows: `arrange` sets the scene and returns the refused call (`act`) and what must be
// the same before and after it (`unchanged`).

export interface Scene {
  act: () => Promise<unknown>;
  unchanged: () => Promise<unknown>;
}

export interface Refusal {
  scenario: string;
  reason: string;
  arrange: () => Promise<Scene>;
}

export async function runRefusal({ reason, arrange }: Refusal): Promise<void> {
  const { act, unchanged } = await arrange();
  const before = await unchanged();
  await expectRefused(act(), reason);
  expect(await unchanged()).toEqual(before);
}

// ---------------------------------------------------------------------------------------------
// Observations.

export const watch =
  (...reads: Array<() => Promise<unknown>>) =>
  () =>
    Promise.all(reads.map((r) => r()));

export const disputes =
  (...ids: Hex[]) =>
  () =>
    Promise.all(ids.map((id) => alice.adjudicator.dispute(id)));

export const holdingsOf = (holder: Contract, params: Params, channelID: Hex): Promise<bigint[]> =>
  Promise.all(
    params.participants.map(
      (p) => holder.getFunction('holdings').staticCall(fundingId(channelID, p.ethAddress)) as Promise<bigint>,
    ),
  );

export const holdings = (holder: Contract, params: Params, channelID: Hex) => () =>
  holdingsOf(holder, params, channelID);

export const ethBalance = (a: Address): Promise<bigint> => world.chain.provider().getBalance(a);

export const tokenBalance = (token: Contract, a: Address): Promise<bigint> =>
  token.getFunction('balanceOf').staticCall(a) as Promise<bigint>;

export const fresh = (): Address => Wallet.createRandom().address;

// ---------------------------------------------------------------------------------------------
// Scenes.

/** A fresh Alice–Bob ETH ledger channel (its own nonce), 5 wei each. */
export const channel = (overrides: Partial<Params> = {}) =>
  ethChannel(world, alice, bob, [5n, 5n], overrides);

/** A fresh Alice–Bob app channel on the TrivialApp. */
export const appChannel = () => channel({ app: world.deployment.trivialApp! });

export const passChallenge = (params: Params) => world.chain.increaseTime(Number(params.challengeDuration));

/** Alice and Bob each deposit their share of `init`. */
export const fund = (params: Params, init: State) =>
  Promise.all([
    alice.funder.deposit({ params, state: init, idx: 0 }),
    bob.funder.deposit({ params, state: init, idx: 1 }),
  ]);

/** Alice registers `state`, signed by Alice and Bob. */
export const register = (params: Params, state: State) =>
  alice.adjudicator.register(signed(params, state, [alice, bob]));

/** A channel that Alice and Bob funded (5/5) and closed cooperatively at 3/7. */
export async function closedChannel() {
  const { params, init } = channel();
  await fund(params, init);
  const final = next(init, 1n, [3n, 7n], true);
  await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
  return { params, init, final };
}

/** A sub-channel between the parent's participants at version 1 with balances `bals`. */
export function subChannel(parent: Params, bals: [bigint, bigint], overrides: Partial<Params> = {}) {
  const params = ledgerParams(
    parent.participants.map((p) => p.ethAddress),
    { ledgerChannel: false, ...overrides },
  );
  const state = stateOf(params, 1n, allocation(world.chainId, [world.deployment.assetHolderETH], [bals]));
  return { params, state };
}

/** The parent's sub-allocation for `sub`, of `total` (default: the sum of sub's balances). */
export function lockOf(sub: State, total?: bigint): SubAlloc {
  const sum = sub.outcome.balances[0]!.reduce((a, b) => a + b, 0n);
  return { ID: sub.channelID, balances: [total ?? sum], indexMap: [0, 1] };
}

/** `state` at `version` with balances `bals` and the sub-allocations `locked`. */
export function locking(
  state: State,
  version: bigint,
  bals: bigint[],
  locked: SubAlloc[],
  isFinal = false,
): State {
  const s = next(state, version, bals, isFinal);
  return { ...s, outcome: { ...s.outcome, locked } };
}

export function authFor(
  params: Params,
  channelID: Hex,
  idx: number,
  receiver: Address,
  amount: bigint,
): WithdrawalAuth {
  return { channelID, participant: params.participants[idx]!, receiver, amount };
}

/** Sends a withdrawal from `by`'s account. */
export const withdraw = (by: Party, holder: Contract, auth: WithdrawalAuth, sig: Hex) =>
  by.tx.send(holder, 'withdraw', [auth, sig]);
