// Petra and Robert: Petra's client keeps its channels in an SQLite file. It is dropped in the
// middle of the channel, once between two payments and once after sending an update whose
// accept never reached it; each time a new client restored from the file syncs with Robert,
// goes on paying, and the channel settles with on-chain balances equal to the last state.
// A stored channel whose signatures do not verify is dropped on restore, never signed on.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { ethBalance, makeClient, open, waitForEvent, type Person } from './client-harness.js';

let world: World;
let dir: string;

beforeAll(async () => {
  world = await startWorld();
  dir = mkdtempSync(join(tmpdir(), 'perun-restore-'));
});
afterAll(async () => {
  await world.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('Petra is restored from her SQLite file twice, syncs with Robert, pays on and settles to the wei', async () => {
  const bus = new MemoryBus();
  const file = join(dir, 'petra.sqlite');
  const petraParty = world.party(1, 'Petra');
  const robertParty = world.party(2, 'Robert');
  let petraStore = await TypeOrmChannelStore.open(file);
  let petra: Person = makeClient(world, bus, petraParty, 'petra', { store: petraStore });
  const receiver = petra.receiver;
  const robert = makeClient(world, bus, robertParty, 'robert');
  await Promise.all([petra.client.start(), robert.client.start()]);

  const id = await open(world, petra, robert, parseEther('1'), parseEther('1'));
  for (let i = 0; i < 5; i++) await petra.client.sendPayment(id, 1000n);

  // 1. Dropped between two payments.
  await petra.client.close();
  await petraStore.close();
  petraStore = await TypeOrmChannelStore.open(file);
  petra = makeClient(world, bus, petraParty, 'petra', { store: petraStore, receiver });
  await petra.client.start();
  expect(petra.client.channel(id).phase).toBe('Acting');
  expect(petra.client.channel(id).state).toEqual(robert.client.channel(id).state);
  await petra.client.sendPayment(id, 1000n);
  await robert.client.sendPayment(id, 500n);

  // 2. Dropped after sending an update: Robert signs version 8, his accept is lost.
  bus.setFilter((from, _to, msg) => (from === 'robert' && msg.type === 'channel-update-accept' ? null : msg));
  const lost = petra.client.sendPayment(id, 7n).catch((e: unknown) => e);
  await waitForEvent(robert, 'updated', (e) => e.version === 8n);
  await petra.client.close();
  expect(await lost).toMatchObject({ code: 'CLIENT_CLOSED' });
  await petraStore.close();
  bus.setFilter(undefined);

  petraStore = await TypeOrmChannelStore.open(file);
  const stored = await petraStore.getChannel(id);
  expect(stored?.phase).toBe('Signing');
  expect(stored?.current?.state.version).toBe(7n);
  expect(stored?.staged?.state.version).toBe(8n);
  petra = makeClient(world, bus, petraParty, 'petra', { store: petraStore, receiver });
  const synced = waitForEvent(petra, 'updated', (e) => e.version === 8n);
  await petra.client.start();
  await synced;
  expect(petra.client.channel(id).phase).toBe('Acting');
  expect(petra.client.channel(id).state).toEqual(robert.client.channel(id).state);
  expect((await petraStore.getChannel(id))?.staged).toBeNull();

  await petra.client.sendPayment(id, 3n);
  const last = petra.client.channel(id).state!;
  expect(last.version).toBe(9n);
  const [petraBal, robertBal] = last.outcome.balances[0]!;
  expect(petraBal! + robertBal!).toBe(parseEther('2'));
  expect(petraBal).toBe(parseEther('1') - 5000n - 1000n + 500n - 7n - 3n);

  await petra.client.settle(id);
  await waitForEvent(robert, 'settled', (e) => e.channelId === id);
  expect(await ethBalance(world, receiver)).toBe(petraBal);
  expect(await ethBalance(world, robert.receiver)).toBe(robertBal);
  expect((await petraStore.getChannel(id))?.phase).toBe('Withdrawn');

  await Promise.all([petra.client.close(), robert.client.close()]);
  await petraStore.close();
});

it('Petra restored from an old copy of her file learns the latest state from Robert and never registers the old one', async () => {
  const bus = new MemoryBus();
  const file = join(dir, 'petra-live.sqlite');
  const backup = join(dir, 'petra-backup.sqlite');
  const petraParty = world.party(3, 'Petra');
  const robertParty = world.party(4, 'Robert');
  let petraStore = await TypeOrmChannelStore.open(file);
  let petra: Person = makeClient(world, bus, petraParty, 'petra', { store: petraStore });
  const receiver = petra.receiver;
  const robert = makeClient(world, bus, robertParty, 'robert');
  await Promise.all([petra.client.start(), robert.client.start()]);
  const id = await open(world, petra, robert, parseEther('1'), 0n);
  for (let i = 0; i < 3; i++) await petra.client.sendPayment(id, 1000n);

  // The backup: a copy of the file at version 3 (closed first, so the copy is whole).
  await petra.client.close();
  await petraStore.close();
  copyFileSync(file, backup);
  petraStore = await TypeOrmChannelStore.open(file);
  petra = makeClient(world, bus, petraParty, 'petra', { store: petraStore, receiver });
  await petra.client.start();
  for (let i = 0; i < 5; i++) await petra.client.sendPayment(id, 1000n);
  const latest = robert.client.channel(id).state!;
  expect(latest.version).toBe(8n);
  await petra.client.close();
  await petraStore.close();

  // Petra's disk dies; she restores the backup. Her client starts at version 3 and syncs.
  petraStore = await TypeOrmChannelStore.open(backup);
  expect((await petraStore.getChannel(id))?.current?.state.version).toBe(3n);
  petra = makeClient(world, bus, petraParty, 'petra', { store: petraStore, receiver });
  const caughtUp = waitForEvent(petra, 'updated', (e) => e.version === 8n);
  await petra.client.start();
  await caughtUp;
  expect(petra.client.channel(id).state).toEqual(latest);
  expect((await petraStore.getChannel(id))?.current?.state.version).toBe(8n);

  // A dispute now registers the latest state, not the one from the backup, and pays Petra by it.
  const disputing = petra.client.dispute(id);
  await waitForEvent(petra, 'registered', (e) => e.channelId === id);
  expect((await petraParty.adjudicator.dispute(id)).version).toBe(8n);
  await world.chain.increaseTime(61);
  expect(await disputing).toEqual([{ asset: 0, amount: parseEther('1') - 8000n }]);
  expect(await ethBalance(world, receiver)).toBe(parseEther('1') - 8000n);
  await Promise.all([petra.client.close(), robert.client.close()]);
  await petraStore.close();
});

it('a stored channel whose signatures do not verify is dropped on restore and never signed on', async () => {
  const bus = new MemoryBus();
  const petraParty = world.party(5, 'Petra');
  const robertParty = world.party(6, 'Robert');
  let petra: Person = makeClient(world, bus, petraParty, 'petra');
  const robert = makeClient(world, bus, robertParty, 'robert');
  await Promise.all([petra.client.start(), robert.client.start()]);
  const id = await open(world, petra, robert, parseEther('1'), parseEther('1'));
  const sound = await open(world, petra, robert, parseEther('1'), parseEther('1'));
  await petra.client.sendPayment(id, 1000n);
  await petra.client.close();

  // A copy of Petra's store in which Robert's signature on the latest state of `id` is another key's.
  const copy = new MemoryChannelStore();
  for (const r of await petra.store.listChannels()) {
    await copy.createChannel({ ...r, phase: r.phase });
    const sigs = [...r.current!.sigs];
    if (r.id === id) sigs[1] = await EthereumSigner.random().signState(r.current!.state);
    await copy.saveSignedState(r.id, { state: r.current!.state, sigs });
  }
  const robertHad = robert.client.channel(id).state;
  petra = makeClient(world, bus, petraParty, 'petra', { store: copy });
  const dropped = waitForEvent(petra, 'warning', (e) => e.channelId === id && e.context === 'restore');
  await petra.client.start();
  expect((await dropped).error).toMatchObject({ code: 'INVALID_SNAPSHOT' });
  expect(petra.client.channels().map((c) => c.id)).toEqual([sound]);
  await expect((async () => petra.client.sendPayment(id, 1n))()).rejects.toMatchObject({
    code: 'UNKNOWN_CHANNEL',
  });
  await petra.client.sendPayment(sound, 1n);
  expect(robert.client.channel(id).state).toEqual(robertHad);
  expect(robert.client.channel(sound).state).toEqual(petra.client.channel(sound).state);
  await Promise.all([petra.client.close(), robert.client.close()]);
});
