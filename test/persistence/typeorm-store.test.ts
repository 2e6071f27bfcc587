// Scenarios specific to the TypeORM store: an agent restarts on its SQLite file and finds every
// channel as it left it; the file is durable by configuration (WAL + synchronous=FULL); the
// migration builds exactly the schema the entities describe; other entities share the DataSource.

import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Column,
  Entity,
  PrimaryColumn,
  Table,
  type DataSource,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';

import { isPostgresUrl, openDataSource } from '../../src/channels/persistence/datasource.js';
import { CorruptRecordError, StaleStateError } from '../../src/channels/persistence/errors.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import {
  CAROL,
  channelId,
  extremeState,
  newChannel,
  sig,
  signed,
  stagedBy,
  UINT256_MAX,
} from './fixtures.js';

describe('Petra restarts her agent on the same SQLite file', () => {
  let dir: string;
  let file: string;
  const stores: TypeOrmChannelStore[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'perun-restart-'));
    file = join(dir, 'petra.sqlite');
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = async () => {
    const s = await TypeOrmChannelStore.open(file);
    stores.push(s);
    return s;
  };

  it('finds every channel restored exactly: params, signatures, staged state, phase and cursors', async () => {
    const pr = channelId('petra-robert');
    const pc = channelId('petra-carol');
    const first = await open();
    await first.createChannel(newChannel('petra-robert'));
    await first.createChannel({ ...newChannel('petra-carol', { peer: CAROL }), ourIndex: 1, parentId: pr });
    // 30 payments on the first channel; the 31st is in flight (our signature only) when she stops.
    for (let v = 0n; v <= 30n; v++) await first.saveSignedState(pr, signed(pr, v, v * 10n ** 15n));
    await first.transaction(async (tx) => {
      await tx.saveStagedState(pr, stagedBy([0], pr, 31n, 31n * 10n ** 15n));
      await tx.setPhase(pr, 'Signing');
    });
    // The second channel holds a state at the edges of every type and is registered on chain.
    const extreme = { state: extremeState(pc, 2n ** 64n), sigs: [sig(0, pc, 1n), sig(1, pc, 1n)] };
    await first.saveSignedState(pc, extreme);
    await first.setPhase(pc, 'Registered');
    await first.setCursor(18_446_744_073_709_551_615n);
    await first.setCursor(12_345_678n, pc);
    const before = await first.listChannels();
    await first.close(); // the process goes away

    const second = await open(); // a new DataSource on the same file
    const after = await second.listChannels();
    expect(after).toEqual(before); // deep, including every bigint and updatedAt
    const robert = after.find((c) => c.id === pr)!;
    expect(robert.phase).toBe('Signing');
    expect(robert.current?.state.version).toBe(30n);
    expect(robert.current?.state.outcome.balances[0]).toEqual([
      10n * 10n ** 18n - 30n * 10n ** 15n,
      10n * 10n ** 18n + 30n * 10n ** 15n,
    ]);
    expect(robert.current?.sigs).toEqual([sig(0, pr, 30n), sig(1, pr, 30n)]);
    expect(robert.staged).toEqual(stagedBy([0], pr, 31n, 31n * 10n ** 15n));
    const carol = after.find((c) => c.id === pc)!;
    expect(carol).toMatchObject({ phase: 'Registered', ourIndex: 1, parentId: pr, current: extreme });
    expect(carol.current?.state.outcome.balances[0]?.[0]).toBe(UINT256_MAX);
    expect(await second.getCursor()).toBe(18_446_744_073_709_551_615n);
    expect(await second.getCursor(pc)).toBe(12_345_678n);

    // She continues where she stopped, and the version rule still holds across the restart.
    await expect(second.saveSignedState(pr, signed(pr, 29n))).rejects.toBeInstanceOf(StaleStateError);
    await second.transaction(async (tx) => {
      await tx.saveSignedState(pr, signed(pr, 31n, 31n * 10n ** 15n));
      await tx.setPhase(pr, 'Acting');
    });
    await second.close();

    const third = await open();
    const r = await third.getChannel(pr);
    expect(r?.current).toEqual(signed(pr, 31n, 31n * 10n ** 15n));
    expect(r?.staged).toBeNull();
    expect(r?.phase).toBe('Acting');
    // The migration ran once, on the first open.
    expect(await third.dataSource.query('SELECT name FROM migrations')).toEqual([
      { name: 'ChannelTables1767225600000' },
      { name: 'UsedVersion1767916800000' },
    ]);
  });

  it('opens the file in WAL mode with synchronous=FULL (a resolved write is fsynced)', async () => {
    const s = await open();
    expect(await s.dataSource.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await s.dataSource.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]); // 2 = FULL
    expect(await s.dataSource.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
  });

  it('reports a row altered outside the store as corrupt instead of decoding it wrongly', async () => {
    const pr = channelId('petra-robert');
    const s = await open();
    await s.createChannel(newChannel('petra-robert'));
    await s.saveSignedState(pr, signed(pr, 3n));
    await s.dataSource.query(
      `UPDATE perun_signed_state SET state = replace(state, '"version":"3"', '"version":"3.5"')`,
    );
    await expect(s.getChannel(pr)).rejects.toBeInstanceOf(CorruptRecordError);
    await s.dataSource.query(`UPDATE perun_signed_state SET state = '{"version":"4"}'`);
    await expect(s.listChannels()).rejects.toBeInstanceOf(CorruptRecordError);
  });
});

/** A table of another module (standing in for Credo's storage records) on the same DataSource. */
@Entity({ name: 'test_note' })
class NoteEntity {
  @PrimaryColumn({ type: 'varchar' })
  id!: string;

  @Column({ type: 'text' })
  body!: string;
}

class NoteTable1767225600001 implements MigrationInterface {
  name = 'NoteTable1767225600001';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'test_note',
        columns: [
          { name: 'id', type: 'varchar', isPrimary: true },
          { name: 'body', type: 'text' },
        ],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('test_note');
  }
}

describe('the DataSource factory', () => {
  const sources: DataSource[] = [];
  afterAll(async () => {
    for (const ds of sources) if (ds.isInitialized) await ds.destroy();
  });
  const urls = [':memory:'];
  const pg = process.env.DATABASE_URL;
  if (pg !== undefined && isPostgresUrl(pg)) urls.push(pg);

  it.each(urls.map((u) => [u.startsWith('postgres') ? 'PostgreSQL' : 'SQLite', u]))(
    'on %s the migration builds exactly the schema the entities describe',
    async (_driver, url) => {
      const ds = await openDataSource({ url });
      sources.push(ds);
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
      expect(await ds.showMigrations()).toBe(false); // nothing left to run
      await ds.destroy();
    },
  );

  it('shares one DataSource between the channel store and other entities', async () => {
    const ds = await openDataSource({
      url: ':memory:',
      entities: [NoteEntity],
      migrations: [NoteTable1767225600001],
    });
    sources.push(ds);
    const store = new TypeOrmChannelStore(ds);
    const ab = channelId('alice-bob');
    await store.createChannel(newChannel('alice-bob'));
    await store.saveSignedState(ab, signed(ab, 1n));
    await ds.getRepository(NoteEntity).insert({ id: 'n1', body: 'a credential record' });
    expect(await ds.getRepository(NoteEntity).findOneBy({ id: 'n1' })).toEqual({
      id: 'n1',
      body: 'a credential record',
    });
    expect(ds.migrations.map((m) => m.name)).toEqual([
      'ChannelTables1767225600000',
      'UsedVersion1767916800000',
      'NoteTable1767225600001',
    ]);
    await store.close(); // the store was handed the DataSource: it leaves it open for its owner
    expect(ds.isInitialized).toBe(true);
    expect((await new TypeOrmChannelStore(ds).getChannel(ab))?.current).toEqual(signed(ab, 1n));
  });
});
