// Every ChannelStore implementation passes the same contract (contract.ts, and the payment log in
// payment-contract.ts): in memory, TypeORM on SQLite (':memory:' and a file), and TypeORM on
// PostgreSQL when DATABASE_URL names one.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { isPostgresUrl, openDataSource } from '../../src/channels/persistence/datasource.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { channelStoreContract, type StoreHarness } from './contract.js';
import { paymentLogContract } from './payment-contract.js';
import { ownDatabase } from './pg-database.js';

const harnesses: [string, StoreHarness][] = [];

harnesses.push([
  'in memory',
  {
    open: async () => new MemoryChannelStore(),
    dispose: (store) => store.close(),
  },
]);

harnesses.push([
  'TypeORM on SQLite :memory:',
  {
    open: () => TypeOrmChannelStore.open(':memory:'),
    dispose: (store) => store.close(),
  },
]);

const dirs = new Map<object, string>();
harnesses.push([
  'TypeORM on an SQLite file (WAL, synchronous=FULL)',
  {
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'perun-store-'));
      const store = await TypeOrmChannelStore.open(join(dir, 'agent.sqlite'));
      dirs.set(store, dir);
      return store;
    },
    dispose: async (store) => {
      await store.close();
      rmSync(dirs.get(store)!, { recursive: true, force: true });
      dirs.delete(store);
    },
  },
]);

const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl !== undefined && isPostgresUrl(databaseUrl)) {
  // The scenarios empty the tables before each one, so they run in a database of their own: other
  // suites share DATABASE_URL's database and run at the same time.
  const database = ownDatabase(databaseUrl, 'perun_store_contract');
  harnesses.push([
    `TypeORM on PostgreSQL (${new URL(databaseUrl).host})`,
    {
      open: async () => {
        const ds = await openDataSource({ url: await database() });
        // Start every scenario from empty tables (children first).
        for (const table of [
          'perun_payment',
          'perun_watcher_cursor',
          'perun_staged_state',
          'perun_signed_state',
          'perun_channel_peer',
          'perun_channel',
        ]) {
          await ds.query(`DELETE FROM ${table}`);
        }
        return new TypeOrmChannelStore(ds, { ownsDataSource: true });
      },
      dispose: (store) => store.close(),
    },
  ]);
}

for (const [name, harness] of harnesses) {
  channelStoreContract(name, harness);
  paymentLogContract(name, harness);
}
