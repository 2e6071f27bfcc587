// Every ChannelStore implementation passes the same contract: in memory, TypeORM on SQLite
// (':memory:' and a file), and TypeORM on PostgreSQL when DATABASE_URL names one.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { isPostgresUrl, openDataSource } from '../../src/channels/persistence/datasource.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { channelStoreContract } from './contract.js';

channelStoreContract('in memory', {
  open: async () => new MemoryChannelStore(),
  dispose: (store) => store.close(),
});

channelStoreContract('TypeORM on SQLite :memory:', {
  open: () => TypeOrmChannelStore.open(':memory:'),
  dispose: (store) => store.close(),
});

const dirs = new Map<object, string>();
channelStoreContract('TypeORM on an SQLite file (WAL, synchronous=FULL)', {
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
});

const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl !== undefined && isPostgresUrl(databaseUrl)) {
  channelStoreContract(`TypeORM on PostgreSQL (${new URL(databaseUrl).host})`, {
    open: async () => {
      const ds = await openDataSource({ url: databaseUrl });
      // Start every scenario from empty tables (children first).
      for (const table of [
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
  });
}
