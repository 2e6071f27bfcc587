// The agent's one database: the channel tables, Credo's records, the KMS's encrypted keys, the
// payment history, the payments' idempotency keys, the replay guard's inbound message IDs and a
// mediator's queue in one TypeORM DataSource (an SQLite file by default, PostgreSQL by URL), each
// part by its own migrations.
import type { DataSource } from 'typeorm';
import { openDataSource } from '../channels/persistence/datasource.js';
import { kmsKeyEntities, kmsKeyMigrations } from './kms/typeorm-key-storage.js';
import { paymentEntities, paymentMigrations } from './node/payment-history.js';
import { idempotencyKeyEntities } from './storage/idempotency-keys.js';
import { inboundMessageEntities } from './storage/inbound-messages.js';
import { mediatorQueueEntities } from './storage/mediator-queue.js';
import { credoStorageEntities, credoStorageMigrations } from './storage/index.js';
import { idempotencyKeyMigrations } from './storage/migrations/1796601600000-idempotency-keys.js';
import { inboundMessageMigrations } from './storage/migrations/1796688000000-inbound-messages.js';
import { mediatorQueueMigrations } from './storage/migrations/1796774400000-mediator-queue.js';

/** Opens (and migrates) the agent's DataSource: an SQLite path, ':memory:', or a postgres:// URL. */
export function openAgentStore(url: string): Promise<DataSource> {
  return openDataSource({
    url,
    entities: [
      ...credoStorageEntities,
      ...kmsKeyEntities,
      ...paymentEntities,
      ...idempotencyKeyEntities,
      ...inboundMessageEntities,
      ...mediatorQueueEntities,
    ],
    migrations: [
      ...credoStorageMigrations,
      ...kmsKeyMigrations,
      ...paymentMigrations,
      ...idempotencyKeyMigrations,
      ...inboundMessageMigrations,
      ...mediatorQueueMigrations,
    ],
  });
}
