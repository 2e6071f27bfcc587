// Refusals of the TON Perun contract, each on a channel of its own, asserting the exact exit code
// and that the refused call changed nothing it touches (dispute record, holdings), and that a
// refused call's value comes back (the message bounces). Signatures are checked field by field:
// a state signed, then one field changed. Also: re-registering the registered state is a no-op.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress, beginCell } from '@ton/core';
import type { Hex, Params, State } from '../../src/channels/types.js';
import { tonArtifact } from '../../src/channels/ton/artifact.js';
import { CALL_VALUE } from '../../src/channels/ton/contract.js';
import { paramsCell, stateCell, type TonWithdrawalAuth } from '../../src/channels/ton/encoding.js';
import { encodeStruct, type StructValue } from '../../src/channels/ton/schema.js';
import {
  expectRefused,
  fid,
  sign,
  tonCast,
  world,
  alice,
  bob,
  third as mallory,
  tonParams,
  tonState,
  TON,
  type TonParty,
} from './harness.js';

tonCast('mallory');

interface Channel {
  params: Params;
  v0: State;
  at(version: bigint, bals: [bigint, bigint], isFinal?: boolean): State;
}

/** A fresh channel of alice and bob, funded with 1 TON each. */
async function channel(challengeDuration = 100n): Promise<Channel> {
  const params = tonParams(alice, bob, challengeDuration);
  const v0 = tonState(world, params, 0n, [TON, TON]);
  await world.perun.deposit(alice.wallet, v0.channelID, alice.key, TON);
  await world.perun.deposit(bob.wallet, v0.channelID, bob.key, TON);
  return {
    params,
    v0,
    at: (version, bals, isFinal = false) => tonState(world, params, version, bals, isFinal),
  };
}

/** What a refused call must leave alone: the channel's dispute record and both holdings. */
async function snapshot(state: State): Promise<unknown> {
  return {
    dispute: await world.perun.dispute(state.channelID),
    a: await world.perun.holdings(fid(state, alice)),
    b: await world.perun.holdings(fid(state, bob)),
  };
}

const registered = (c: Channel, s: State, sigs: Hex[] = sign(s, alice, bob)) =>
  world.perun.register(bob.wallet, { params: c.params, state: s, sigs });

function withdrawal(s: State, p: TonParty, amount: bigint): TonWithdrawalAuth {
  return { channelID: s.channelID, participant: p.key, receiver: new TonAddress(0, randomBytes(32)), amount };
}

describe('register', () => {
  const fields: Array<[string, (s: State) => State]> = [
    ['version', (s) => ({ ...s, version: s.version + 1n })],
    ['isFinal', (s) => ({ ...s, isFinal: !s.isFinal })],
    [
      'balance of participant 0',
      (s) => ({
        ...s,
        outcome: { ...s.outcome, balances: [[s.outcome.balances[0]![0]! + 1n, s.outcome.balances[0]![1]!]] },
      }),
    ],
    [
      'balance of participant 1',
      (s) => ({
        ...s,
        outcome: { ...s.outcome, balances: [[s.outcome.balances[0]![0]!, s.outcome.balances[0]![1]! - 1n]] },
      }),
    ],
  ];
  test.each(fields)('refuses signatures made before %s changed', async (_f, mutate) => {
    const c = await channel();
    const s = c.at(2n, [TON, TON]);
    const before = await snapshot(s);
    await expectRefused(registered(c, mutate(s), sign(s, alice, bob)), 'SIGNATURE');
    expect(await snapshot(s)).toEqual(before);
  });

  test("refuses swapped signatures, a missing one (signed twice by one) and a stranger's", async () => {
    const c = await channel();
    const s = c.at(1n, [TON, TON]);
    const before = await snapshot(s);
    await expectRefused(registered(c, s, sign(s, bob, alice)), 'SIGNATURE');
    await expectRefused(registered(c, s, sign(s, alice, alice)), 'SIGNATURE');
    await expectRefused(registered(c, s, sign(s, alice, mallory)), 'SIGNATURE');
    await expectRefused(registered(c, s, sign(s, mallory, bob)), 'SIGNATURE');
    expect(await snapshot(s)).toEqual(before);
  });

  test.each<[string, (p: Params) => Params]>([
    ['challenge duration', (p) => ({ ...p, challengeDuration: p.challengeDuration + 1n })],
    ['nonce', (p) => ({ ...p, nonce: p.nonce ^ 1n })],
    ['participants', (p) => ({ ...p, participants: [p.participants[1]!, p.participants[0]!] })],
  ])('refuses params whose %s differ from the channel ID', async (_f, mutate) => {
    const c = await channel();
    const s = c.at(1n, [TON, TON]);
    await expectRefused(
      world.perun.register(bob.wallet, { params: mutate(c.params), state: s, sigs: sign(s, alice, bob) }),
      'CHANNEL_ID',
    );
    expect((await world.perun.dispute(s.channelID)).registered).toBe(false);
  });

  test('refuses a sub-channel or virtual channel and a channel with an app', async () => {
    for (const flags of [{ ledgerChannel: false }, { virtualChannel: true }]) {
      const params = { ...tonParams(alice, bob), ...flags };
      const s = tonState(world, params, 1n, [TON, TON]);
      await expectRefused(
        world.perun.register(bob.wallet, { params, state: s, sigs: sign(s, alice, bob) }),
        'NOT_LEDGER',
      );
    }
    // the TS encoder refuses an app: build the params cell by hand
    const { schema } = tonArtifact();
    const params = tonParams(alice, bob);
    const withApp = encodeStruct(schema, 'Params', {
      challengeDuration: params.challengeDuration,
      nonce: params.nonce,
      app: 1n,
      ledgerChannel: true,
      virtualChannel: false,
      participants: { p0: BigInt(alice.key), p1: BigInt(bob.key) },
    });
    const s = {
      ...tonState(world, params, 1n, [TON, TON]),
      channelID: `0x${withApp.hash().toString('hex')}`,
    };
    const sigs = sign(s, alice, bob).map((x): StructValue => ({ bits: Buffer.from(x.slice(2), 'hex') }));
    const body = encodeStruct(schema, 'Register', {
      queryId: 0n,
      params: withApp,
      state: stateCell(s),
      sigs: { sig0: sigs[0]!, sig1: sigs[1]! },
    });
    await expectRefused(alice.wallet.send(world.perun.address, CALL_VALUE, body), 'APP');
  });

  test('refuses a state of another holder or another network', async () => {
    const c = await channel();
    const s = c.at(1n, [TON, TON]);
    const asset = s.outcome.assets[0]!;
    const others: State[] = [
      {
        ...s,
        outcome: { ...s.outcome, assets: [{ ...asset, ccHolder: `0x${randomBytes(32).toString('hex')}` }] },
      },
      { ...s, outcome: { ...s.outcome, assets: [{ ...asset, chainID: 2n ** 32n - 3n }] } },
    ];
    for (const o of others) await expectRefused(registered(c, o), 'ASSET');
    expect((await world.perun.dispute(s.channelID)).registered).toBe(false);
  });

  test('refuses a stale or equal version, and any register after the timeout', async () => {
    const c = await channel(100n);
    await registered(c, c.at(3n, [TON, TON]));
    const before = await snapshot(c.v0);
    await expectRefused(registered(c, c.at(2n, [2n * TON, 0n])), 'STALE_VERSION');
    await expectRefused(registered(c, c.at(3n, [2n * TON, 0n])), 'STALE_VERSION');
    expect(await snapshot(c.v0)).toEqual(before);
    world.chain.advance(100);
    await expectRefused(registered(c, c.at(4n, [2n * TON, 0n])), 'TIMEOUT_PASSED');
    expect(await snapshot(c.v0)).toEqual(before);
  });

  test('re-registering the registered state changes nothing', async () => {
    const c = await channel(100n);
    const s = c.at(1n, [TON, TON]);
    await registered(c, s);
    const before = await snapshot(s);
    world.chain.advance(10);
    await registered(c, s);
    expect(await snapshot(s)).toEqual(before);
  });

  test('refuses register after conclude', async () => {
    const c = await channel(10n);
    const s = c.at(1n, [TON, TON]);
    await registered(c, s);
    world.chain.advance(10);
    await world.perun.conclude(alice.wallet, c.params, s);
    await expectRefused(registered(c, c.at(2n, [2n * TON, 0n])), 'CONCLUDED');
  });
});

describe('conclude and concludeFinal', () => {
  test('conclude refuses an unregistered channel, a pending timeout, another state, and a second conclusion', async () => {
    const c = await channel(100n);
    const s = c.at(1n, [2n * TON, 0n]);
    await expectRefused(world.perun.conclude(alice.wallet, c.params, s), 'NOT_REGISTERED');
    await registered(c, s);
    world.chain.advance(99);
    await expectRefused(world.perun.conclude(alice.wallet, c.params, s), 'TIMEOUT_PENDING');
    world.chain.advance(1);
    await expectRefused(
      world.perun.conclude(alice.wallet, c.params, c.at(1n, [0n, 2n * TON])),
      'STATE_MISMATCH',
    );
    await world.perun.conclude(alice.wallet, c.params, s);
    const after = await snapshot(s);
    // the outcome is set once: a second conclusion of any kind is refused
    await expectRefused(world.perun.conclude(alice.wallet, c.params, s), 'CONCLUDED');
    const final = c.at(2n, [0n, 2n * TON], true);
    await expectRefused(
      world.perun.concludeFinal(bob.wallet, c.params, final, sign(final, alice, bob)),
      'CONCLUDED',
    );
    expect(await snapshot(s)).toEqual(after);
  });

  test('concludeFinal refuses a state that is not final, bad signatures and a second concludeFinal', async () => {
    const c = await channel();
    const open = c.at(1n, [TON, TON]);
    await expectRefused(
      world.perun.concludeFinal(bob.wallet, c.params, open, sign(open, alice, bob)),
      'NOT_FINAL',
    );
    const final = c.at(2n, [0n, 2n * TON], true);
    await expectRefused(
      world.perun.concludeFinal(bob.wallet, c.params, final, sign(final, bob, bob)),
      'SIGNATURE',
    );
    const changed = c.at(2n, [2n * TON, 0n], true);
    await expectRefused(
      world.perun.concludeFinal(bob.wallet, c.params, changed, sign(final, alice, bob)),
      'SIGNATURE',
    );
    expect((await world.perun.dispute(final.channelID)).registered).toBe(false);
    await world.perun.concludeFinal(bob.wallet, c.params, final, sign(final, alice, bob));
    const after = await snapshot(final);
    await expectRefused(
      world.perun.concludeFinal(bob.wallet, c.params, final, sign(final, alice, bob)),
      'CONCLUDED',
    );
    expect(await snapshot(final)).toEqual(after);
  });
});

describe('deposit and withdraw', () => {
  test('deposit refuses less value than the amount, and a concluded channel', async () => {
    const c = await channel();
    const body = encodeStruct(tonArtifact().schema, 'Deposit', {
      queryId: 0n,
      channelID: BigInt(c.v0.channelID),
      participant: BigInt(alice.key),
      amount: 2n * TON,
    });
    await expectRefused(alice.wallet.send(world.perun.address, TON, body), 'VALUE');
    const final = c.at(1n, [TON, TON], true);
    await world.perun.concludeFinal(bob.wallet, c.params, final, sign(final, alice, bob));
    const before = await snapshot(final);
    await expectRefused(world.perun.deposit(alice.wallet, c.v0.channelID, alice.key, TON), 'CONCLUDED');
    expect(await snapshot(final)).toEqual(before);
  });

  test('withdraw refuses before the conclusion, a wrong signature, a changed authorisation, too much, twice, and a stranger', async () => {
    const c = await channel(100n);
    const s = c.at(1n, [TON / 2n, 3n * (TON / 2n)]);
    const auth = withdrawal(s, alice, TON / 2n);
    await expectRefused(
      world.perun.withdraw(alice.wallet, auth, alice.signer.signWithdrawal(auth)),
      'NOT_CONCLUDED',
    );
    await registered(c, s);
    await expectRefused(
      world.perun.withdraw(alice.wallet, auth, alice.signer.signWithdrawal(auth)),
      'NOT_CONCLUDED',
    );
    world.chain.advance(100);
    await world.perun.conclude(bob.wallet, c.params, s);
    const before = await snapshot(s);

    await expectRefused(
      world.perun.withdraw(alice.wallet, auth, bob.signer.signWithdrawal(auth)),
      'SIGNATURE',
    );
    const more = { ...auth, amount: TON };
    await expectRefused(
      world.perun.withdraw(alice.wallet, more, alice.signer.signWithdrawal(auth)),
      'SIGNATURE',
    );
    const elsewhere = { ...auth, receiver: new TonAddress(0, randomBytes(32)) };
    await expectRefused(
      world.perun.withdraw(alice.wallet, elsewhere, alice.signer.signWithdrawal(auth)),
      'SIGNATURE',
    );
    await expectRefused(
      world.perun.withdraw(alice.wallet, more, alice.signer.signWithdrawal(more)),
      'HOLDINGS',
    );
    const stranger = withdrawal(s, mallory, 1n);
    await expectRefused(
      world.perun.withdraw(mallory.wallet, stranger, mallory.signer.signWithdrawal(stranger)),
      'PARTICIPANT',
    );
    expect(await snapshot(s)).toEqual(before);

    await world.perun.withdraw(alice.wallet, auth, alice.signer.signWithdrawal(auth));
    await expectRefused(
      world.perun.withdraw(alice.wallet, auth, alice.signer.signWithdrawal(auth)),
      'HOLDINGS',
    );
    expect(await world.perun.holdings(fid(s, alice))).toBe(0n);
  });
});

test('an unknown message is refused and a refused call bounces its value back', async () => {
  const before = await mallory.wallet.balance();
  await expectRefused(
    mallory.wallet.send(world.perun.address, 5n * TON, beginCell().storeUint(0xdead, 32).endCell()),
    'UNKNOWN_OP',
  );
  const spent = before - (await mallory.wallet.balance());
  expect(spent).toBeGreaterThan(0n);
  expect(spent).toBeLessThan(TON / 50n);
});

test('the cells sent are the ones signed: paramsCell hashes to the channel ID', () => {
  const params = tonParams(alice, bob);
  expect(`0x${paramsCell(params).hash().toString('hex')}`).toBe(
    tonState(world, params, 0n, [0n, 0n]).channelID,
  );
});
