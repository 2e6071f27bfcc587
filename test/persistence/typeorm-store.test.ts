// Scenarios specific to the TypeORM store: an agent restarts on its SQLite file and finds every
// channel (and its payment log) as it left it; a file of the previous schema is upgraded in place;
// the file is durable by configuration (WAL + synchronous=FULL); the migrations build exactly the
// schema the entities describe; other entities share the DataSource.

import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Column,
  DataSource,
  Entity,
  PrimaryColumn,
  Table,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';

import { exclusive, isPostgresUrl, openDataSource } from '../../src/channels/persistence/datasource.js';
import { paramsToJson, stateToJson } from '../../src/channels/persistence/codec.js';
import {
  CorruptRecordError,
  PaymentExistsError,
  StaleStateError,
  StoreUsageError,
} from '../../src/channels/persistence/errors.js';
import { ChannelTables1767225600000 } from '../../src/channels/persistence/migrations/1767225600000-channel-tables.js';
import { UsedVersion1767916800000 } from '../../src/channels/persistence/migrations/1767916800000-used-version.js';
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
import { ownDatabase } from './pg-database.js';

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
      { name: 'PaymentLog1796515200000' },
      { name: 'PaymentLogRowid1796601600000' },
      { name: 'StagedStateWithoutRowid1796688000000' },
    ]);
  });

  it('finds her payment log and the payments of her update in flight after the restart', async () => {
    const pr = channelId('petra-robert');
    const first = await open();
    await first.createChannel(newChannel('petra-robert'));
    await first.saveSignedState(pr, signed(pr, 0n, 0n));
    await first.saveSignedState(pr, signed(pr, 1n, 10n), {
      payer: 0,
      payments: [{ id: 'bread', asset: 0, amount: 10n }],
    });
    const inFlight = {
      ...stagedBy([0], pr, 2n, 25n),
      payments: { payer: 0, payments: [{ id: 'milk', asset: 0, amount: 15n }] },
    };
    await first.saveStagedState(pr, inFlight);
    const log = await first.listPayments();
    await first.close();

    const second = await open();
    expect((await second.getChannel(pr))?.staged).toEqual(inFlight);
    expect(await second.listPayments()).toEqual(log);
    // The log numbers on after the restart, and an ID logged before is still taken.
    await second.saveSignedState(pr, signed(pr, 2n, 25n), inFlight.payments);
    const [milk] = await second.listPayments({ limit: 1 });
    expect([milk?.id, milk!.seq > log[0]!.seq]).toEqual(['milk', true]);
    await expect(
      second.saveSignedState(pr, signed(pr, 3n, 30n), {
        payer: 0,
        payments: [{ id: 'bread', asset: 0, amount: 5n }],
      }),
    ).rejects.toBeInstanceOf(PaymentExistsError);
  });

  it('upgrades a database of the previous schema in place: channels and staged states kept, a log added', async () => {
    const pr = channelId('petra-robert');
    const old = new DataSource({
      type: 'better-sqlite3',
      database: file,
      migrations: [ChannelTables1767225600000, UsedVersion1767916800000],
      migrationsRun: true,
    });
    await old.initialize();
    const proposal = stagedBy([0], pr, 4n);
    await old.query(
      `INSERT INTO perun_channel (id, params, our_index, parent_id, phase, updated_at, used_version, used_state)
       VALUES (?, ?, 0, NULL, 'Signing', 1767225600000, '3', NULL)`,
      [pr, paramsToJson(newChannel('petra-robert').params)],
    );
    await old.query(`INSERT INTO perun_channel_peer (channel_id, idx, peer_id) VALUES (?, 0, ?), (?, 1, ?)`, [
      pr,
      newChannel('petra-robert').peers[0],
      pr,
      newChannel('petra-robert').peers[1],
    ]);
    await old.query(
      `INSERT INTO perun_staged_state (channel_id, version, state, sigs) VALUES (?, '4', ?, ?)`,
      [pr, stateToJson(proposal.state), JSON.stringify(proposal.sigs)],
    );
    await old.destroy();

    const s = await open();
    const r = await s.getChannel(pr);
    expect([r?.phase, r?.usedVersion, r?.staged]).toEqual(['Signing', 3n, proposal]);
    await s.saveSignedState(pr, signed(pr, 4n), {
      payer: 0,
      payments: [{ id: 'first', asset: 0, amount: 1n }],
    });
    expect((await s.listPayments()).map((p) => [p.id, p.version])).toEqual([['first', 4n]]);
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
  const urls: [string, () => Promise<string>][] = [['SQLite', async () => ':memory:']];
  const pg = process.env.DATABASE_URL;
  if (pg !== undefined && isPostgresUrl(pg)) urls.push(['PostgreSQL', ownDatabase(pg, 'perun_schema_check')]);

  it.each(urls)(
    'on %s the migration builds exactly the schema the entities describe',
    async (_driver, url) => {
      const ds = await openDataSource({ url: await url() });
      sources.push(ds);
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
      expect(await ds.showMigrations()).toBe(false); // nothing left to run
      await ds.destroy();
    },
  );

  /** A DataSource with the notes table beside the channel tables, a store on it and one channel. */
  const sharedSource = async () => {
    const ds = await openDataSource({
      url: ':memory:',
      entities: [NoteEntity],
      migrations: [NoteTable1767225600001],
    });
    sources.push(ds);
    const store = new TypeOrmChannelStore(ds);
    const ab = channelId('alice-bob');
    await store.createChannel(newChannel('alice-bob'));
    return { ds, store, ab };
  };

  it('shares one DataSource between the channel store and other entities', async () => {
    const { ds, store, ab } = await sharedSource();
    await store.saveSignedState(ab, signed(ab, 1n));
    await ds.getRepository(NoteEntity).insert({ id: 'n1', body: 'a credential record' });
    expect(await ds.getRepository(NoteEntity).findOneBy({ id: 'n1' })).toEqual({
      id: 'n1',
      body: 'a credential record',
    });
    expect(ds.migrations.map((m) => m.name)).toEqual([
      'ChannelTables1767225600000',
      'UsedVersion1767916800000',
      'PaymentLog1796515200000',
      'PaymentLogRowid1796601600000',
      'StagedStateWithoutRowid1796688000000',
      'NoteTable1767225600001',
    ]);
    await store.close(); // the store was handed the DataSource: it leaves it open for its owner
    expect(ds.isInitialized).toBe(true);
    expect((await new TypeOrmChannelStore(ds).getChannel(ab))?.current).toEqual(signed(ab, 1n));
  });

  it('on SQLite, store transactions and TypeORM transactions taking turns (exclusive) never mix', async () => {
    const { ds, store, ab } = await sharedSource();
    const notes = ds.getRepository(NoteEntity);
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const work: Promise<unknown>[] = [];
    for (let v = 1n; v <= 20n; v++) {
      const failing = v % 3n === 0n;
      // A payment's transaction with awaits inside (every third one fails after its writes)...
      work.push(
        store
          .transaction(async (tx) => {
            await tx.saveStagedState(ab, stagedBy([0], ab, v));
            await tick();
            await tx.saveSignedState(ab, signed(ab, v), {
              payer: 0,
              payments: [{ id: `p${v}`, asset: 0, amount: v }],
            });
            await tick();
            if (failing) throw new Error('the peer went away');
            await tx.setPhase(ab, `Acting-${v}`);
          })
          .catch(() => undefined),
      );
      // ...racing another module's TypeORM transactions on the same connection (one in three rolls back).
      work.push(
        exclusive(ds, () =>
          ds.transaction(async (m) => {
            await m.getRepository(NoteEntity).insert({ id: `n${v}`, body: 'a record' });
            await tick();
            if (v % 3n === 1n) throw new Error('validation failed');
          }),
        ).catch(() => undefined),
      );
    }
    await Promise.all(work);
    const expected = [...Array(20).keys()].map((i) => BigInt(i + 1));
    expect((await store.listPayments()).map((p) => p.id).reverse()).toEqual(
      expected.filter((v) => v % 3n !== 0n).map((v) => `p${v}`),
    );
    expect((await notes.find({ order: { id: 'ASC' } })).map((n) => n.id)).toEqual(
      expected
        .filter((v) => v % 3n !== 1n)
        .map((v) => `n${v}`)
        .sort(),
    );
    const r = await store.getChannel(ab);
    expect([r?.phase, r?.current?.state.version, r?.staged]).toEqual(['Acting-20', 20n, null]);
  });

  it('on SQLite, a store transaction refuses to join a transaction someone opened without exclusive', async () => {
    const ds = await openDataSource({ url: ':memory:' });
    sources.push(ds);
    const store = new TypeOrmChannelStore(ds);
    await store.createChannel(newChannel('alice-bob'));
    let opened = () => {};
    let release = () => {};
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const intruder = ds.transaction(async () => {
      opened();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isOpen;
    await expect(store.setPhase(channelId('alice-bob'), 'Acting')).rejects.toBeInstanceOf(StoreUsageError);
    release();
    await intruder;
    await store.setPhase(channelId('alice-bob'), 'Acting');
    expect((await store.getChannel(channelId('alice-bob')))?.phase).toBe('Acting');
  });
});
