// Adds perun_channel.used_version: the highest version of a state this participant signed and
// then dropped (rejected, undelivered or beaten by a concurrent update), so that no second state
// is ever signed with it, also after a restart; and used_state, that state with our signature (the
// only state we may sign at that version again). Null for channels that never dropped one.

import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class UsedVersion1767916800000 implements MigrationInterface {
  name = 'UsedVersion1767916800000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'perun_channel',
      new TableColumn({ name: 'used_version', type: 'varchar', length: '78', isNullable: true }),
    );
    await q.addColumn(
      'perun_channel',
      new TableColumn({ name: 'used_state', type: 'text', isNullable: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('perun_channel', 'used_state');
    await q.dropColumn('perun_channel', 'used_version');
  }
}
