// The table of a mediator's queued messages (../mediator-queue.ts), written with TypeORM's
// driver-neutral Table API for SQLite and PostgreSQL. A later change is a new migration.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { MEDIATOR_QUEUE_TABLE } from '../mediator-queue.js';

export class MediatorQueue1796774400000 implements MigrationInterface {
  name = 'MediatorQueue1796774400000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: MEDIATOR_QUEUE_TABLE,
        columns: [
          { name: 'id', type: 'varchar', isPrimary: true },
          { name: 'connection_id', type: 'varchar' },
          { name: 'recipient_dids', type: 'text' },
          { name: 'payload', type: 'text' },
          { name: 'bytes', type: 'integer' },
          { name: 'received_at', type: 'bigint' },
          { name: 'taken_at', type: 'bigint', isNullable: true },
        ],
      }),
    );
    await q.createIndex(
      MEDIATOR_QUEUE_TABLE,
      new TableIndex({
        name: 'idx_agent_mediator_queue_connection',
        columnNames: ['connection_id', 'received_at'],
      }),
    );
    await q.createIndex(
      MEDIATOR_QUEUE_TABLE,
      new TableIndex({ name: 'idx_agent_mediator_queue_received', columnNames: ['received_at'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable(MEDIATOR_QUEUE_TABLE);
  }
}

export const mediatorQueueMigrations = [MediatorQueue1796774400000];
