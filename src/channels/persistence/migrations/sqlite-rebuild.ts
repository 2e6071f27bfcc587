// Rebuilding an SQLite table in a migration, for a change SQLite cannot make in place (a key's
// type, WITHOUT ROWID): the old table renamed (its indexes dropped first, their names are the new
// table's), the new one made, every row copied, the counts compared, the old one dropped. The
// migration's transaction holds it all: a failure leaves the file as it was.

import type { QueryRunner, Table } from 'typeorm';

import { CorruptRecordError } from '../errors.js';

async function count(q: QueryRunner, table: string): Promise<number> {
  const rows = (await q.query(`SELECT COUNT(*) AS n FROM "${table}"`)) as { n: number | string }[];
  return Number(rows[0]!.n);
}

/** Replaces the table named `table.name` by `table`, copying `columns` of every row (in `orderBy`). */
export async function rebuildSqliteTable(
  q: QueryRunner,
  table: Table,
  columns: string[],
  orderBy?: string,
): Promise<void> {
  const before = `${table.name}_before`;
  const list = columns.join(', ');
  for (const index of table.indices) await q.query(`DROP INDEX IF EXISTS "${index.name}"`);
  await q.query(`ALTER TABLE "${table.name}" RENAME TO "${before}"`);
  await q.createTable(table);
  await q.query(
    `INSERT INTO "${table.name}" (${list}) SELECT ${list} FROM "${before}"` +
      (orderBy === undefined ? '' : ` ORDER BY ${orderBy}`),
  );
  const rowsBefore = await count(q, before);
  const rowsAfter = await count(q, table.name);
  if (rowsBefore !== rowsAfter) {
    throw new CorruptRecordError(`the rebuild of ${table.name} did not keep every row`, {
      before: rowsBefore,
      after: rowsAfter,
    });
  }
  await q.query(`DROP TABLE "${before}"`);
}
