// The replay guard's eviction (`DELETE ... WHERE connection_id = ? AND seen_at < ?`, once a
// connection holds more IDs than the guard's bound) on an index of both columns. Without it SQLite
// read every ID the connection holds (or the whole table), about 6 ms for 4,096 IDs, inside the
// group commit that a payment's write may be waiting for.
import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { INBOUND_MESSAGE_EVICTION_INDEX, INBOUND_MESSAGE_TABLE } from '../inbound-messages.js';

export class InboundMessageEvictionIndex1796860800000 implements MigrationInterface {
  name = 'InboundMessageEvictionIndex1796860800000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      INBOUND_MESSAGE_TABLE,
      new TableIndex({ name: INBOUND_MESSAGE_EVICTION_INDEX, columnNames: ['connection_id', 'seen_at'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex(INBOUND_MESSAGE_TABLE, INBOUND_MESSAGE_EVICTION_INDEX);
  }
}
