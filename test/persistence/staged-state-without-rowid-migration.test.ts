// Petra's SQLite file was made before the staged states' table became WITHOUT ROWID, with two
// updates in flight (one carrying payments). Opening it with this build rebuilds the table: both
// staged states are found exactly as they were, the table keeps its foreign key (a row for an
// unknown channel is refused, deleting the channel deletes its row), the next update is staged
// and signed as usual, and undoing the migration gives the rowid table back with every row.

import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';

import { channelEntities } from '../../src/channels/persistence/entities/index.js';
import { channelMigrations } from '../../src/channels/persistence/migrations/index.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import type { StagedState } from '../../src/channels/store.js';
import { channelId, newChannel, signed, stagedBy } from './fixtures.js';

const tableSql = async (ds: DataSource) =>
  (
    (await ds.query(`SELECT sql FROM sqlite_master WHERE name = 'perun_staged_state'`)) as { sql: string }[]
  )[0]!.sql;

describe("Petra's file of the schema before the staged states' WITHOUT ROWID table", () => {
  let dir: string;
  let file: string;
  const ab = channelId('petra-robert');
  const ac = channelId('petra-carla');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'perun-staged-'));
    file = join(dir, 'petra.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The file as the previous build left it, and the staged states it holds. */
  async function previousFile(): Promise<Record<string, StagedState>> {
    const before = channelMigrations.filter((m) => m.name !== 'StagedStateWithoutRowid1796688000000');
    expect(before).toHaveLength(channelMigrations.length - 1);
    const old = new DataSource({
      type: 'better-sqlite3',
      database: file,
      entities: [...channelEntities],
      migrations: before,
      migrationsRun: true,
    });
    await old.initialize();
    expect(await tableSql(old)).not.toContain('WITHOUT ROWID');
    const store = new TypeOrmChannelStore(old);
    const staged: Record<string, StagedState> = {
      [ab]: {
        ...stagedBy([0], ab, 2n, 25n),
        payments: { payer: 0, payments: [{ id: 'milk', asset: 0, amount: 15n }] },
      },
      [ac]: stagedBy([1], ac, 5n),
    };
    for (const [id, label] of [
      [ab, 'petra-robert'],
      [ac, 'petra-carla'],
    ] as const) {
      await store.createChannel(newChannel(label));
      await store.saveSignedState(id, signed(id, id === ab ? 1n : 4n, 10n));
      await store.saveStagedState(id, staged[id]!);
    }
    await old.destroy();
    return staged;
  }

  it('keeps both staged states and the foreign key, and the next update is stored as usual', async () => {
    const staged = await previousFile();
    const s = await TypeOrmChannelStore.open(file);
    try {
      expect(await tableSql(s.dataSource)).toContain('WITHOUT ROWID');
      expect((await s.getChannel(ab))?.staged).toEqual(staged[ab]);
      expect((await s.getChannel(ac))?.staged).toEqual(staged[ac]);
      expect(await s.dataSource.query('PRAGMA foreign_key_check')).toEqual([]);
      await expect(
        s.dataSource.query(
          `INSERT INTO perun_staged_state (channel_id, version, state, sigs) VALUES ('0xunknown', '1', '{}', '[]')`,
        ),
      ).rejects.toThrow(/FOREIGN KEY/);
      await s.saveSignedState(ab, signed(ab, 2n, 25n), staged[ab]!.payments);
      expect((await s.getChannel(ab))?.staged).toBeNull();
      expect((await s.listPayments({ channelId: ab })).map((p) => p.id)).toEqual(['milk']);
      await s.dataSource.query('DELETE FROM perun_channel WHERE id = ?', [ac]);
      expect(await s.dataSource.query('SELECT channel_id FROM perun_staged_state')).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('gets the rowid table back with every row when the migration is undone', async () => {
    const staged = await previousFile();
    const s = await TypeOrmChannelStore.open(file);
    await s.dataSource.undoLastMigration();
    expect(await tableSql(s.dataSource)).not.toContain('WITHOUT ROWID');
    expect((await s.getChannel(ab))?.staged).toEqual(staged[ab]);
    expect((await s.getChannel(ac))?.staged).toEqual(staged[ac]);
    await s.close();
  });
});
