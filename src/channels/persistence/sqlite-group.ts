// The group commit of an SQLite DataSource (./group-commit.ts), one per DataSource, and the
// update statements prepared on its connection: the channel store's transactions and those of
// other stores on the same connection (the agent's replay guard) that wait for it together are
// committed together, one fsync. A member runs its statements straight on `connectionOf(ds)`
// inside the group's transaction, in the DataSource's exclusive turn.
import type BetterSqlite3 from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import type { BetterSqlite3Driver } from 'typeorm/driver/better-sqlite3/BetterSqlite3Driver.js';
import { exclusive } from './datasource.js';
import { GroupCommit } from './group-commit.js';
import { SqliteUpdates } from './update-statements.js';

interface Shared {
  group: GroupCommit;
  updates?: SqliteUpdates;
}

const shared = new WeakMap<DataSource, Shared>();

function sharedOf(ds: DataSource): Shared {
  let s = shared.get(ds);
  if (s === undefined) {
    s = {
      group: new GroupCommit(
        (fn) => exclusive(ds, fn),
        () => sqliteUpdatesOf(ds),
      ),
    };
    shared.set(ds, s);
  }
  return s;
}

/** Whether `ds` runs on better-sqlite3 (one connection, the group commit applies). */
export function isBetterSqlite(ds: DataSource): boolean {
  return ds.options.type === 'better-sqlite3';
}

/** The better-sqlite3 connection of `ds` (a new one after a reconnect). */
export function connectionOf(ds: DataSource): BetterSqlite3.Database {
  return (ds.driver as BetterSqlite3Driver).databaseConnection as BetterSqlite3.Database;
}

/** The update statements prepared on the current connection of `ds` (prepared again after a reconnect). */
export function sqliteUpdatesOf(ds: DataSource): SqliteUpdates {
  const s = sharedOf(ds);
  const db = connectionOf(ds);
  if (s.updates?.db !== db) s.updates = new SqliteUpdates(db);
  return s.updates;
}

/** The group commit every store on the better-sqlite3 DataSource `ds` runs its transactions in. */
export function sqliteGroupCommit(ds: DataSource): GroupCommit {
  return sharedOf(ds).group;
}
