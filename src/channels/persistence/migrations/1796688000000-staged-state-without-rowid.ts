// SQLite: perun_staged_state becomes a WITHOUT ROWID table. Its key is the channel's ID (text), so
// as a rowid table it was two b-trees, the rows and the key's index, and every update wrote both
// (the staged state of a channel is deleted when enabled and inserted with the next update): now
// the rows live in the key's b-tree, one page a write less. The table is rebuilt
// (./sqlite-rebuild.ts), every row kept. PostgreSQL has no rowid: nothing to do there.

import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

import { rebuildSqliteTable } from './sqlite-rebuild.js';

const isPostgres = (q: QueryRunner) => q.connection.options.type === 'postgres';
const COLUMNS = ['channel_id', 'version', 'state', 'sigs', 'payments'];

/** perun_staged_state as the entities describe it, with or without a rowid. */
function stagedTable(withoutRowid: boolean): Table {
  return new Table({
    name: 'perun_staged_state',
    withoutRowid,
    columns: [
      { name: 'channel_id', type: 'varchar', isPrimary: true },
      { name: 'version', type: 'varchar', length: '78' },
      { name: 'state', type: 'text' },
      { name: 'sigs', type: 'text' },
      { name: 'payments', type: 'text', isNullable: true },
    ],
    foreignKeys: [
      {
        name: 'FK_perun_staged_state_channel',
        columnNames: ['channel_id'],
        referencedTableName: 'perun_channel',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      },
    ],
  });
}

export class StagedStateWithoutRowid1796688000000 implements MigrationInterface {
  name = 'StagedStateWithoutRowid1796688000000';

  async up(q: QueryRunner): Promise<void> {
    if (!isPostgres(q)) await rebuildSqliteTable(q, stagedTable(true), COLUMNS);
  }

  async down(q: QueryRunner): Promise<void> {
    if (!isPostgres(q)) await rebuildSqliteTable(q, stagedTable(false), COLUMNS);
  }
}
