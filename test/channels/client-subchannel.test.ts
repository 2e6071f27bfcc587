// Sub-channels through the channel client, on the embedded chain: Alice and Bob fund a payment
// sub-channel and a pay-for-credential sub-channel out of one ledger channel, use them, release
// them into the parent and settle it; the refusals (too little in the parent, a parent update
// touching locked funds, a lock for a sub-channel nobody proposed, a sub-channel proposal from a
// stranger or for an unknown parent, settling a parent with open sub-channels); and the disputes:
// Bob vanishes and Alice registers the parent with its sub-channel; Alice vanishes after offering
// to buy a credential and Bob progresses the sub-channel's app on chain; Bob registers a stale
// sub-channel state and Alice's watcher refutes it; Alice restarts with a sub-channel open. After
// every step the parent's total equals its balances plus its locked funds.
import fc from 'fast-check';
import {
  credentialDigest,
  deliver,
  encodeOffer,
  signCredential,
} from '../../src/channels/ethereum/apps/credential-payment.js';
import { ValidationError } from '../../src/channels/errors.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import type { Hex, State } from '../../src/channels/types.js';
import { lockFunds, identityMap } from '../../src/channels/subchannel.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { totals } from '../../src/channels/validation.js';
import type { World } from '../ethereum/harness.js';
import { propertyRuns } from '../property-seed.js';
import { appWorld, ethBalance, open, waitForEvent, type Person } from './client-harness.js';

const harness = appWorld();
const person = harness.person;
let world: World;
beforeAll(() => {
  world = harness.world();
});

const CREDENTIAL = {
  '@context': ['https://www.w3.org/2018/credentials/v1'],
  type: ['VerifiableCredential', 'MembershipCredential'],
  issuer: 'did:example:bob',
  issuanceDate: '2026-12-05T00:00:00Z',
  credentialSubject: { id: 'did:example:alice', member: 'Perun Users' },
};
const DIGEST = credentialDigest(CREDENTIAL);
const PRICE = 20n;

async function aliceAndBob() {
  const bus = new MemoryBus();
  const alice = person(bus, 3, 'Alice');
  const bob = person(bus, 4, 'Bob');
  await Promise.all([alice.client.start(), bob.client.start()]);
  return { bus, alice, bob };
}

/** The parent's balances per participant (asset 0) and its locked totals. */
function split(p: Person, id: Hex): { balances: bigint[]; locked: bigint[] } {
  const s = p.client.channel(id).state!;
  return { balances: [...s.outcome.balances[0]!], locked: s.outcome.locked.map((l) => l.balances[0]!) };
}

/** The parent holds what was deposited: balances plus locked funds, on both sides, at the same version. */
function expectConserved(a: Person, b: Person, id: Hex, deposited: bigint): void {
  const sa = a.client.channel(id).state!;
  const sb = b.client.channel(id).state!;
  expect(sa).toEqual(sb);
  expect(totals(sa.outcome)).toEqual([deposited]);
}

const subOf = (p: Person, parent: Hex): Hex[] =>
  p.client
    .channels()
    .filter((c) => c.parent === parent)
    .map((c) => c.id);

it('Alice and Bob run a payment sub-channel and a credential sale inside one ledger channel, release both and settle', async () => {
  const { alice, bob } = await aliceAndBob();
  const parent = await open(world, alice, bob, 100n, 50n);

  const pay = await alice.client.proposeSubChannel(parent, { balances: [[30n, 10n]] });
  expect(pay).toMatchObject({ parent, phase: 'Acting', idx: 0 });
  await waitForEvent(bob, 'opened', (e) => e.channelId === pay.id);
  expect(bob.client.channel(pay.id)).toMatchObject({ parent, phase: 'Acting', idx: 1 });
  expect(split(alice, parent)).toEqual({ balances: [70n, 40n], locked: [40n] });
  expectConserved(alice, bob, parent, 150n);

  const sale = await alice.client.proposeSubChannel(parent, {
    balances: [[PRICE, 0n]],
    app: world.deployment.credentialPaymentApp,
    initData: encodeOffer({ credentialHash: DIGEST, price: PRICE }),
  });
  expect(sale.params.challengeDuration).toBe(30n); // half the parent's: room for a progression
  await waitForEvent(bob, 'opened', (e) => e.channelId === sale.id);
  expect(split(alice, parent)).toEqual({ balances: [50n, 40n], locked: [40n, PRICE] });
  expectConserved(alice, bob, parent, 150n);

  // Payments inside the sub-channel and in the parent, side by side.
  await alice.client.sendPayment(pay.id, 5n);
  await bob.client.sendPayment(pay.id, 2n);
  await alice.client.sendPayment(parent, 1n);
  expect(bob.client.channel(pay.id).state!.outcome.balances[0]).toEqual([27n, 13n]);
  expect(split(bob, parent)).toEqual({ balances: [49n, 41n], locked: [40n, PRICE] });
  expectConserved(alice, bob, parent, 150n);

  // Bob delivers the credential: the delivered state is final; he releases the sale into the parent.
  await bob.client.update(sale.id, (s) => deliver(s, signCredential(bob.party.signer, DIGEST)));
  expect(await bob.client.settle(sale.id)).toEqual([]);
  await waitForEvent(alice, 'settled', (e) => e.channelId === sale.id);
  expect(alice.client.channel(sale.id).phase).toBe('Withdrawn');
  expect(split(alice, parent)).toEqual({ balances: [49n, 41n + PRICE], locked: [40n] });
  expectConserved(alice, bob, parent, 150n);

  // A parent with an open sub-channel cannot be settled; the payment sub-channel is released first.
  await expect(alice.client.settle(parent)).rejects.toMatchObject({ code: 'SUBCHANNELS_OPEN' });
  await alice.client.settle(pay.id);
  await waitForEvent(bob, 'settled', (e) => e.channelId === pay.id);
  expect(split(bob, parent)).toEqual({ balances: [49n + 27n, 41n + PRICE + 13n], locked: [] });
  expectConserved(alice, bob, parent, 150n);

  await alice.client.settle(parent);
  await waitForEvent(bob, 'settled', (e) => e.channelId === parent);
  expect(await ethBalance(world, alice.receiver)).toBe(76n);
  expect(await ethBalance(world, bob.receiver)).toBe(74n);
});

describe('refusals', () => {
  it('a sub-channel the parent cannot fund, and a caller’s parent update that touches locked funds, are refused before anything is sent', async () => {
    const { bus, alice, bob } = await aliceAndBob();
    const parent = await open(world, alice, bob, 10n, 10n);
    const sent = bus.sent;
    await expect(alice.client.proposeSubChannel(parent, { balances: [[11n, 0n]] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(
      alice.client.proposeSubChannel(parent, {
        balances: [[5n, 0n]],
        app: world.deployment.credentialPaymentApp,
        initData: encodeOffer({ credentialHash: DIGEST, price: 5n }),
        challengeDuration: 60n, // not shorter than the parent's
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    const sub = await alice.client.proposeSubChannel(parent, { balances: [[4n, 4n]] });
    const afterOpen = bus.sent;
    expect(afterOpen).toBeGreaterThan(sent);
    const err = await alice.client
      .update(parent, (s) => ({ ...s, outcome: { ...s.outcome, locked: [] } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: 'NOT_CONSERVED' });
    await expect(
      alice.client.update(parent, (s) => {
        s.outcome.locked[0]!.balances[0] = 7n;
        s.outcome.balances[0]![0] = 7n;
        return s;
      }),
    ).rejects.toMatchObject({ code: 'LOCKED_CHANGED' });
    expect(bus.sent).toBe(afterOpen);
    expect(alice.client.channel(sub.id).phase).toBe('Acting');
  });

  it('Bob refuses a lock nobody proposed, a proposal for an unknown parent and one from a stranger, and nothing changes', async () => {
    const { bus, alice, bob } = await aliceAndBob();
    const parent = await open(world, alice, bob, 10n, 10n);
    const replies: ChannelMessage[] = [];
    bus.setFilter((from, to, msg) => {
      if (from === 'bob') replies.push(msg);
      return msg;
    });
    const mallory = bus.connect('mallory');
    mallory.onMessage((_from, msg) => {
      replies.push(msg);
    });

    // A lock of funds for a sub-channel Bob never agreed to, correctly signed by Alice.
    const cur = alice.client.channel(parent).state!;
    const bogus: State = {
      ...lockFunds(cur, '0x' + '77'.repeat(32), [[3n, 0n]], identityMap(2)),
      version: cur.version + 1n,
    };
    const sig = await alice.party.signer.signState(bogus);
    bus.enqueue('alice', 'bob', { type: 'channel-update', state: bogus, actorIdx: 0, sig });
    await bus.settle();
    expect(replies.pop()).toMatchObject({ type: 'channel-update-reject', code: 'LOCKED_CHANGED' });

    const proposal = {
      type: 'sub-channel-proposal' as const,
      proposalID: '0x' + '01'.repeat(32),
      parentID: '0x' + '02'.repeat(32),
      challengeDuration: 60n,
      nonceShare: '0x' + '03'.repeat(32),
      app: '0x' + '00'.repeat(20),
      initData: '0x',
      initBals: { ...cur.outcome, balances: [[1n, 1n]], locked: [] },
    };
    bus.enqueue('alice', 'bob', proposal);
    await bus.settle();
    expect(replies.pop()).toMatchObject({
      type: 'channel-proposal-reject',
      reason: 'unknown parent channel',
    });
    bus.enqueue('mallory', 'bob', { ...proposal, parentID: parent });
    await bus.settle();
    expect(replies.pop()).toMatchObject({
      type: 'channel-proposal-reject',
      reason: 'not a participant of the parent channel',
    });

    expect(bob.client.channel(parent).state).toEqual(cur);
    expect(bob.client.channels()).toHaveLength(1);
  });
});

describe('disputes', () => {
  it('Bob vanishes with a sub-channel open: Alice registers the parent with it, and both are paid the sub-channel’s latest balances', async () => {
    const { bus, alice, bob } = await aliceAndBob();
    const parent = await open(world, alice, bob, 50n, 50n, 40n);
    const sub = await alice.client.proposeSubChannel(parent, { balances: [[20n, 20n]] });
    await waitForEvent(bob, 'opened', (e) => e.channelId === sub.id);
    await alice.client.sendPayment(sub.id, 15n);
    await alice.client.sendPayment(parent, 5n);
    bus.setFilter((_from, to, msg) => (to === 'bob' ? null : msg));

    const disputed = alice.client.dispute(sub.id);
    const registered = await waitForEvent(
      alice,
      'registered',
      (e) => e.channelId === parent && e.by === 'us',
    );
    expect(registered.version).toBe(alice.client.channel(parent).state!.version);
    expect(alice.client.channel(sub.id).phase).toBe('Registered');
    await world.chain.increaseTime(41);
    // Alice: 25 in the parent + 5 in the sub-channel; Bob: 35 + 35.
    expect(await disputed).toEqual([{ asset: 0, amount: 30n }]);
    await waitForEvent(alice, 'settled', (e) => e.channelId === sub.id);
    await waitForEvent(bob, 'settled', (e) => e.channelId === parent);
    await waitForEvent(bob, 'settled', (e) => e.channelId === sub.id);
    expect(await ethBalance(world, alice.receiver)).toBe(30n);
    expect(await ethBalance(world, bob.receiver)).toBe(70n);
    expect(bob.client.channel(sub.id).phase).toBe('Withdrawn');
  });

  it('Alice vanishes after offering to buy a credential in a sub-channel: Bob progresses it on chain and takes the price', async () => {
    const { bus, alice, bob } = await aliceAndBob();
    const parent = await open(world, alice, bob, 50n, 10n, 40n);
    const sale = await alice.client.proposeSubChannel(parent, {
      balances: [[PRICE, 0n]],
      app: world.deployment.credentialPaymentApp,
      initData: encodeOffer({ credentialHash: DIGEST, price: PRICE }),
    });
    await waitForEvent(bob, 'opened', (e) => e.channelId === sale.id);
    bus.setFilter((_from, to, msg) => (to === 'alice' ? null : msg));

    const sig = signCredential(bob.party.signer, DIGEST);
    const forced = bob.client.forceUpdate(sale.id, (s) => deliver(s, sig));
    await waitForEvent(bob, 'registered', (e) => e.channelId === parent && e.by === 'us');
    await world.chain.increaseTime(21); // the sub-channel's challenge duration (20) passed: progress
    await waitForEvent(bob, 'progressed', (e) => e.channelId === sale.id && e.by === 'us');
    const seen = await waitForEvent(alice, 'progressed', (e) => e.channelId === sale.id && e.by === 'chain');
    expect(seen.state.appData).toContain(sig.slice(2));
    await world.chain.increaseTime(21); // and now the parent's (40)
    expect(await forced).toEqual([{ asset: 0, amount: 10n + PRICE }]);
    await waitForEvent(alice, 'settled', (e) => e.channelId === parent);
    expect(await ethBalance(world, alice.receiver)).toBe(50n - PRICE);
    expect(await ethBalance(world, bob.receiver)).toBe(10n + PRICE);
  });

  it('Bob registers the parent with a stale sub-channel state: Alice’s side registers the latest, and the chain pays that', async () => {
    const { alice, bob } = await aliceAndBob();
    const parent = await open(world, alice, bob, 50n, 50n, 40n);
    const sub = await alice.client.proposeSubChannel(parent, { balances: [[20n, 20n]] });
    await waitForEvent(bob, 'opened', (e) => e.channelId === sub.id);
    const stale = (await bob.store.getChannel(sub.id))!.current!;
    const parentNow = (await bob.store.getChannel(parent))!;
    await bob.client.sendPayment(sub.id, 15n); // Bob pays, then pretends he did not
    const latest = alice.client.channel(sub.id).state!;
    expect(latest.outcome.balances[0]).toEqual([35n, 5n]);

    await bob.party.adjudicator.register(
      { params: parentNow.params, state: parentNow.current!.state, sigs: parentNow.current!.sigs },
      [{ params: sub.params, state: stale.state, sigs: stale.sigs }],
    );
    await waitForEvent(alice, 'registered', (e) => e.channelId === parent && e.by === 'chain');
    await waitForEvent(alice, 'registered', (e) => e.channelId === parent && e.by === 'us');
    const onChain = await alice.party.adjudicator.dispute(sub.id);
    expect(onChain.version).toBe(latest.version);
    await world.chain.increaseTime(41);
    await Promise.all([
      waitForEvent(alice, 'settled', (e) => e.channelId === parent),
      waitForEvent(bob, 'settled', (e) => e.channelId === parent),
    ]);
    expect(await ethBalance(world, alice.receiver)).toBe(30n + 35n);
    expect(await ethBalance(world, bob.receiver)).toBe(30n + 5n);
  });
});

it('Alice restarts with a sub-channel open: it resumes with its parent, takes payments and is released', async () => {
  const bus = new MemoryBus();
  const store = new MemoryChannelStore();
  const alice = person(bus, 7, 'Alice', { store });
  const bob = person(bus, 8, 'Bob');
  await Promise.all([alice.client.start(), bob.client.start()]);
  const parent = await open(world, alice, bob, 30n, 30n);
  const sub = await alice.client.proposeSubChannel(parent, { balances: [[10n, 10n]] });
  await waitForEvent(bob, 'opened', (e) => e.channelId === sub.id);
  await alice.client.sendPayment(sub.id, 4n);

  await alice.client.close();
  const again = person(bus, 7, 'Alice', { store, receiver: alice.receiver });
  await again.client.start();
  expect(again.client.channel(sub.id)).toMatchObject({ parent, phase: 'Acting', state: { version: 1n } });
  expect(subOf(again, parent)).toEqual([sub.id]);
  await bob.client.sendPayment(sub.id, 1n);
  await again.client.settle(sub.id);
  await waitForEvent(bob, 'settled', (e) => e.channelId === sub.id);
  expect(split(bob, parent)).toEqual({ balances: [20n + 7n, 20n + 13n], locked: [] });
  await again.client.settle(parent);
  await waitForEvent(bob, 'settled', (e) => e.channelId === parent);
  expect(await ethBalance(world, again.receiver)).toBe(27n);
  expect(await ethBalance(world, bob.receiver)).toBe(33n);
});

/** Cases of the property (`npm run test:deep` runs more). */
const RUNS = propertyRuns('SUBCHANNEL_RUNS', 4);

it('property: whatever Alice and Bob do with sub-channels, the parent holds its deposit as balances plus locked funds, and settles it', async () => {
  const Step = fc.oneof(
    fc.record({
      kind: fc.constant('open' as const),
      by: fc.nat(1),
      a: fc.bigInt(0n, 6n),
      b: fc.bigInt(0n, 6n),
    }),
    fc.record({
      kind: fc.constant('pay' as const),
      by: fc.nat(1),
      sub: fc.nat(3),
      amount: fc.bigInt(1n, 4n),
    }),
    fc.record({ kind: fc.constant('payParent' as const), by: fc.nat(1), amount: fc.bigInt(1n, 4n) }),
    fc.record({ kind: fc.constant('release' as const), by: fc.nat(1), sub: fc.nat(3) }),
  );
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(Step, { minLength: 3, maxLength: 10 }), async (steps) => {
      run++;
      const bus = new MemoryBus();
      const alice = person(bus, 1, `PAlice${run}`);
      const bob = person(bus, 2, `PBob${run}`);
      await Promise.all([alice.client.start(), bob.client.start()]);
      const both = [alice, bob];
      const parent = await open(world, alice, bob, 20n, 20n);
      const subs: Hex[] = [];
      for (const st of steps) {
        const me = both[st.by]!;
        const other = both[1 - st.by]!;
        const s = me.client.channel(parent).state!.outcome.balances[0]!;
        if (st.kind === 'open' && st.a + st.b > 0n && s[0]! >= st.a && s[1]! >= st.b) {
          const sub = await me.client.proposeSubChannel(parent, { balances: [[st.a, st.b]] });
          await waitForEvent(other, 'opened', (e) => e.channelId === sub.id);
          subs.push(sub.id);
        } else if (st.kind === 'pay' && subs.length > 0) {
          const id = subs[st.sub % subs.length]!;
          const mine = me.client.channel(id).state!.outcome.balances[0]![me.client.channel(id).idx]!;
          if (me.client.channel(id).phase === 'Acting' && mine >= st.amount)
            await me.client.sendPayment(id, st.amount);
        } else if (st.kind === 'payParent' && s[me.client.channel(parent).idx]! >= st.amount) {
          await me.client.sendPayment(parent, st.amount);
        } else if (st.kind === 'release' && subs.length > 0) {
          const [id] = subs.splice(st.sub % subs.length, 1);
          await me.client.settle(id!);
          await waitForEvent(other, 'settled', (e) => e.channelId === id);
        }
        await bus.settle();
        expectConserved(alice, bob, parent, 40n);
        expect(split(alice, parent).locked).toHaveLength(subs.length);
      }
      for (const id of subs) {
        await alice.client.settle(id);
        await waitForEvent(bob, 'settled', (e) => e.channelId === id);
      }
      const final = alice.client.channel(parent).state!.outcome.balances[0]!;
      expect(final[0]! + final[1]!).toBe(40n);
      await alice.client.settle(parent);
      await waitForEvent(bob, 'settled', (e) => e.channelId === parent);
      expect(await ethBalance(world, alice.receiver)).toBe(final[0]);
      expect(await ethBalance(world, bob.receiver)).toBe(final[1]);
    }),
    { numRuns: RUNS },
  );
});
