// Bob's client takes batches of syncs from the wire: each channel of a batch is handled as its own
// channel-sync (a stale state is answered with his newer one, a forged newer one is refused, a
// channel he does not share with the sender is passed over), a batch that breaks the limits is
// refused whole with a typed error and changes nothing, and a peer that sends single syncs is
// answered and synced one channel at a time, as before batches.
import { MalformedMessageError } from '../../src/channels/errors.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { ChannelMessage, ChannelSyncBatch, SyncedChannel } from '../../src/channels/messages.js';
import { MAX_SYNC_BATCH } from '../../src/channels/messages.js';
import type { Hex, State } from '../../src/channels/types.js';
import type { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { aliceBobMallory, makeClient, open, type Person } from './client-harness.js';

let world: World;
let bus: MemoryBus;
let alice: Person;
let bob: Person;
let mallory: Person;
/** Two channels of Alice and Bob, each with a payment made. */
let ids: [Hex, Hex];
/** Mallory's channel with Bob. */
let malloryId: Hex;
/** The fully signed opening state of ids[0] (version 0). */
let opening: { state: State; sigs: string[] };

beforeAll(async () => {
  world = await startWorld();
  ({ bus, alice, bob, mallory } = await aliceBobMallory(world));
  ids = [await open(world, alice, bob, 100n, 100n), await open(world, alice, bob, 50n, 50n)];
  malloryId = await open(world, mallory, bob, 10n, 10n);
  opening = (await alice.store.getChannel(ids[0]))!.current!;
  for (const id of [...ids, malloryId]) {
    await (id === malloryId ? mallory : alice).client.sendPayment(id, 1n);
  }
});
afterAll(async () => {
  await Promise.all([alice, bob, mallory].map((p) => p.client.close()));
  await world.stop();
});

/** What Bob's store holds, without the write times. */
const bobHolds = async () =>
  Promise.all([...ids, malloryId].map(async (id) => ({ ...(await bob.store.getChannel(id)), updatedAt: 0 })));

/** Bob's channel `id` as stored: its latest fully signed state as a sync. */
async function stored(id: Hex): Promise<SyncedChannel> {
  const r = (await bob.store.getChannel(id))!;
  return { phase: 'Acting', state: r.current!.state, sigs: r.current!.sigs };
}

/** Bob's warnings while he handled the last message toBob sent. */
let lastWarnings: { channelId?: Hex; error: unknown }[] = [];

/** Sends `msg` from `from`'s wire to Bob; resolves with what Bob sent back until the bus settled. */
async function toBob(from: Person, msg: ChannelMessage): Promise<ChannelMessage[]> {
  const wire = bus.connect(from.name);
  const replies: ChannelMessage[] = [];
  const off = wire.onMessage((sender, m) => {
    if (sender === 'bob') replies.push(m);
  });
  const warnings = bob.events.length;
  await wire.send('bob', msg);
  await bus.settle();
  await new Promise((r) => setTimeout(r, 20));
  await bus.settle();
  off();
  lastWarnings = bob.events.slice(warnings).flatMap((e) => (e.type === 'warning' ? [e] : []));
  return replies;
}

const batch = (channels: SyncedChannel[], synced?: Hex[]): ChannelSyncBatch => ({
  type: 'channel-sync-batch',
  channels,
  ...(synced === undefined ? {} : { synced }),
});

describe('a batch of syncs', () => {
  it('a stale state in a batch is answered with Bob’s newer one; the channel at its version is named synced', async () => {
    const before = await bobHolds();
    const replies = await toBob(alice, batch([{ phase: 'Acting', ...opening }, await stored(ids[1])]));
    expect(replies).toEqual([
      batch(
        [await stored(ids[0])].map((s) => expect.objectContaining(s)),
        ids,
      ),
    ]);
    expect(await bobHolds()).toEqual(before);
    expect(lastWarnings).toEqual([]);
  });

  it('a forged newer state in a batch is refused and changes nothing; the other channel is still synced', async () => {
    const before = await bobHolds();
    const forged = structuredClone(bob.client.channel(ids[0]).state!);
    forged.version += 1n;
    forged.outcome.balances[0] = [0n, 200n];
    const sigs = [await EthereumSigner.random().signState(forged), await bob.party.signer.signState(forged)];
    const replies = await toBob(
      alice,
      batch([{ phase: 'Acting', state: forged, sigs }, await stored(ids[1])]),
    );
    expect(replies).toEqual([batch([], [ids[1]])]);
    expect(lastWarnings).toEqual([expect.objectContaining({ channelId: ids[0] })]);
    expect(await bobHolds()).toEqual(before);
    expect(bob.client.channel(ids[0]).state).toEqual(before[0]!.current!.state);
  });

  it('a channel Bob shares with someone else is passed over: not answered, not changed, not named synced', async () => {
    const before = await bobHolds();
    const theirs = await stored(malloryId);
    const older = { ...theirs, state: { ...theirs.state, version: 0n } };
    const replies = await toBob(alice, batch([older, await stored(ids[0])]));
    expect(replies).toEqual([batch([], [ids[0]])]);
    expect(await bobHolds()).toEqual(before);
  });

  it.each<[string, () => Promise<ChannelSyncBatch>]>([
    ['a channel repeated', async () => batch([await stored(ids[0]), await stored(ids[0])])],
    [
      'a channel repeated in another case',
      async () => {
        const s = await stored(ids[0]);
        const upper = {
          ...s,
          state: { ...s.state, channelID: ('0x' + s.state.channelID.slice(2).toUpperCase()) as Hex },
        };
        return batch([s, upper]);
      },
    ],
    [
      `${MAX_SYNC_BATCH + 1} channels`,
      async () => {
        const s = await stored(ids[0]);
        return batch(
          Array.from({ length: MAX_SYNC_BATCH + 1 }, (_, i) => ({
            ...s,
            state: { ...s.state, channelID: ('0x' + i.toString(16).padStart(64, '0')) as Hex },
          })),
        );
      },
    ],
    ['nothing at all', async () => batch([])],
    ['a synced list naming a channel twice', async () => batch([], [ids[0], ids[0]])],
    [
      'too many payments in all',
      async () => {
        const s = await stored(ids[0]);
        const payments = Array.from({ length: 1025 }, (_, i) => ({
          version: s.state.version,
          payer: 0,
          id: `p${i}`,
          asset: 0,
          amount: 0n,
        }));
        return batch([
          { ...(await stored(ids[1])), state: { ...s.state, version: s.state.version + 1n }, payments },
        ]);
      },
    ],
  ])('a batch with %s is refused whole with MALFORMED_MESSAGE and changes nothing', async (_, make) => {
    const before = await bobHolds();
    const synced = ids.map((id) => bob.client.channel(id).synced);
    // Bob's newer state of ids[0] would be answered if any part of the batch were handled.
    const replies = await toBob(alice, await make());
    expect(replies).toEqual([]);
    expect(lastWarnings).toEqual([expect.objectContaining({ error: expect.any(MalformedMessageError) })]);
    expect((lastWarnings[0]!.error as MalformedMessageError).code).toBe('MALFORMED_MESSAGE');
    expect(await bobHolds()).toEqual(before);
    expect(ids.map((id) => bob.client.channel(id).synced)).toEqual(synced);
  });

  it('Bob restarted lists his channels unsynced, syncs with Alice in one batch, and is synced once her answer names them', async () => {
    await bob.client.close();
    bob = makeClient(world, bus, world.party(2, 'Bob'), 'bob', { store: bob.store });
    const sent: ChannelMessage[] = [];
    const held: ChannelMessage[] = [];
    bus.setFilter((from, to, msg) => {
      if (from === 'bob' && to === 'alice') sent.push(msg);
      if (from === 'alice' && to === 'bob' && msg.type === 'channel-sync-batch') {
        held.push(msg);
        return null;
      }
      return msg;
    });
    try {
      await bob.client.start();
      await bus.settle();
      expect(ids.map((id) => bob.client.channel(id).synced)).toEqual([false, false]);
      expect(sent.map((m) => m.type)).toEqual(['channel-sync-batch']);
      expect((sent[0] as ChannelSyncBatch).channels.map((c) => c.state.channelID).sort()).toEqual(
        [...ids].sort(),
      );
      expect(held).toEqual([
        batch([], [...(sent[0] as ChannelSyncBatch).channels.map((c) => c.state.channelID)]),
      ]);
    } finally {
      bus.setFilter(undefined);
    }
    await bus.connect('alice').send('bob', held[0]!);
    await bus.settle();
    expect(ids.map((id) => bob.client.channel(id).synced)).toEqual([true, true]);
  });
});

/** The types of the messages Bob sends Alice in a sync of his. */
async function bobSyncsAlice(): Promise<ChannelMessage['type'][]> {
  const sent: ChannelMessage[] = [];
  bus.setFilter((from, to, msg) => {
    if (from === 'bob' && to === 'alice') sent.push(msg);
    return msg;
  });
  try {
    await bob.client.sync('alice');
    await bus.settle();
  } finally {
    bus.setFilter(undefined);
  }
  return sent.map((m) => m.type);
}

describe('a peer that sends single syncs', () => {
  it('is answered with a single sync, and Bob’s own syncs to it go one channel at a time', async () => {
    const replies = await toBob(alice, { type: 'channel-sync', phase: 'Acting', ...opening });
    expect(replies).toEqual([expect.objectContaining({ type: 'channel-sync', ...(await stored(ids[0])) })]);
    expect(await bobSyncsAlice()).toEqual(['channel-sync', 'channel-sync']);
    // Both channels still pay.
    for (const id of ids) await alice.client.sendPayment(id, 1n);
    expect(ids.map((id) => bob.client.channel(id).state)).toEqual(
      ids.map((id) => alice.client.channel(id).state),
    );
  });

  it('gets batches again once it sends one', async () => {
    await toBob(alice, batch([await stored(ids[0])]));
    expect(await bobSyncsAlice()).toEqual(['channel-sync-batch']);
  });
});
