// The replay guard's store on the agent's SQLite file joins the DataSource's group commit
// (src/channels/persistence/sqlite-group.ts): IDs made durable while channel writes wait for the
// connection are committed with them, one transaction, and the guard hears only after that commit;
// a channel write of the same group that throws is undone alone, the IDs stay. Reopened to see
// what is durable.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { AbstractSqliteQueryRunner } from 'typeorm/driver/sqlite-abstract/AbstractSqliteQueryRunner.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { TypeOrmReplayStore } from '../../src/agent/storage/inbound-messages.js';
import { ChannelExistsError } from '../../src/channels/persistence/errors.js';
import { connectionOf } from '../../src/channels/persistence/sqlite-group.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { SqliteUpdates } from '../../src/channels/persistence/update-statements.js';
import { ReplayGuard } from '../../src/protocols/replay/replay-guard.js';
import { channelId, newChannel } from '../persistence/fixtures.js';
import { holdConnection } from '../persistence/hold-connection.js';

let dir: string;
let file: string;
let ds: DataSource;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perun-replay-group-'));
  file = join(dir, 'agent.sqlite');
  ds = await openAgentStore(file);
});

afterEach(async () => {
  jest.restoreAllMocks();
  if (ds.isInitialized) await ds.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** After reopening the file: which of `ids` (on connection c1) the guard remembers, and which channels are stored. */
async function durable(ids: string[], labels: string[]): Promise<{ ids: boolean[]; channels: boolean[] }> {
  await ds.destroy();
  ds = await openAgentStore(file);
  const guard = new ReplayGuard(new TypeOrmReplayStore(ds));
  await guard.load();
  const store = new TypeOrmChannelStore(ds);
  return {
    ids: ids.map((id) => !guard.admit('c1', id)),
    channels: await Promise.all(labels.map(async (l) => (await store.getChannel(channelId(l))) !== null)),
  };
}

it('IDs flushed while channel writes wait are one commit with them, and the guard hears after it', async () => {
  const store = new TypeOrmChannelStore(ds);
  const guard = new ReplayGuard(new TypeOrmReplayStore(ds));
  // The group's transactions, and any TypeORM runs on the connection.
  const groups = jest.spyOn(SqliteUpdates.prototype, 'transaction');
  const typeorm = jest.spyOn(AbstractSqliteQueryRunner.prototype, 'commitTransaction');
  const commits = () => groups.mock.calls.length + typeorm.mock.calls.length;
  const release = await holdConnection(ds);
  const labels = ['one', 'two', 'three'];
  const writes = labels.map((l) => store.createChannel(newChannel(l)));
  for (const id of ['m1', 'm2']) expect(guard.admit('c1', id)).toBe(true);
  let inTransactionWhenTold: boolean | undefined;
  const flushed = guard.flush().then(() => (inTransactionWhenTold = connectionOf(ds).inTransaction));
  await release();
  await Promise.all([...writes, flushed]);
  expect(commits()).toBe(1);
  expect(inTransactionWhenTold).toBe(false);
  expect(await durable(['m1', 'm2', 'unseen'], labels)).toEqual({
    ids: [true, true, false],
    channels: [true, true, true],
  });
});

it('a channel write of the group that throws is undone alone: the IDs are stored', async () => {
  const store = new TypeOrmChannelStore(ds);
  await store.createChannel(newChannel('exists'));
  const guard = new ReplayGuard(new TypeOrmReplayStore(ds));
  const release = await holdConnection(ds);
  const results = Promise.allSettled([
    store.createChannel(newChannel('exists')),
    (guard.admit('c1', 'm1'), guard.flush()),
    store.createChannel(newChannel('after')),
  ]);
  await release();
  const [dup, flush, after] = await results;
  expect(dup.status === 'rejected' && dup.reason instanceof ChannelExistsError).toBe(true);
  expect(flush.status).toBe('fulfilled');
  expect(after.status).toBe('fulfilled');
  expect(await durable(['m1'], ['exists', 'after'])).toEqual({ ids: [true], channels: [true, true] });
});
