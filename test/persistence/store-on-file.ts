// A channel store on an SQLite file for the group-commit tests: opened before each test, closed
// and removed after it; `durable` reopens it to see what reached the file. `store` is a live
// binding (reassigned by `durable`).
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, jest } from '@jest/globals';
import type BetterSqlite3 from 'better-sqlite3';
import type { BetterSqlite3Driver } from 'typeorm/driver/better-sqlite3/BetterSqlite3Driver.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { channelId } from './fixtures.js';

let dir: string;
let file: string;
export let store: TypeOrmChannelStore;

/** Registers the hooks that open a store on a new file before each test and remove it after. */
export function useStoreOnFile(): void {
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
}

export const connection = () =>
  (store.dataSource.driver as BetterSqlite3Driver).databaseConnection as BetterSqlite3.Database;

/** The channels stored, as a reopened store finds them. */
export async function durable(labels: string[]): Promise<boolean[]> {
  await store.close();
  store = await TypeOrmChannelStore.open(file);
  return Promise.all(labels.map(async (l) => (await store.getChannel(channelId(l))) !== null));
}
