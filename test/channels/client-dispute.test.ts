// Disputes through the channel client and its watcher, on the embedded chain: Mallory registers
// the stale opening state after paying Carol, Carol's watcher refutes it with the latest state
// and Carol's client settles; Mallory cannot take the stale outcome. And Dave vanishes: Erin
// cannot close cooperatively and disputes alone.
import { Contract, parseEther } from 'ethers';
import { artifact } from '../../src/channels/ethereum/artifacts.js';
import { fundingId, type WithdrawalAuth } from '../../src/channels/ethereum/encoding.js';
import { ChainError, PeerUnreachableError } from '../../src/channels/errors.js';
import type { Adjudicator, OnChainDispute } from '../../src/channels/interfaces.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { LocalWatcher } from '../../src/channels/watcher.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { ethBalance, makeClient, open, waitForEvent, watcherFor, type Person } from './client-harness.js';

let world: World;
const watchers: LocalWatcher[] = [];
const people: Person[] = [];

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await Promise.all(people.map((p) => p.client.close()));
  await Promise.all(watchers.map((w) => w.close()));
  await world.stop();
});

it('Mallory registers the stale opening state; Carol’s watcher refutes it and Carol gets her funds', async () => {
  const bus = new MemoryBus();
  const carolParty = world.party(1, 'Carol');
  const carolStore = new MemoryChannelStore();
  const carol = makeClient(world, bus, carolParty, 'carol', {
    store: carolStore,
    watcher: watcherFor(world, carolParty, carolStore, watchers),
  });
  const mallory = makeClient(world, bus, world.party(2, 'Mallory'), 'mallory');
  people.push(carol, mallory);
  await Promise.all([carol.client.start(), mallory.client.start()]);

  // Mallory opens with 2 ETH against Carol's 1 ETH and keeps the fully signed opening state.
  const id = await open(world, mallory, carol, parseEther('2'), parseEther('1'));
  const opening = (await mallory.store.getChannel(id))!.current!;
  for (let i = 0; i < 5; i++) await mallory.client.sendPayment(id, parseEther('0.25'));
  const latest = carol.client.channel(id).state!;
  expect(latest.outcome.balances[0]).toEqual([parseEther('0.75'), parseEther('2.25')]);

  // Mallory registers version 0, which pays her 2 ETH.
  const params = carol.client.channel(id).params;
  await world.party(2, 'Mallory').adjudicator.register({ params, state: opening.state, sigs: opening.sigs });

  const seen = await waitForEvent(carol, 'registered', (e) => e.channelId === id && e.by === 'chain');
  expect(seen.version).toBe(0n);
  await waitForEvent(carol, 'phase', (e) => e.channelId === id && e.to === 'Registered');
  const record = await world.party(1, 'Carol').adjudicator.dispute(id);
  expect(record.version).toBe(latest.version);

  await world.chain.increaseTime(Number(params.challengeDuration) + 1);
  expect(await carol.client.settlement(id)).toEqual([{ asset: 0, amount: parseEther('2.25') }]);
  expect(await ethBalance(world, carol.receiver)).toBe(parseEther('2.25'));

  // The stale outcome is gone: concluding with version 0 fails, and so does withdrawing 2 ETH.
  const malloryParty = world.party(2, 'Mallory');
  await expect(malloryParty.adjudicator.conclude(params, opening.state)).rejects.toMatchObject({
    details: { reason: 'invalid state' },
  });
  const auth: WithdrawalAuth = {
    channelID: id,
    participant: params.participants[0]!,
    receiver: malloryParty.account,
    amount: parseEther('2'),
  };
  const holder = new Contract(
    world.deployment.assetHolderETH,
    artifact('AssetHolderETH').abi,
    world.chain.provider(),
  );
  await expect(
    malloryParty.tx.send(holder, 'withdraw', [auth, malloryParty.signer.signWithdrawalAuth(auth)]),
  ).rejects.toMatchObject({ details: { reason: 'insufficient funds' } });
  expect(
    await holder.getFunction('holdings').staticCall(fundingId(id, params.participants[0]!.ethAddress)),
  ).toBe(parseEther('0.75'));
});

it('Dave vanishes: Erin cannot close cooperatively, disputes alone and withdraws her balance', async () => {
  const bus = new MemoryBus();
  const erin = makeClient(world, bus, world.party(3, 'Erin'), 'erin');
  const dave = makeClient(world, bus, world.party(4, 'Dave'), 'dave');
  people.push(erin, dave);
  await Promise.all([erin.client.start(), dave.client.start()]);
  const id = await open(world, erin, dave, 500n, 500n, 40n);
  await erin.client.sendPayment(id, 100n);

  bus.disconnect('dave');
  const err = await erin.client.settle(id).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PeerUnreachableError);
  expect(erin.client.channel(id).phase).toBe('Acting');

  const disputed = erin.client.dispute(id);
  const registered = await waitForEvent(erin, 'registered', (e) => e.channelId === id && e.by === 'us');
  expect(registered.version).toBe(1n);
  await world.chain.increaseTime(41);
  expect(await disputed).toEqual([{ asset: 0, amount: 400n }]);
  expect(await ethBalance(world, erin.receiver)).toBe(400n);
  expect(erin.client.channel(id).phase).toBe('Withdrawn');
});

/**
 * A chain whose transaction `method` lands but reports the revert a node's estimate gives when
 * the peer's transaction doing the same is still pending, and whose next read of the dispute
 * still shows the block before it.
 */
function lagging(method: 'register' | 'conclude'): (real: Adjudicator) => Adjudicator {
  return (real) => {
    let stale: OnChainDispute | undefined;
    const sent = async (id: string, tx: () => Promise<void>) => {
      const before = await real.dispute(id as `0x${string}`);
      await tx();
      stale = before;
      throw new ChainError(`${method} reverted: the peer's pending transaction`, { method });
    };
    return {
      register: (ch, subs) =>
        method === 'register'
          ? sent(ch.state.channelID, () => real.register(ch, subs))
          : real.register(ch, subs),
      progress: (req) => real.progress(req),
      conclude: (params, state, subs) =>
        method === 'conclude'
          ? sent(state.channelID, () => real.conclude(params, state, subs))
          : real.conclude(params, state, subs),
      concludeFinal: (params, state, sigs) => real.concludeFinal(params, state, sigs),
      withdraw: (params, state, idx) => real.withdraw(params, state, idx),
      dispute: async (id) => {
        const d = stale ?? (await real.dispute(id));
        stale = undefined;
        return d;
      },
      now: () => real.now(),
    };
  };
}

it.each(['register', 'conclude'] as const)(
  'Hank vanishes and Gina’s %s reverts on a pending transaction her next read does not show: she waits for the chain and withdraws',
  async (method) => {
    const bus = new MemoryBus();
    const gina = makeClient(world, bus, world.party(5, 'Gina'), 'gina', { adjudicator: lagging(method) });
    const hank = makeClient(world, bus, world.party(6, 'Hank'), 'hank');
    people.push(gina, hank);
    await Promise.all([gina.client.start(), hank.client.start()]);
    const id = await open(world, gina, hank, 500n, 500n, 40n);
    await gina.client.sendPayment(id, 100n);
    bus.disconnect('hank');

    const disputed = gina.client.dispute(id);
    await Promise.race([
      waitForEvent(gina, 'registered', (e) => e.channelId === id && e.by === 'us'),
      disputed,
    ]);
    await world.chain.increaseTime(41);
    expect(await disputed).toEqual([{ asset: 0, amount: 400n }]);
    expect(await ethBalance(world, gina.receiver)).toBe(400n);
  },
);
