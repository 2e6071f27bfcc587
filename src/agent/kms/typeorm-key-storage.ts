// The KMS's encrypted entries in the agent's DataSource (beside the channel tables and Credo's
// records), one row per entry, so an agent is one database. The rows hold only what the vault
// encrypted under the passphrase; the table never sees a plaintext key. Values are base64 text,
// the same on SQLite and PostgreSQL. Every access takes the DataSource's `exclusive` lock.
import 'reflect-metadata';
import {
  Column,
  Entity,
  PrimaryColumn,
  Table,
  type DataSource,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';
import { exclusive } from '../../channels/persistence/datasource.js';
import type { KmsKeyStorage } from './key-storage.js';

export const KMS_KEY_TABLE = 'kms_key';

@Entity({ name: KMS_KEY_TABLE })
export class KmsKeyEntity {
  @PrimaryColumn({ type: 'varchar', name: 'id' })
  id!: string;

  @Column({ type: 'text', name: 'value' })
  value!: string;
}

export class KmsKeys1767400000000 implements MigrationInterface {
  name = 'KmsKeys1767400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: KMS_KEY_TABLE,
        columns: [
          { name: 'id', type: 'varchar', isPrimary: true },
          { name: 'value', type: 'text' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable(KMS_KEY_TABLE);
  }
}

export const kmsKeyEntities = [KmsKeyEntity];
export const kmsKeyMigrations = [KmsKeys1767400000000];

export class TypeOrmKmsKeyStorage implements KmsKeyStorage {
  constructor(private readonly ds: DataSource) {}

  get(id: string): Promise<Uint8Array | undefined> {
    return exclusive(this.ds, async () => {
      const row = await this.ds.getRepository(KmsKeyEntity).findOneBy({ id });
      return row === null ? undefined : new Uint8Array(Buffer.from(row.value, 'base64'));
    });
  }

  put(id: string, value: Uint8Array): Promise<void> {
    return exclusive(this.ds, async () => {
      await this.ds.getRepository(KmsKeyEntity).save({ id, value: Buffer.from(value).toString('base64') });
    });
  }

  delete(id: string): Promise<boolean> {
    return exclusive(this.ds, async () => {
      const r = await this.ds.getRepository(KmsKeyEntity).delete({ id });
      return (r.affected ?? 0) > 0;
    });
  }
}
