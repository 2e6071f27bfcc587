// The SQLite store's group commit (src/channels/persistence/group-commit.ts): transactions that
// wait for the connection together are committed together, each caller told only after the
// commit; one that throws is undone alone; an error that ends the SQLite transaction fails the
// whole group and stores nothing of it. Run on a file (WAL, synchronous=FULL), reopened to see
// what is durable.
import 'reflect-metadata';
import { expect, it, jest } from '@jest/globals';
import { ChannelExistsError } from '../../src/channels/persistence/errors.js';
import { SqliteUpdates } from '../../src/channels/persistence/update-statements.js';
import { newChannel } from './fixtures.js';
import { holdConnection } from './hold-connection.js';
import { connection, durable, store, useStoreOnFile } from './store-on-file.js';

useStoreOnFile();

it('transactions waiting together are one commit; each caller hears only after it', async () => {
  const commits = jest.spyOn(SqliteUpdates.prototype, 'transaction');
  const release = await holdConnection(store.dataSource);
  const inTransactionWhenTold: boolean[] = [];
  const labels = Array.from({ length: 8 }, (_, i) => `grouped ${i}`);
  const writes = labels.map((l) =>
    store.createChannel(newChannel(l)).then(() => inTransactionWhenTold.push(connection().inTransaction)),
  );
  await release();
  await Promise.all(writes);
  expect(commits).toHaveBeenCalledTimes(1);
  expect(inTransactionWhenTold).toEqual(labels.map(() => false));
  expect(await durable(labels)).toEqual(labels.map(() => true));
});

it('a transaction that throws is undone alone: the others of its group are stored', async () => {
  await store.createChannel(newChannel('exists'));
  const release = await holdConnection(store.dataSource);
  const results = Promise.allSettled([
    store.createChannel(newChannel('first')),
    store.transaction(async (tx) => {
      await tx.createChannel(newChannel('thrown'));
      throw new Error('changed its mind');
    }),
    store.createChannel(newChannel('exists')),
    store.createChannel(newChannel('last')),
  ]);
  await release();
  const [first, thrown, again, last] = await results;
  expect(first.status).toBe('fulfilled');
  expect(thrown).toMatchObject({ status: 'rejected', reason: new Error('changed its mind') });
  expect(again.status === 'rejected' && again.reason).toBeInstanceOf(ChannelExistsError);
  expect(last.status).toBe('fulfilled');
  expect(await durable(['first', 'thrown', 'exists', 'last'])).toEqual([true, false, true, true]);
});

it('an error that ends the SQLite transaction fails every member of the group and stores nothing of it', async () => {
  const release = await holdConnection(store.dataSource);
  const ended = new Error('the transaction ended under it');
  const results = Promise.allSettled([
    store.createChannel(newChannel('before')),
    store.transaction(async (tx) => {
      await tx.createChannel(newChannel('ender'));
      connection().exec('ROLLBACK');
      throw ended;
    }),
    store.createChannel(newChannel('after')),
  ]);
  await release();
  expect(await results).toEqual([
    { status: 'rejected', reason: ended },
    { status: 'rejected', reason: ended },
    { status: 'rejected', reason: ended },
  ]);
  expect(await durable(['before', 'ender', 'after'])).toEqual([false, false, false]);
});
