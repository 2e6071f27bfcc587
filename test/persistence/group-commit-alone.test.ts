// The SQLite store's group commit for a transaction alone in its group (the sequential payment's
// case: nothing else waits), which runs without a savepoint: one that succeeds is durable before
// its caller hears of it; one that throws stores nothing of its writes, its caller gets its error,
// and the next transaction is stored as usual. Run on a file, reopened to see what is durable.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import type BetterSqlite3 from 'better-sqlite3';
import type { BetterSqlite3Driver } from 'typeorm/driver/better-sqlite3/BetterSqlite3Driver.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { SqliteUpdates } from '../../src/channels/persistence/update-statements.js';
import { channelId, newChannel } from './fixtures.js';

let dir: string;
let file: string;
let store: TypeOrmChannelStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perun-group-commit-'));
  file = join(dir, 'store.sqlite');
  store = await TypeOrmChannelStore.open(file);
});

afterEach(async () => {
  jest.restoreAllMocks();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const connection = () =>
  (store.dataSource.driver as BetterSqlite3Driver).databaseConnection as BetterSqlite3.Database;

/** The channels stored, as a reopened store finds them. */
async function durable(labels: string[]): Promise<boolean[]> {
  await store.close();
  store = await TypeOrmChannelStore.open(file);
  return Promise.all(labels.map(async (l) => (await store.getChannel(channelId(l))) !== null));
}

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
