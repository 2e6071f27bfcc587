// The TON Perun contract's paths on the sandbox: the happy path (deposits, concludeFinal,
// withdrawals), the dispute path (register a stale state, refute, wait out the challenge,
// conclude, withdraw), concludeFinal during a dispute, an underfunded channel's refund, and the
// conservation property over random balances: what the participants withdraw is exactly the
// outcome (or, underfunded, exactly their deposits), the holdings end at zero and the contract's
// own balance only pays its storage.
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import type { Hex, Params, State } from '../../src/channels/types.js';
import { PHASE_CONCLUDED, PHASE_DISPUTE } from '../../src/channels/ton/contract.js';
import { propertyRuns } from '../property-seed.js';
import {
  fid,
  sign,
  tonCast,
  world,
  alice,
  bob,
  third as relayer,
  tonParams,
  tonState,
  TON,
  type TonParty,
} from './harness.js';

tonCast('relayer');

/** Withdraws `amount` of `p`'s holdings to a fresh receiver (sent by the relayer) and returns what the receiver got. */
async function withdraw(p: TonParty, state: State, amount: bigint): Promise<bigint> {
  const receiver = new TonAddress(0, randomBytes(32));
  const auth = { channelID: state.channelID, participant: p.key, receiver, amount };
  await world.perun.withdraw(relayer.wallet, auth, p.signer.signWithdrawal(auth));
  const txs = await world.chain.transactions(receiver, 0n);
  return txs.reduce((sum, t) => sum + t.inValue, 0n);
}

async function fund(params: Params, state: State, a: bigint, b: bigint): Promise<void> {
  if (a > 0n) await world.perun.deposit(alice.wallet, state.channelID, params.participants[0]!.ethAddress, a);
  if (b > 0n) await world.perun.deposit(bob.wallet, state.channelID, params.participants[1]!.ethAddress, b);
}

const holdings = (s: State, p: TonParty) => world.perun.holdings(fid(s, p));

test('happy path: deposit, concludeFinal, withdraw', async () => {
  const params = tonParams(alice, bob);
  const v0 = tonState(world, params, 0n, [3n * TON, 2n * TON]);
  const before = await alice.wallet.balance();
  await fund(params, v0, 3n * TON, 2n * TON);
  const spent = before - (await alice.wallet.balance());
  expect(spent).toBeGreaterThan(3n * TON);
  expect(spent).toBeLessThan(3n * TON + TON / 50n); // the rest of the call value came back
  expect(await holdings(v0, alice)).toBe(3n * TON);
  expect(await holdings(v0, bob)).toBe(2n * TON);

  const final = tonState(world, params, 5n, [TON, 4n * TON], true);
  await world.perun.concludeFinal(relayer.wallet, params, final, sign(final, alice, bob));
  const d = await world.perun.dispute(final.channelID);
  expect(d).toMatchObject({ registered: true, phase: PHASE_CONCLUDED, version: 5n });
  expect(await holdings(final, alice)).toBe(TON);
  expect(await holdings(final, bob)).toBe(4n * TON);

  expect(await withdraw(alice, final, TON)).toBe(TON);
  expect(await withdraw(bob, final, 4n * TON)).toBe(4n * TON);
  expect(await holdings(final, alice)).toBe(0n);
  expect(await holdings(final, bob)).toBe(0n);
});

test('dispute path: register a stale state, refute, wait, conclude, withdraw', async () => {
  const params = tonParams(alice, bob, 100n);
  const v0 = tonState(world, params, 0n, [2n * TON, 2n * TON]);
  await fund(params, v0, 2n * TON, 2n * TON);
  const stale = tonState(world, params, 1n, [TON, 3n * TON]);
  const latest = tonState(world, params, 4n, [3n * TON, TON]);

  const t0 = await world.chain.now();
  await world.perun.register(bob.wallet, { params, state: stale, sigs: sign(stale, alice, bob) });
  expect(await world.perun.dispute(stale.channelID)).toMatchObject({
    registered: true,
    phase: PHASE_DISPUTE,
    version: 1n,
    timeout: t0 + 100n,
  });

  world.chain.advance(40);
  await world.perun.register(alice.wallet, { params, state: latest, sigs: sign(latest, alice, bob) });
  // a refutation keeps the running challenge
  expect(await world.perun.dispute(latest.channelID)).toMatchObject({ version: 4n, timeout: t0 + 100n });

  world.chain.advance(60);
  await world.perun.conclude(relayer.wallet, params, latest);
  expect((await world.perun.dispute(latest.channelID)).phase).toBe(PHASE_CONCLUDED);
  expect(await withdraw(alice, latest, 3n * TON)).toBe(3n * TON);
  expect(await withdraw(bob, latest, TON)).toBe(TON);
});

test('a final state registered concludes at once; concludeFinal ends a running dispute', async () => {
  const params = tonParams(alice, bob, 1_000n);
  const v0 = tonState(world, params, 0n, [TON, TON]);
  await fund(params, v0, TON, TON);
  const v1 = tonState(world, params, 1n, [TON / 2n, 3n * (TON / 2n)]);
  await world.perun.register(bob.wallet, { params, state: v1, sigs: sign(v1, alice, bob) });
  const final = tonState(world, params, 2n, [3n * (TON / 2n), TON / 2n], true);
  await world.perun.concludeFinal(alice.wallet, params, final, sign(final, alice, bob));
  expect(await world.perun.dispute(final.channelID)).toMatchObject({ phase: PHASE_CONCLUDED, version: 2n });
  expect(await holdings(final, alice)).toBe(3n * (TON / 2n));

  const other = tonParams(alice, bob, 1_000n);
  const f = tonState(world, other, 3n, [0n, 0n], true);
  const now = await world.chain.now();
  await world.perun.register(bob.wallet, { params: other, state: f, sigs: sign(f, alice, bob) });
  expect(await world.perun.dispute(f.channelID)).toMatchObject({ phase: PHASE_DISPUTE, timeout: now });
  await world.perun.conclude(bob.wallet, other, f);
  expect((await world.perun.dispute(f.channelID)).phase).toBe(PHASE_CONCLUDED);
});

test('an underfunded channel leaves each participant its own deposit', async () => {
  const params = tonParams(alice, bob);
  const v0 = tonState(world, params, 0n, [2n * TON, 2n * TON]);
  await fund(params, v0, 2n * TON, 0n); // bob never deposits
  const final = tonState(world, params, 1n, [0n, 4n * TON], true);
  await world.perun.concludeFinal(alice.wallet, params, final, sign(final, alice, bob));
  expect(await holdings(final, alice)).toBe(2n * TON);
  expect(await holdings(final, bob)).toBe(0n);
  expect(await withdraw(alice, final, 2n * TON)).toBe(2n * TON);
});

test('property: withdrawals are exactly the outcome (or the deposits when underfunded); the contract keeps nothing', async () => {
  const amount = fc.bigInt({ min: 0n, max: 50n * TON });
  await fc.assert(
    fc.asyncProperty(
      amount,
      amount,
      fc.bigInt({ min: 0n, max: 1n << 20n }),
      fc.boolean(),
      fc.boolean(),
      async (d0, d1, cut, dispute, underfund) => {
        const params = tonParams(alice, bob, 10n);
        const total = d0 + d1;
        const bal0 = total === 0n ? 0n : (total * cut) >> 20n;
        const outcome: [bigint, bigint] = [bal0, total - bal0];
        const held = underfund ? [d0, d1 === 0n ? 0n : d1 - 1n] : [d0, d1];
        const v0 = tonState(world, params, 0n, [d0, d1]);
        const contractBefore = await world.chain.balance(world.perun.address);
        await fund(params, v0, held[0]!, held[1]!);
        const last = tonState(world, params, 3n, outcome, !dispute);
        const sigs: Hex[] = sign(last, alice, bob);
        if (dispute) {
          await world.perun.register(bob.wallet, { params, state: last, sigs });
          world.chain.advance(10);
          await world.perun.conclude(alice.wallet, params, last);
        } else {
          await world.perun.concludeFinal(bob.wallet, params, last, sigs);
        }
        const funded = held[0]! + held[1]! >= total;
        const expected = funded ? outcome : held;
        const got = [
          expected[0]! > 0n ? await withdraw(alice, last, expected[0]!) : 0n,
          expected[1]! > 0n ? await withdraw(bob, last, expected[1]!) : 0n,
        ];
        expect(got).toEqual(expected);
        expect(await holdings(last, alice)).toBe(0n);
        expect(await holdings(last, bob)).toBe(0n);
        const contractAfter = await world.chain.balance(world.perun.address);
        // everything deposited left again; the contract's own balance only paid storage
        const drift = contractBefore - contractAfter;
        expect(drift).toBeGreaterThanOrEqual(0n);
        expect(drift).toBeLessThan(TON / 1000n);
      },
    ),
    { numRuns: propertyRuns('TON_CONTRACT_RUNS', 12) },
  );
}, 120_000);
