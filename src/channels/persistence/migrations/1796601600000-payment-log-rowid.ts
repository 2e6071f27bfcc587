// SQLite: the payment log's key `seq` becomes an INTEGER PRIMARY KEY, the table's rowid. It was a
// bigint primary key, which SQLite keeps in an index of its own beside the table's b-tree: every
// payment wrote that index too (four b-trees a row, now three), and the log's rows are now stored
// in `seq` order. The table is rebuilt (SQLite cannot change a key in place): the old one renamed,
// the new one made, every row copied with its `seq`, the counts compared, the old one dropped,
// all in the migration's transaction. PostgreSQL keeps its table as it is (a heap with a bigint
// key index has no rowid to share): nothing to do there.

import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

import { CorruptRecordError } from '../errors.js';

const decimal = (name: string) => ({ name, type: 'varchar', length: '78' });
const isPostgres = (q: QueryRunner) => q.connection.options.type === 'postgres';

const COLUMNS = 'seq, channel_id, version, payer, payment_id, asset, amount, balances, paid_at';
const INDICES = ['IDX_perun_payment_channel_payment', 'IDX_perun_payment_channel_seq'];

/** perun_payment as the entities describe it, with `seq` of `seqType`. */
function paymentTable(seqType: 'integer' | 'bigint'): Table {
  return new Table({
    name: 'perun_payment',
    columns: [
      { name: 'seq', type: seqType, isPrimary: true },
      { name: 'channel_id', type: 'varchar' },
      decimal('version'),
      { name: 'payer', type: 'integer' },
      { name: 'payment_id', type: 'varchar', length: '64' },
      { name: 'asset', type: 'integer' },
      decimal('amount'),
      { name: 'balances', type: 'text' },
      { name: 'paid_at', type: 'bigint' },
    ],
    indices: [
      new TableIndex({ name: INDICES[0], columnNames: ['channel_id', 'payment_id'], isUnique: true }),
      new TableIndex({ name: INDICES[1], columnNames: ['channel_id', 'seq'] }),
    ],
  });
}

async function count(q: QueryRunner, table: string): Promise<number> {
  const rows = (await q.query(`SELECT COUNT(*) AS n FROM "${table}"`)) as { n: number | string }[];
  return Number(rows[0]!.n);
}

/** Rebuilds perun_payment on SQLite with `seq` of `seqType`, keeping every row. */
async function rebuild(q: QueryRunner, seqType: 'integer' | 'bigint'): Promise<void> {
  for (const index of INDICES) await q.query(`DROP INDEX "${index}"`);
  await q.query('ALTER TABLE "perun_payment" RENAME TO "perun_payment_before"');
  await q.createTable(paymentTable(seqType));
  await q.query(
    `INSERT INTO "perun_payment" (${COLUMNS}) SELECT ${COLUMNS} FROM "perun_payment_before" ORDER BY seq`,
  );
  const before = await count(q, 'perun_payment_before');
  const after = await count(q, 'perun_payment');
  if (before !== after) {
    throw new CorruptRecordError("the payment log's rebuild did not keep every row", { before, after });
  }
  await q.query('DROP TABLE "perun_payment_before"');
}

export class PaymentLogRowid1796601600000 implements MigrationInterface {
  name = 'PaymentLogRowid1796601600000';

  async up(q: QueryRunner): Promise<void> {
    if (!isPostgres(q)) await rebuild(q, 'integer');
  }

  async down(q: QueryRunner): Promise<void> {
    if (!isPostgres(q)) await rebuild(q, 'bigint');
  }
}
