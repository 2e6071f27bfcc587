// One TypeORM DataSource per agent: SQLite through better-sqlite3 by default (a file path, or
// ':memory:' in tests), PostgreSQL when given a postgres:// or postgresql:// URL. The channel tables
// are always included; callers add their own entities and migrations (Credo's storage records will
// share the same DataSource).
//
// Schema: explicit migrations, run on initialize (`migrationsRun`), never `synchronize`. The tables
// hold signed channel states, i.e. money: synchronize diffs entities against the live schema and
// may drop and recreate a column (losing its data) when an entity changes, and it runs unreviewed
// DDL at every start. A migration is reviewed, versioned with the code, and recorded in the
// `migrations` table, so each runs exactly once per database. The migration is written with the
// driver-neutral Table API, so one file serves SQLite and PostgreSQL; a test checks that it
// produces exactly the schema the entities describe.
//
// Durability on SQLite: journal_mode=WAL and synchronous=FULL. In WAL mode, NORMAL syncs only at
// checkpoints: a commit survives a crash of the process but can be lost on power failure or an OS
// crash, which would let us forget a state whose signature we already sent. FULL fsyncs the WAL at
// every commit, so a resolved write is on disk; WAL keeps that to one sequential fsync per
// transaction (rollback journal mode needs several). The cost is paid once per transaction, which
// is why the channel core groups "staged state + phase" writes with ChannelStore.transaction.
// On PostgreSQL the server default synchronous_commit=on gives the same guarantee.
//
// better-sqlite3 is one synchronous connection: TypeORM does not serialize transactions on it, and
// a query issued by one caller while another caller's transaction is open would run inside that
// transaction. Every user of a SQLite DataSource must therefore go through `exclusive(ds, fn)`; the
// channel store does (its update writes run straight on the connection, prepared statements inside
// transactions it opens itself, within its exclusive turn), and the Credo StorageService on the
// same DataSource must as well.

import 'reflect-metadata';
import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';

import { channelEntitiesFor } from './entities/index.js';
import { channelMigrations } from './migrations/index.js';
import { Mutex } from './mutex.js';

/** SQLite `synchronous` levels we accept; see the header for why FULL is the default. */
export type SqliteSynchronous = 'FULL' | 'EXTRA' | 'NORMAL';

export interface OpenDataSourceOptions {
  /** 'postgres://user:pass@host:port/db' (or postgresql://), else an SQLite file path or ':memory:'. */
  url: string;
  /** More entities for the same DataSource (classes or EntitySchemas). */
  entities?: (Function | EntitySchema)[]; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  /** More migrations, run after the channel migrations. */
  migrations?: MixedList<Function | string>; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  /** SQLite only: default 'FULL'. 'NORMAL' survives process crashes but not power loss. */
  sqliteSynchronous?: SqliteSynchronous;
  /** Log SQL (TypeORM logging). */
  logging?: boolean;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Creates, initializes and migrates a DataSource for `url`. */
export async function openDataSource(options: OpenDataSourceOptions): Promise<DataSource> {
  const postgres = isPostgresUrl(options.url);
  const entities = [
    ...channelEntitiesFor(postgres ? 'postgres' : 'better-sqlite3'),
    ...(options.entities ?? []),
  ];
  const extraMigrations = options.migrations ?? [];
  const migrations = [
    ...channelMigrations,
    ...(Array.isArray(extraMigrations) ? extraMigrations : Object.values(extraMigrations)),
  ];
  const common = {
    entities,
    migrations,
    migrationsRun: true,
    synchronize: false,
    logging: options.logging ?? false,
  };

  let config: DataSourceOptions;
  if (postgres) {
    config = { ...common, type: 'postgres', url: options.url };
  } else {
    const synchronous = options.sqliteSynchronous ?? 'FULL';
    if (!['FULL', 'EXTRA', 'NORMAL'].includes(synchronous)) {
      throw new Error(`unsupported sqliteSynchronous: ${String(synchronous)}`);
    }
    config = {
      ...common,
      type: 'better-sqlite3',
      database: options.url.replace(/^sqlite:/i, ''),
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        db.pragma('journal_mode = WAL'); // ':memory:' stays 'memory', which is fine for tests
        db.pragma(`synchronous = ${synchronous}`);
      },
    };
  }
  const ds = new DataSource(config);
  await ds.initialize();
  return ds;
}

const locks = new WeakMap<DataSource, Mutex>();

/** Whether the DataSource is a single shared connection that callers must take turns on. */
export function isSingleConnection(ds: DataSource): boolean {
  const type: string = ds.options.type;
  return ['better-sqlite3', 'sqljs', 'capacitor', 'cordova', 'expo', 'nativescript', 'react-native'].includes(
    type,
  );
}

/**
 * Runs `fn` alone on a single-connection DataSource (SQLite), in call order; on a pooled one
 * (PostgreSQL) runs it directly, transactions there being isolated per connection.
 */
export function exclusive<T>(ds: DataSource, fn: () => Promise<T>): Promise<T> {
  if (!isSingleConnection(ds)) return fn();
  let lock = locks.get(ds);
  if (!lock) {
    lock = new Mutex();
    locks.set(ds, lock);
  }
  return lock.run(fn);
}
