// Creating a channel on SQLite runs statements prepared once (not TypeORM's INSERTs, whose text
// carries the time and so was prepared anew for every channel): the rows hold what TypeORM's
// entities read back (integers where the entity has integers, the peers in order), a channel
// created twice is refused with ChannelExistsError and nothing of the second attempt is written,
// and creating many channels prepares no statement per channel.
import 'reflect-metadata';
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import { ChannelExistsError } from '../../src/channels/persistence/errors.js';
import { connectionOf } from '../../src/channels/persistence/sqlite-group.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { ALICE, BOB, CAROL, channelId, newChannel } from './fixtures.js';

let store: TypeOrmChannelStore;

beforeEach(async () => {
  store = await TypeOrmChannelStore.open(':memory:');
});
afterEach(async () => {
  jest.restoreAllMocks();
  await store.close();
});

it('writes the rows TypeORM’s entities read back, the peers in order', async () => {
  const before = Date.now();
  await store.createChannel({ ...newChannel('sub', { peer: CAROL }), parentId: channelId('parent') });
  const [row] = (await store.dataSource.query(
    `SELECT id, our_index, typeof(our_index) AS our_index_type, parent_id, phase, used_version, used_state,
       updated_at, typeof(updated_at) AS updated_at_type FROM perun_channel`,
  )) as Array<Record<string, unknown>>;
  expect(row).toMatchObject({
    id: channelId('sub'),
    our_index: 0,
    our_index_type: 'integer',
    parent_id: channelId('parent'),
    phase: 'InitActing',
    used_version: null,
    used_state: null,
    updated_at_type: 'integer',
  });
  expect(row!.updated_at as number).toBeGreaterThanOrEqual(before);
  expect(await store.dataSource.query('SELECT idx, peer_id FROM perun_channel_peer ORDER BY idx')).toEqual([
    { idx: 0, peer_id: ALICE.did },
    { idx: 1, peer_id: CAROL.did },
  ]);
  const stored = await store.getChannel(channelId('sub'));
  expect(stored).toMatchObject({ id: channelId('sub'), ourIndex: 0, peers: [ALICE.did, CAROL.did] });
});

it('a channel created twice is refused, and the second attempt writes nothing', async () => {
  await store.createChannel(newChannel('twice'));
  const again = { ...newChannel('twice', { peer: CAROL }), phase: 'Funding' as const };
  await expect(store.createChannel(again)).rejects.toBeInstanceOf(ChannelExistsError);
  expect(await store.getChannel(channelId('twice'))).toMatchObject({
    phase: 'InitActing',
    peers: [ALICE.did, BOB.did],
  });
});

it('prepares no statement per channel created', async () => {
  await store.createChannel(newChannel('first'));
  const prepare = jest.spyOn(connectionOf(store.dataSource), 'prepare');
  for (let i = 0; i < 20; i++) await store.createChannel(newChannel(`more ${i}`));
  expect(prepare).not.toHaveBeenCalled();
});
