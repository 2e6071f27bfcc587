// Adds the payment log (perun_payment, see entities/payment.entity.ts) and the payments a staged
// state carries (perun_staged_state.payments: the proposer's, so a restart knows them). On
// PostgreSQL also the sequence that numbers the log (SQLite writes one transaction at a time and
// takes the next number after the highest).

import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const decimal = (name: string) => ({ name, type: 'varchar', length: '78' });
const isPostgres = (q: QueryRunner) => q.connection.options.type === 'postgres';

export class PaymentLog1796515200000 implements MigrationInterface {
  name = 'PaymentLog1796515200000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'perun_payment',
        columns: [
          { name: 'seq', type: 'bigint', isPrimary: true },
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
          new TableIndex({
            name: 'IDX_perun_payment_channel_payment',
            columnNames: ['channel_id', 'payment_id'],
            isUnique: true,
          }),
          new TableIndex({ name: 'IDX_perun_payment_channel_seq', columnNames: ['channel_id', 'seq'] }),
        ],
      }),
    );
    if (isPostgres(q)) await q.query('CREATE SEQUENCE perun_payment_seq AS bigint');
    await q.addColumn(
      'perun_staged_state',
      new TableColumn({ name: 'payments', type: 'text', isNullable: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('perun_staged_state', 'payments');
    if (isPostgres(q)) await q.query('DROP SEQUENCE perun_payment_seq');
    await q.dropTable('perun_payment');
  }
}
