// Column definitions shared by the channel entities and kept identical in the migration.

import type { ColumnOptions, ValueTransformer } from 'typeorm';

import { bigFromColumn } from '../codec.js';

/** bigint <-> decimal text: exact for any size on every driver (no 2^53 limit, no driver quirks). */
export const decimalTransformer: ValueTransformer = {
  to: (v: bigint | null | undefined) => (v === null || v === undefined ? v : v.toString(10)),
  from: (v: string | null) => (v === null ? null : bigFromColumn(v, 'decimal column')),
};

/** bigint <-> a 64-bit integer column (SQLite returns a number, PostgreSQL a decimal string). */
export const int64Transformer: ValueTransformer = {
  to: (v: bigint | null | undefined) => (v === null || v === undefined ? v : v.toString(10)),
  from: (v: string | number | null) =>
    v === null ? null : bigFromColumn(String(v), '64-bit integer column'),
};

/** Milliseconds since the epoch; PostgreSQL returns bigint columns as strings, SQLite as numbers. */
export const millisTransformer: ValueTransformer = {
  to: (v: number | undefined) => v,
  from: (v: string | number) => Number(v),
};

export function timestampColumn(name: string): ColumnOptions {
  return { type: 'bigint', name, transformer: millisTransformer };
}

/** A bigint kept as decimal text (state versions, block numbers). */
export function decimalColumn(name: string): ColumnOptions {
  return { type: 'varchar', length: 78, name, transformer: decimalTransformer };
}
