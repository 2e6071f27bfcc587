// The SQLite store's group commit for a transaction alone in its group (the sequential payment's
// case: nothing else waits), which runs without a savepoint: one that succeeds is durable before
// its caller hears of it; one that throws stores nothing of its writes, its caller gets its error,
// and the next transaction is stored as usual. Run on a file, reopened to see what is durable.
import 'reflect-metadata';
import { expect, it, jest } from '@jest/globals';
import { SqliteUpdates } from '../../src/channels/persistence/update-statements.js';
import { newChannel } from './fixtures.js';
import { connection, durable, store, useStoreOnFile } from './store-on-file.js';

useStoreOnFile();

it('a lone transaction that throws stores none of its writes; the caller gets its error', async () => {
  const savepoints = jest.spyOn(SqliteUpdates.prototype, 'savepoint');
  await expect(
    store.transaction(async (tx) => {
      await tx.createChannel(newChannel('thrown'));
      await tx.createChannel(newChannel('thrown too'));
      throw new Error('changed its mind');
    }),
  ).rejects.toEqual(new Error('changed its mind'));
  expect(connection().inTransaction).toBe(false);
  await store.createChannel(newChannel('next'));
  expect(savepoints).not.toHaveBeenCalled();
  expect(await durable(['thrown', 'thrown too', 'next'])).toEqual([false, false, true]);
});

it('a lone transaction is durable when its caller hears of it', async () => {
  let inTransactionWhenTold: boolean | undefined;
  await store
    .createChannel(newChannel('alone'))
    .then(() => (inTransactionWhenTold = connection().inTransaction));
  expect(inTransactionWhenTold).toBe(false);
  expect(await durable(['alone'])).toEqual([true]);
});
