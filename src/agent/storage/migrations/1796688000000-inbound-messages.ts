// The table of inbound message IDs the replay guard remembers (../inbound-messages.ts), written
// with TypeORM's driver-neutral Table API for SQLite and PostgreSQL. A later change is a new
// migration (./1796860800000-inbound-message-eviction-index.ts).
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { INBOUND_MESSAGE_TABLE } from '../inbound-messages.js';
import { InboundMessageEvictionIndex1796860800000 } from './1796860800000-inbound-message-eviction-index.js';

export class InboundMessages1796688000000 implements MigrationInterface {
  name = 'InboundMessages1796688000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: INBOUND_MESSAGE_TABLE,
        columns: [
          { name: 'connection_id', type: 'varchar', isPrimary: true },
          { name: 'message_id', type: 'varchar', isPrimary: true },
          { name: 'seen_at', type: 'bigint' },
        ],
      }),
    );
    await q.createIndex(
      INBOUND_MESSAGE_TABLE,
      new TableIndex({ name: 'idx_agent_inbound_message_seen', columnNames: ['seen_at'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable(INBOUND_MESSAGE_TABLE);
  }
}

export const inboundMessageMigrations = [
  InboundMessages1796688000000,
  InboundMessageEvictionIndex1796860800000,
];
