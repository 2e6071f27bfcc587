// On SQLite the time of a channel's last write (`updated_at`) is set once per channel at the end of
// a transaction (or of its member's savepoint in a group commit), not by every write of it: an
// update's signed and staged state set it with one statement. A write that sets the time itself
// later in the transaction (clearing the staged state checks the channel with it) leaves nothing
// to set at the end; a member of a group commit that throws sets nothing, and the others of its
// group still set theirs. Run on a file (WAL, synchronous=FULL).
import 'reflect-metadata';
import { expect, it, jest } from '@jest/globals';
import { sqliteUpdatesOf } from '../../src/channels/persistence/sqlite-group.js';
import type { Hex } from '../../src/channels/types.js';
import { channelId, newChannel, signed, stagedBy } from './fixtures.js';
import { holdConnection } from './hold-connection.js';
import { store, useStoreOnFile } from './store-on-file.js';

useStoreOnFile();

/** The channels the touch statement is run for, in order, from now on. */
function touched(): Hex[] {
  const updates = sqliteUpdatesOf(store.dataSource) as unknown as {
    steps: { touch: { run: (...p: unknown[]) => unknown } };
  };
  const ids: Hex[] = [];
  const statement = updates.steps.touch;
  const run = statement.run.bind(statement);
  jest.spyOn(statement, 'run').mockImplementation((...params: unknown[]) => {
    ids.push(params[1] as Hex);
    return run(...params);
  });
  return ids;
}

const ab = channelId('alice-bob');

it('a signed and a staged state written together set the channel’s time with one statement', async () => {
  await store.createChannel(newChannel('alice-bob'));
  const ids = touched();
  const before = Date.now();
  await store.transaction(async (tx) => {
    await tx.saveSignedState(ab, signed(ab, 1n));
    await tx.saveStagedState(ab, stagedBy([0], ab, 2n));
  });
  const after = Date.now();
  expect(ids).toEqual([ab]);
  const record = await store.getChannel(ab);
  expect(record?.current?.state.version).toBe(1n);
  expect(record?.staged?.state.version).toBe(2n);
  expect(record?.updatedAt).toBeGreaterThanOrEqual(before);
  expect(record?.updatedAt).toBeLessThanOrEqual(after);
});

it('a later write that sets the time itself leaves nothing to set at the end', async () => {
  await store.createChannel(newChannel('alice-bob'));
  const ids = touched();
  await store.transaction(async (tx) => {
    await tx.saveSignedState(ab, signed(ab, 1n));
    await tx.saveStagedState(ab, null);
  });
  expect(ids).toEqual([ab]); // the clearing's own check, nothing after it
  expect((await store.getChannel(ab))?.current?.state.version).toBe(1n);
});

it('a member of a group commit that throws sets no time; the others of its group set theirs', async () => {
  const [a, b, c] = ['first', 'thrown', 'last'].map((l) => channelId(l)) as [Hex, Hex, Hex];
  for (const l of ['first', 'thrown', 'last']) await store.createChannel(newChannel(l));
  const ids = touched();
  const release = await holdConnection(store.dataSource);
  const results = Promise.allSettled([
    store.saveSignedState(a, signed(a, 1n)),
    store.transaction(async (tx) => {
      await tx.saveSignedState(b, signed(b, 1n));
      throw new Error('changed its mind');
    }),
    store.saveSignedState(c, signed(c, 1n)),
  ]);
  await release();
  expect((await results).map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(ids).toEqual([a, c]);
  expect((await store.getChannel(b))?.current).toBeNull();
  expect((await store.getChannel(c))?.current?.state.version).toBe(1n);
});

it('a transaction alone that throws sets no time, then or with the next one', async () => {
  const [a, b] = ['thrown', 'next'].map((l) => channelId(l)) as [Hex, Hex];
  for (const l of ['thrown', 'next']) await store.createChannel(newChannel(l));
  const ids = touched();
  await expect(
    store.transaction(async (tx) => {
      await tx.saveSignedState(a, signed(a, 1n));
      throw new Error('changed its mind');
    }),
  ).rejects.toThrow('changed its mind');
  await store.saveSignedState(b, signed(b, 1n));
  expect(ids).toEqual([b]);
  expect((await store.getChannel(a))?.current).toBeNull();
});
