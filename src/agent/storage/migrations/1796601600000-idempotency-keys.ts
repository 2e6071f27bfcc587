// The table of payment idempotency keys (../idempotency-keys.ts), written with TypeORM's
// driver-neutral Table API for SQLite and PostgreSQL. A later change is a new migration.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { IDEMPOTENCY_KEY_TABLE } from '../idempotency-keys.js';

export class IdempotencyKeys1796601600000 implements MigrationInterface {
  name = 'IdempotencyKeys1796601600000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: IDEMPOTENCY_KEY_TABLE,
        columns: [
          { name: 'key', type: 'varchar', isPrimary: true },
          { name: 'channel_id', type: 'varchar' },
          { name: 'amount', type: 'varchar' },
          { name: 'requested_id', type: 'varchar', isNullable: true },
          { name: 'payment_id', type: 'varchar' },
          { name: 'response', type: 'text', isNullable: true },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
    await q.createIndex(
      IDEMPOTENCY_KEY_TABLE,
      new TableIndex({ name: 'idx_agent_idempotency_key_created', columnNames: ['created_at'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable(IDEMPOTENCY_KEY_TABLE);
  }
}

export const idempotencyKeyMigrations = [IdempotencyKeys1796601600000];
