// Virtual channels through the channel client, on the embedded chain: Alice and Bob each have a
// ledger channel with Ingrid; Alice opens a virtual channel with Bob through her, they pay each
// other directly, and the settlement goes back into both ledger channels with Ingrid neutral. The
// refusals (Ingrid is no intermediary, Bob has no channel with her, only one side funds, a forged
// signature on the virtual state) and the dispute: Bob vanishes, Alice registers her ledger
// channel with the virtual channel, Ingrid settles both of hers from what the chain holds, and
// nobody gains or loses. After every step each parent's total is its balances plus locked funds.
import fc from 'fast-check';
import { assetHolderContract } from '../../src/channels/ethereum/contracts.js';
import { fundingId } from '../../src/channels/ethereum/encoding.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import type { Hex } from '../../src/channels/types.js';
import { totals } from '../../src/channels/validation.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import type { World } from '../ethereum/harness.js';
import { propertyRuns } from '../property-seed.js';
import { appWorld, ethBalance, open, waitForEvent, type Person } from './client-harness.js';

const harness = appWorld();
let world: World;
beforeAll(() => {
  world = harness.world();
});

interface Trio {
  bus: MemoryBus;
  alice: Person;
  bob: Person;
  ingrid: Person;
  /** Alice–Ingrid (Alice proposed it) and Ingrid–Bob (Ingrid proposed it). */
  ai: Hex;
  ib: Hex;
}

let round = 0;
async function trio(
  o: { intermediary?: boolean; bobWithIngrid?: boolean; virtualFundingTimeoutMs?: number } = {},
): Promise<Trio> {
  round++;
  const bus = new MemoryBus();
  const alice = harness.person(bus, 1, `Alice${round}`);
  const bob = harness.person(bus, 2, `Bob${round}`);
  const ingrid = harness.person(bus, 3, `Ingrid${round}`, {
    intermediary: o.intermediary ?? true,
    virtualFundingTimeoutMs: o.virtualFundingTimeoutMs ?? 15_000,
  });
  await Promise.all([alice.client.start(), bob.client.start(), ingrid.client.start()]);
  const ai = await open(world, alice, ingrid, 50n, 50n, 40n);
  const ib = o.bobWithIngrid === false ? ('0x' as Hex) : await open(world, ingrid, bob, 60n, 30n, 40n);
  return { bus, alice, bob, ingrid, ai, ib };
}

/** Both sides of a ledger channel agree and its total is its deposit (balances plus locked funds). */
function expectConserved(a: Person, b: Person, id: Hex, deposited: bigint): void {
  const sa = a.client.channel(id).state!;
  expect(b.client.channel(id).state).toEqual(sa);
  expect(totals(sa.outcome)).toEqual([deposited]);
}

const mine = (p: Person, id: Hex): bigint => {
  const c = p.client.channel(id);
  return c.state!.outcome.balances[0]![c.idx]!;
};

/** Alice proposes a virtual channel with Bob through her ledger channel with Ingrid (Alice `a`, Bob `b`). */
const proposeVirtual = (t: Trio, a: bigint, b: bigint) =>
  t.alice.client.proposeVirtualChannel({
    peer: t.bob.name,
    peerAddress: t.bob.party.signer.address,
    parent: t.ai,
    balances: [[a, b]],
  });

/** proposeVirtual, resolving with the channel's ID once Bob has it open too. */
async function openVirtual(t: Trio, a: bigint, b: bigint): Promise<Hex> {
  const v = await proposeVirtual(t, a, b);
  await waitForEvent(t.bob, 'opened', (e) => e.channelId === v.id);
  return v.id;
}

it('Alice pays Bob over a virtual channel through Ingrid; it settles into both ledger channels and Ingrid ends neutral', async () => {
  const t = await trio();
  const { alice, bob, ingrid, ai, ib } = t;
  const ingridBefore = mine(ingrid, ai) + mine(ingrid, ib);

  const vid = await openVirtual(t, 20n, 5n);
  expect(alice.client.channel(vid)).toMatchObject({ parent: ai, phase: 'Acting', idx: 0 });
  expect(bob.client.channel(vid)).toMatchObject({ parent: ib, phase: 'Acting', idx: 1 });
  expect(ingrid.client.channel(vid)).toMatchObject({ observer: true });
  // Alice–Ingrid: Alice locks her 20, Ingrid stands in for Bob with 5; Ingrid–Bob: Ingrid stands in
  // for Alice with 20, Bob locks his 5.
  expect(alice.client.channel(ai).state!.outcome).toMatchObject({
    balances: [[30n, 45n]],
    locked: [{ ID: vid, balances: [25n], indexMap: [0, 1] }],
  });
  expect(bob.client.channel(ib).state!.outcome).toMatchObject({
    balances: [[40n, 25n]],
    locked: [{ ID: vid, balances: [25n], indexMap: [0, 1] }],
  });
  expectConserved(alice, ingrid, ai, 100n);
  expectConserved(ingrid, bob, ib, 90n);

  const sent = t.bus.sent;
  for (let i = 0; i < 6; i++) await alice.client.sendPayment(vid, 2n);
  await bob.client.sendPayment(vid, 1n);
  expect(t.bus.sent - sent).toBe(14); // Alice and Bob only: an update and its answer each
  expect(bob.client.channel(vid).state!.outcome.balances[0]).toEqual([9n, 16n]);

  await alice.client.settle(vid);
  await waitForEvent(bob, 'settled', (e) => e.channelId === vid);
  await waitForEvent(ingrid, 'settled', (e) => e.channelId === vid);
  expect(alice.client.channel(ai).state!.outcome).toMatchObject({ balances: [[39n, 61n]], locked: [] });
  expect(bob.client.channel(ib).state!.outcome).toMatchObject({ balances: [[49n, 41n]], locked: [] });
  expectConserved(alice, ingrid, ai, 100n);
  expectConserved(ingrid, bob, ib, 90n);
  expect(mine(ingrid, ai) + mine(ingrid, ib)).toBe(ingridBefore);

  await Promise.all([alice.client.settle(ai), ingrid.client.settle(ib)]);
  await Promise.all([
    waitForEvent(ingrid, 'settled', (e) => e.channelId === ai),
    waitForEvent(bob, 'settled', (e) => e.channelId === ib),
  ]);
  expect(await ethBalance(world, alice.receiver)).toBe(39n);
  expect(await ethBalance(world, bob.receiver)).toBe(41n);
  expect(await ethBalance(world, ingrid.receiver)).toBe(61n + 49n);
});

describe('refusals', () => {
  it('Ingrid takes part only as an intermediary: without it both fundings are refused and nothing is locked', async () => {
    const t = await trio({ intermediary: false });
    await expect(proposeVirtual(t, 5n, 5n)).rejects.toMatchObject({ code: 'UPDATE_REJECTED' });
    await t.bus.settle();
    expect(t.alice.client.channel(t.ai).state!.outcome.locked).toEqual([]);
    expect(t.ingrid.client.channel(t.ib).state!.outcome.locked).toEqual([]);
  });

  it('Bob refuses a virtual channel through someone he has no channel with', async () => {
    const t = await trio({ bobWithIngrid: false });
    await expect(proposeVirtual(t, 5n, 0n)).rejects.toMatchObject({
      code: 'PROPOSAL_REJECTED',
      details: { reason: 'no ledger channel with the intermediary' },
    });
    expect(t.alice.client.channels()).toHaveLength(1);
  });

  it('Ingrid refuses a funding whose virtual state carries a forged signature', async () => {
    const t = await trio();
    const replies: ChannelMessage[] = [];
    t.bus.setFilter((from, _to, msg) => {
      if (from.startsWith('ingrid')) replies.push(msg);
      if (msg.type !== 'virtual-channel-update' || !from.startsWith('alice')) return msg;
      // Alice's own signature where Bob's belongs.
      return { ...msg, virtual: { ...msg.virtual, sigs: [msg.virtual.sigs[0]!, msg.virtual.sigs[0]!] } };
    });
    await expect(proposeVirtual(t, 5n, 5n)).rejects.toMatchObject({ code: 'UPDATE_REJECTED' });
    expect(replies).toContainEqual(
      expect.objectContaining({
        type: 'channel-update-reject',
        reason: 'the virtual channel’s state is not signed by both participants',
      }),
    );
    await t.bus.settle();
    expect(t.alice.client.channel(t.ai).state!.outcome.locked).toEqual([]);
    expect(t.ingrid.client.channel(t.ib).state!.outcome.locked).toEqual([]);
  });

  it('Ingrid refuses a funding the other side never matches', async () => {
    const t = await trio({ virtualFundingTimeoutMs: 1_000 });
    const replies: ChannelMessage[] = [];
    // Bob's funding never reaches Ingrid: Alice's is refused after Ingrid's waiting time.
    t.bus.setFilter((from, to, msg) => {
      if (from.startsWith('ingrid')) replies.push(msg);
      return from.startsWith('bob') && to.startsWith('ingrid') && msg.type === 'virtual-channel-update'
        ? null
        : msg;
    });
    await expect(proposeVirtual(t, 5n, 5n)).rejects.toMatchObject({ code: 'UPDATE_REJECTED' });
    expect(replies.find((m) => m.type === 'channel-update-reject')).toMatchObject({
      reason: 'the other participant did not fund the virtual channel',
    });
    expect(t.alice.client.channel(t.ai).state!.outcome.locked).toEqual([]);
    expect(t.ingrid.client.channel(t.ai).state!.outcome.locked).toEqual([]);
  });
});

it('Bob vanishes: Alice registers her ledger channel with the virtual channel, Ingrid settles both of hers, and nobody gains or loses', async () => {
  const t = await trio();
  const { alice, bob, ingrid, ai, ib } = t;
  const vid = await openVirtual(t, 20n, 5n);
  await alice.client.sendPayment(vid, 8n);
  await bob.client.sendPayment(vid, 1n); // virtual: Alice 13, Bob 12
  t.bus.setFilter((from, to, msg) => (to === bob.name || from === bob.name ? null : msg));

  const disputed = alice.client.dispute(vid);
  await waitForEvent(alice, 'registered', (e) => e.channelId === ai && e.by === 'us');
  await waitForEvent(ingrid, 'registered', (e) => e.channelId === ib && e.by === 'us');
  await world.chain.increaseTime(41);
  // Alice: 30 left in the ledger channel + 13 from the virtual one.
  expect(await disputed).toEqual([{ asset: 0, amount: 43n }]);
  await Promise.all([
    waitForEvent(ingrid, 'settled', (e) => e.channelId === ai),
    waitForEvent(ingrid, 'settled', (e) => e.channelId === ib),
    waitForEvent(bob, 'settled', (e) => e.channelId === ib),
  ]);
  // Ingrid put 50 + 60 in, stood in for Bob (5) and Alice (20): she gets 45 + 12 and 40 + 13.
  expect(await ethBalance(world, ingrid.receiver)).toBe(110n);
  // Bob: 25 left in his ledger channel + 12 from the virtual one.
  expect(await ethBalance(world, bob.receiver)).toBe(37n);
  expect(await ethBalance(world, alice.receiver)).toBe(43n);
});

it('Ingrid registers her channel with Bob with the virtual channel’s opening state: Bob’s watcher refutes it, and she cannot take more than she put in', async () => {
  const t = await trio();
  const { alice, bob, ingrid, ai, ib } = t;
  const vid = await openVirtual(t, 20n, 5n);
  await alice.client.sendPayment(vid, 12n); // virtual: Alice 8, Bob 17
  const opening = (await ingrid.store.getChannel(vid))!;
  const parent = (await ingrid.store.getChannel(ib))!;
  expect(opening.current!.state.version).toBe(0n);
  await ingrid.client.close();

  // In the opening state Ingrid, standing in for Alice, would get Alice's 20 instead of 8.
  await ingrid.party.adjudicator.register(
    { params: parent.params, state: parent.current!.state, sigs: parent.current!.sigs },
    [{ params: opening.params, state: opening.current!.state, sigs: opening.current!.sigs }],
  );
  await waitForEvent(bob, 'registered', (e) => e.channelId === ib && e.by === 'chain');
  await waitForEvent(bob, 'registered', (e) => e.channelId === ib && e.by === 'us');
  expect((await bob.party.adjudicator.dispute(vid)).version).toBe(1n);
  await world.chain.increaseTime(41);
  await waitForEvent(bob, 'settled', (e) => e.channelId === ib);
  expect(await ethBalance(world, bob.receiver)).toBe(25n + 17n);

  // Alice settles hers from the same virtual state; Ingrid is left exactly what she put in.
  const disputed = alice.client.dispute(ai);
  await waitForEvent(alice, 'registered', (e) => e.channelId === ai && e.by === 'us');
  await world.chain.increaseTime(41);
  expect(await disputed).toEqual([{ asset: 0, amount: 30n + 8n }]);
  // What the asset holder keeps for Ingrid in both: 48 + 62 = 110, the 60 + 50 she put in.
  const holder = assetHolderContract(world.deployment.assetHolderETH, world.chain.provider());
  const held = async (id: Hex) =>
    (await holder.getFunction('holdings').staticCall(fundingId(id, ingrid.party.signer.address))) as bigint;
  expect([await held(ib), await held(ai)]).toEqual([48n, 62n]);
});

it('Ingrid and Alice restart with the virtual channel open: both resume it from their stores and it settles as before', async () => {
  const t = await trio();
  const vid = await openVirtual(t, 20n, 5n);
  await t.alice.client.sendPayment(vid, 3n);

  await Promise.all([t.ingrid.client.close(), t.alice.client.close()]);
  const ingrid = harness.person(t.bus, 3, t.ingrid.name, {
    store: t.ingrid.store,
    receiver: t.ingrid.receiver,
    intermediary: true,
  });
  const alice = harness.person(t.bus, 1, t.alice.name, { store: t.alice.store, receiver: t.alice.receiver });
  await Promise.all([ingrid.client.start(), alice.client.start()]);
  expect(ingrid.client.channel(vid)).toMatchObject({ observer: true, state: { version: 0n } });
  expect(alice.client.channel(vid)).toMatchObject({ parent: t.ai, phase: 'Acting', state: { version: 1n } });

  await t.bob.client.sendPayment(vid, 1n);
  await alice.client.settle(vid);
  await waitForEvent(t.bob, 'settled', (e) => e.channelId === vid);
  await waitForEvent(ingrid, 'settled', (e) => e.channelId === vid);
  // Virtual: Alice 18, Bob 7, released into both: Alice 30 + 18 with Ingrid 45 + 7; Ingrid 40 + 18 with Bob 25 + 7.
  expect(alice.client.channel(t.ai).state!.outcome).toMatchObject({ balances: [[48n, 52n]], locked: [] });
  expect(t.bob.client.channel(t.ib).state!.outcome).toMatchObject({ balances: [[58n, 32n]], locked: [] });
  expectConserved(alice, ingrid, t.ai, 100n);
  expectConserved(ingrid, t.bob, t.ib, 90n);
  expect(ingrid.client.channel(vid).phase).toBe('Withdrawn');
});

/** Cases of the property (`npm run test:deep` runs more). */
const RUNS = propertyRuns('VIRTUAL_RUNS', 3);

it('property: any payments over the virtual channel and its ledger channels keep every total and leave Ingrid neutral', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ who: fc.constantFrom('alice', 'bob', 'ai', 'ib'), amount: fc.bigInt(1n, 6n) }), {
        minLength: 1,
        maxLength: 8,
      }),
      async (steps) => {
        const t = await trio();
        let ingridExpected = mine(t.ingrid, t.ai) + mine(t.ingrid, t.ib);
        const vid = await openVirtual(t, 10n, 10n);
        for (const s of steps) {
          const [payer, id] =
            s.who === 'alice'
              ? [t.alice, vid]
              : s.who === 'bob'
                ? [t.bob, vid]
                : s.who === 'ai'
                  ? [t.alice, t.ai]
                  : [t.bob, t.ib];
          if (mine(payer, id) >= s.amount) {
            await payer.client.sendPayment(id, s.amount);
            if (id !== vid) ingridExpected += s.amount; // paid to Ingrid in a ledger channel
          }
          expectConserved(t.alice, t.ingrid, t.ai, 100n);
          expectConserved(t.ingrid, t.bob, t.ib, 90n);
          const v = t.alice.client.channel(vid).state!;
          expect(totals(v.outcome)).toEqual([20n]);
        }
        await t.bob.client.settle(vid);
        await waitForEvent(t.alice, 'settled', (e) => e.channelId === vid);
        await waitForEvent(t.ingrid, 'settled', (e) => e.channelId === vid);
        expectConserved(t.alice, t.ingrid, t.ai, 100n);
        expectConserved(t.ingrid, t.bob, t.ib, 90n);
        expect(mine(t.ingrid, t.ai) + mine(t.ingrid, t.ib)).toBe(ingridExpected);
        await Promise.all([t.alice.client.close(), t.bob.client.close(), t.ingrid.client.close()]);
      },
    ),
    { numRuns: RUNS },
  );
});
