// The first schema of the channel tables, written with TypeORM's driver-neutral Table API so the
// same migration runs on SQLite and PostgreSQL. It must describe exactly what the entities
// describe (test/persistence/typeorm-store.test.ts checks that the schema builder finds nothing
// left to change). A later schema change is a new migration file, never an edit of this one.

import { Table, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const id = (name: string, isPrimary = false) => ({ name, type: 'varchar', isPrimary });
const decimal = (name: string) => ({ name, type: 'varchar', length: '78' });

function stateTable(kind: 'signed' | 'staged'): Table {
  return new Table({
    name: `perun_${kind}_state`,
    columns: [
      id('channel_id', true),
      decimal('version'),
      { name: 'state', type: 'text' },
      { name: 'sigs', type: 'text' },
    ],
    foreignKeys: [
      new TableForeignKey({
        name: `FK_perun_${kind}_state_channel`,
        columnNames: ['channel_id'],
        referencedTableName: 'perun_channel',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      }),
    ],
  });
}

export class ChannelTables1767225600000 implements MigrationInterface {
  name = 'ChannelTables1767225600000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'perun_channel',
        columns: [
          id('id', true),
          { name: 'params', type: 'text' },
          { name: 'our_index', type: 'integer' },
          { ...id('parent_id'), isNullable: true },
          id('phase'),
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'perun_channel_peer',
        columns: [id('channel_id', true), { name: 'idx', type: 'integer', isPrimary: true }, id('peer_id')],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_perun_channel_peer_channel',
            columnNames: ['channel_id'],
            referencedTableName: 'perun_channel',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [new TableIndex({ name: 'IDX_perun_channel_peer_peer_id', columnNames: ['peer_id'] })],
      }),
    );
    await q.createTable(stateTable('signed'));
    await q.createTable(stateTable('staged'));
    await q.createTable(
      new Table({
        name: 'perun_watcher_cursor',
        columns: [id('key', true), decimal('block'), { name: 'updated_at', type: 'bigint' }],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'perun_watcher_cursor',
      'perun_staged_state',
      'perun_signed_state',
      'perun_channel_peer',
    ]) {
      await q.dropTable(t);
    }
    await q.dropTable('perun_channel');
  }
}
