// The first schema of the Credo storage tables (../entities.ts explains the design), written with
// TypeORM's driver-neutral Table API so the same migration runs on SQLite and PostgreSQL. It must
// describe exactly what the entities describe (test/agent/storage-backends.test.ts checks that the
// schema builder finds nothing left to change). A later change is a new migration, never an edit
// here.

import { Table, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const key = (name: string) => ({ name, type: 'varchar', isPrimary: true });

export class CredoStorage1767312000000 implements MigrationInterface {
  name = 'CredoStorage1767312000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'credo_record',
        columns: [
          key('context_correlation_id'),
          key('type'),
          key('id'),
          { name: 'value', type: 'text' },
          { name: 'tags', type: 'text' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint', isNullable: true },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'credo_record_tag',
        columns: [key('context_correlation_id'), key('type'), key('record_id'), key('name'), key('value')],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_credo_record_tag_record',
            columnNames: ['context_correlation_id', 'type', 'record_id'],
            referencedTableName: 'credo_record',
            referencedColumnNames: ['context_correlation_id', 'type', 'id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [
          new TableIndex({
            name: 'IDX_credo_record_tag_lookup',
            columnNames: ['context_correlation_id', 'type', 'name', 'value', 'record_id'],
          }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('credo_record_tag');
    await q.dropTable('credo_record');
  }
}
