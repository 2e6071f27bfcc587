// The TON backend's funder, adjudicator and event source on the sandbox, through the core's
// interfaces: funding deposits our share and waits for the peer's (or times out naming what is
// missing), a dispute runs register → refute → conclude → withdraw, withdrawing again is
// harmless, and the event subscription delivers registered/concluded events with the state,
// params and signatures, resumes from a stored cursor without repeating or skipping.
import type { AdjudicatorEvent, FundingRequest } from '../../src/channels/interfaces.js';
import { FundingTimeoutError } from '../../src/channels/errors.js';
import { tonEnvironment, type TonEnvironment } from '../../src/channels/ton/backend.js';
import { fundingId } from '../../src/channels/ton/encoding.js';
import { sign, tonWorldWith, tonParams, tonState, TON, type TonParty, type TonWorld } from './harness.js';

let world: TonWorld;
let alice: TonParty;
let bob: TonParty;
let envA: TonEnvironment;
let envB: TonEnvironment;

tonWorldWith(['alice', 'bob'], (w, p) => {
  world = w;
  [alice, bob] = p as [TonParty, TonParty];
  envA = tonEnvironment(world.chain, world.perun.address, alice.signer, alice.wallet, { pollIntervalMs: 5 });
  envB = tonEnvironment(world.chain, world.perun.address, bob.signer, bob.wallet, { pollIntervalMs: 5 });
});

function request(idx: number, bals: [bigint, bigint]): { a: FundingRequest; b: FundingRequest } {
  const params = tonParams(alice, bob, 50n);
  const state = tonState(world, params, 0n, bals);
  return { a: { params, state, idx: 0 }, b: { params, state, idx: 1 } };
}

test('funding deposits each share once and resolves when both are held; the contract agrees on funding IDs', async () => {
  const { a, b } = request(0, [2n * TON, TON]);
  await Promise.all([envA.funder.fund(a), envB.funder.fund(b)]);
  const fid = fundingId(a.state.channelID, alice.key);
  expect(await world.perun.holdings(fid)).toBe(2n * TON);
  const viaGetter = await world.chain.get(world.perun.address, 'fundingID', [
    { type: 'int', value: BigInt(a.state.channelID) },
    { type: 'int', value: BigInt(alice.key) },
  ]);
  expect(`0x${viaGetter.readBigNumber().toString(16).padStart(64, '0')}`).toBe(fid);
  await envA.funder.fund(a); // funded already: nothing more is deposited
  expect(await world.perun.holdings(fid)).toBe(2n * TON);
});

test('funding times out naming the missing deposit', async () => {
  const { a } = request(0, [TON, TON]);
  const err = await envA.funder.fund(a, { timeoutMs: 50 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FundingTimeoutError);
  expect((err as FundingTimeoutError).details.missing).toEqual([
    { participant: 1, asset: 0, required: String(TON), held: '0' },
  ]);
});

test('dispute through the adjudicator, with events from a stored cursor', async () => {
  const { a, b } = request(0, [TON, TON]);
  await Promise.all([envA.funder.fund(a), envB.funder.fund(b)]);
  const { params } = a;
  const stale = tonState(world, params, 1n, [0n, 2n * TON]);
  const latest = tonState(world, params, 2n, [2n * TON, 0n]);

  const start = await envA.events.head!();
  const seen: AdjudicatorEvent[] = [];
  const sub = envA.events.subscribe({
    fromBlock: start,
    channelIDs: [a.state.channelID],
    onEvent: (e) => void seen.push(e),
  });

  await envB.adjudicator.register({ params, state: stale, sigs: sign(stale, alice, bob) });
  await sub.poll();
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({
    kind: 'registered',
    channelID: a.state.channelID,
    version: 1n,
    state: stale,
    params,
  });
  expect(seen[0]!.sigs).toEqual(sign(stale, alice, bob));
  const cursor = sub.cursor;
  await sub.stop();

  expect(await envA.adjudicator.dispute(a.state.channelID)).toMatchObject({ stage: 'dispute', version: 1n });
  await envA.adjudicator.register({ params, state: latest, sigs: sign(latest, alice, bob) });
  await expect(envA.adjudicator.conclude(params, latest)).rejects.toThrow();
  world.chain.advance(50);
  await envA.adjudicator.conclude(params, latest);
  expect(await envA.adjudicator.dispute(a.state.channelID)).toMatchObject({
    stage: 'concluded',
    version: 2n,
  });

  // a new subscription from the stored cursor sees the refutation and the conclusion, not the first registration
  const resumed: AdjudicatorEvent[] = [];
  const again = envA.events.subscribe({ fromBlock: cursor, onEvent: (e) => void resumed.push(e) });
  await again.poll();
  expect(resumed.map((e) => [e.kind, e.version])).toEqual([
    ['registered', 2n],
    ['concluded', 2n],
  ]);
  await again.poll();
  expect(resumed).toHaveLength(2);

  const aliceBefore = await alice.wallet.balance();
  expect(await envA.adjudicator.withdraw(params, latest, 0)).toEqual([{ asset: 0, amount: 2n * TON }]);
  expect((await alice.wallet.balance()) - aliceBefore).toBeGreaterThan(2n * TON - TON / 50n);
  expect(await envA.adjudicator.withdraw(params, latest, 0)).toEqual([{ asset: 0, amount: 0n }]);
  expect(await envB.adjudicator.withdraw(params, latest, 1)).toEqual([{ asset: 0, amount: 0n }]);
  await expect(envA.adjudicator.withdraw(params, latest, 1)).rejects.toThrow(/another participant/);
});
