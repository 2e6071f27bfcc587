// Petra's SQLite file was made by the schema before the payment log's key became the rowid, and
// holds the payments of two channels. Opening it with this build rebuilds the log: every payment
// is still listed with its own number, in every listing (all, by channel, by page), its ID is
// still taken, and the log numbers on after the highest. Undoing the migration gives the previous
// table back with every row.

import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';

import {
  ChannelEntity,
  ChannelPeerEntity,
  PaymentLogEntity,
  SignedStateEntity,
  StagedStateEntity,
  WatcherCursorEntity,
} from '../../src/channels/persistence/entities/index.js';
import { PaymentExistsError } from '../../src/channels/persistence/errors.js';
import { ChannelTables1767225600000 } from '../../src/channels/persistence/migrations/1767225600000-channel-tables.js';
import { UsedVersion1767916800000 } from '../../src/channels/persistence/migrations/1767916800000-used-version.js';
import { PaymentLog1796515200000 } from '../../src/channels/persistence/migrations/1796515200000-payment-log.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import type { StoredPayment } from '../../src/channels/store.js';
import type { Hex } from '../../src/channels/types.js';
import { channelId, newChannel, signed } from './fixtures.js';

/** Every listing the store offers of the log, to compare before and after. */
async function listings(
  s: TypeOrmChannelStore,
  ids: Hex[],
): Promise<{ all: StoredPayment[] } & Record<string, StoredPayment[]>> {
  const all = await s.listPayments();
  const out: { all: StoredPayment[] } & Record<string, StoredPayment[]> = { all };
  for (const id of ids) {
    out[id] = await s.listPayments({ channelId: id });
    out[`${id} page`] = await s.listPayments({ channelId: id, beforeSeq: all[3]!.seq, limit: 2 });
  }
  out['page'] = await s.listPayments({ beforeSeq: all[5]!.seq, limit: 4 });
  return out;
}

const indexNames = async (ds: DataSource) =>
  ((await ds.query(`PRAGMA index_list('perun_payment')`)) as { name: string }[]).map((r) => r.name).sort();

describe("Petra's file of the schema before the log's rowid key", () => {
  let dir: string;
  let file: string;
  const ab = channelId('petra-robert');
  const ac = channelId('petra-carla');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'perun-rowid-'));
    file = join(dir, 'petra.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The file as the previous build left it: two channels, 10 payments, one batch of three. */
  async function previousFile(): Promise<{ all: StoredPayment[] } & Record<string, StoredPayment[]>> {
    const old = new DataSource({
      type: 'better-sqlite3',
      database: file,
      entities: [
        ChannelEntity,
        ChannelPeerEntity,
        SignedStateEntity,
        StagedStateEntity,
        WatcherCursorEntity,
        PaymentLogEntity, // seq a bigint key: the previous schema on SQLite too
      ],
      migrations: [ChannelTables1767225600000, UsedVersion1767916800000, PaymentLog1796515200000],
      migrationsRun: true,
    });
    await old.initialize();
    expect((await old.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    expect(await indexNames(old)).toContain('sqlite_autoindex_perun_payment_1'); // the key's own index
    const store = new TypeOrmChannelStore(old);
    for (const [id, label] of [
      [ab, 'petra-robert'],
      [ac, 'petra-carla'],
    ] as const) {
      await store.createChannel(newChannel(label));
      await store.saveSignedState(id, signed(id, 0n, 0n));
    }
    let paid = { [ab]: 0n, [ac]: 0n };
    for (let v = 1n; v <= 4n; v++) {
      for (const [id, tag] of [
        [ab, 'r'],
        [ac, 'c'],
      ] as const) {
        const amounts = v === 3n && id === ab ? [1n, 2n, 3n] : [v];
        const total = amounts.reduce((a, b) => a + b, 0n);
        paid = { ...paid, [id]: paid[id]! + total };
        await store.saveSignedState(id, signed(id, v, paid[id]), {
          payer: 0,
          payments: amounts.map((amount, i) => ({ id: `${tag}-${v}-${i}`, asset: 0, amount })),
        });
      }
    }
    const before = await listings(store, [ab, ac]);
    expect(before.all).toHaveLength(10);
    await old.destroy();
    return before;
  }

  it('keeps every payment, its number and every listing, and the IDs stay taken', async () => {
    const before = await previousFile();
    const s = await TypeOrmChannelStore.open(file);
    try {
      expect(await listings(s, [ab, ac])).toEqual(before);
      expect(await indexNames(s.dataSource)).toEqual([
        'IDX_perun_payment_channel_payment',
        'IDX_perun_payment_channel_seq',
      ]);
      expect(await s.dataSource.query('SELECT COUNT(*) AS n FROM perun_payment WHERE rowid <> seq')).toEqual([
        { n: 0 },
      ]);
      expect((await s.dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
      await expect(
        s.saveSignedState(ab, signed(ab, 5n, 30n), {
          payer: 0,
          payments: [{ id: 'r-3-1', asset: 0, amount: 10n }],
        }),
      ).rejects.toBeInstanceOf(PaymentExistsError);
      await s.saveSignedState(ab, signed(ab, 5n, 30n), {
        payer: 0,
        payments: [{ id: 'r-5-0', asset: 0, amount: 10n }],
      });
      const [latest] = await s.listPayments({ limit: 1 });
      expect([latest?.id, latest?.seq]).toEqual(['r-5-0', before.all[0]!.seq + 1n]);
    } finally {
      await s.close();
    }
  });

  it('gets the previous table back with every row when the migration is undone', async () => {
    const before = await previousFile();
    const s = await TypeOrmChannelStore.open(file);
    await s.dataSource.undoLastMigration(); // the staged states' rebuild, made after it
    await s.dataSource.undoLastMigration();
    expect(await indexNames(s.dataSource)).toContain('sqlite_autoindex_perun_payment_1');
    const rows = (await s.dataSource.query(
      'SELECT seq, payment_id FROM perun_payment ORDER BY seq DESC',
    )) as {
      seq: number;
      payment_id: string;
    }[];
    expect(rows.map((r) => [BigInt(r.seq), r.payment_id])).toEqual(before.all.map((p) => [p.seq, p.id]));
    await s.close();
  });
});
