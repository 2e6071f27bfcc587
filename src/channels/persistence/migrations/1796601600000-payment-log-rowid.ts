// SQLite: the payment log's key `seq` becomes an INTEGER PRIMARY KEY, the table's rowid. It was a
// bigint primary key, which SQLite keeps in an index of its own beside the table's b-tree: every
// payment wrote that index too (four b-trees a row, now three), and the log's rows are now stored
// in `seq` order. The table is rebuilt (SQLite cannot change a key in place: ./sqlite-rebuild.ts),
// every row copied with its `seq`. PostgreSQL keeps its table as it is (a heap with a bigint
// key index has no rowid to share): nothing to do there.

import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

import { rebuildSqliteTable } from './sqlite-rebuild.js';

const decimal = (name: string) => ({ name, type: 'varchar', length: '78' });
const isPostgres = (q: QueryRunner) => q.connection.options.type === 'postgres';

const COLUMNS = [
  'seq',
  'channel_id',
  'version',
  'payer',
  'payment_id',
  'asset',
  'amount',
  'balances',
  'paid_at',
];
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

export class PaymentLogRowid1796601600000 implements MigrationInterface {
  name = 'PaymentLogRowid1796601600000';

  async up(q: QueryRunner): Promise<void> {
    if (!isPostgres(q)) await rebuildSqliteTable(q, paymentTable('integer'), COLUMNS, 'seq');
  }

  async down(q: QueryRunner): Promise<void> {
    if (!isPostgres(q)) await rebuildSqliteTable(q, paymentTable('bigint'), COLUMNS, 'seq');
  }
}
