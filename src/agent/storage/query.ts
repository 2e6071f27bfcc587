// Credo tag values and tag queries, as the TypeORM StorageService stores and evaluates them.
//
// Semantics (Credo has no written spec; this follows its Askar backend, the reference one, checked
// against credo-ts packages/askar/src/storage/utils.ts and askar-storage/src/wql/{tags,sql}.rs, and
// the 0.6 in-memory test storage; the few points where those backends disagree are marked):
//
// * A record's tags are record.getTags(). A string tag matches a query value equal to it; a boolean
//   tag matches `true`/`false` only. The string '1' and the boolean true stay distinct (Askar keeps
//   them apart with its `n__1` escape, we with a kind prefix). An array tag (strings) is stored as
//   one entry per element, Askar's `name:element = '1'`; we keep the name and prefix the element.
// * Query `{ name: 'v' }` / `{ name: true }`: the record has that scalar tag value.
// * Query `{ name: ['a', 'b'] }`: the record's array tag contains every listed element (a subset
//   test). `{ name: [] }` constrains nothing (Askar emits no condition). A scalar tag never matches
//   an array query nor an array tag a scalar query.
// * `undefined` in a query constrains nothing (every backend skips it).
// * `null` in a query means "the record has no value for this tag": the tag is absent, undefined,
//   null or an empty array. (Askar drops null from the query, so it constrains nothing there; the
//   0.6 in-memory storage matches only tags stored as null. A record's null or undefined tag is
//   stored by no backend as a searchable value, so "absent" is the one meaning that is consistent
//   with what is stored; no Credo 0.6 core or didcomm code queries null.)
// * All keys of one query object, its `$and` entries, its `$or` (at least one entry) and its
//   `$not` combine with AND. `$and: []` is true, `$or: []` is false (both as in Askar's SQL
//   encoder), `$not: q` is the complement of q within the record type, so `$not: { name: 'v' }`
//   also matches records without that tag. An empty query `{}` matches every record (Askar drops
//   an empty sub-query from an `$or`, which makes `{ $or: [{}, q] }` behave as q there; here it is
//   true, the logical reading that the in-memory storage also follows).
// * Tag names and string values are case- and byte-exact.

import { createHash } from 'node:crypto';

import { CredoError } from '@credo-ts/core';

/** Values up to this many UTF-16 units are stored verbatim; longer ones by their SHA-256. */
const MAX_PLAIN_LENGTH = 200;

function keyed(kind: 's' | 'a', value: string): string {
  if (value.length <= MAX_PLAIN_LENGTH) return `${kind}:${value}`;
  // An upper-case prefix marks a hashed key, so no plain value can equal a hash key.
  return `${kind.toUpperCase()}:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}

/** Lookup key of a string tag. */
export const stringKey = (value: string): string => keyed('s', value);
/** Lookup key of one element of an array tag. */
export const elementKey = (value: string): string => keyed('a', value);
/** Lookup key of a boolean tag. */
export const booleanKey = (value: boolean): string => (value ? 'b:1' : 'b:0');

export interface TagRow {
  name: string;
  value: string;
}

/**
 * The index rows of a record's tags: one per scalar tag, one per distinct array element, none
 * for undefined, null or an empty array. Throws on a value Credo's TagValue does not allow.
 */
export function tagRows(tags: Record<string, unknown>, recordType: string): TagRow[] {
  const rows: TagRow[] = [];
  for (const [name, value] of Object.entries(tags)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') rows.push({ name, value: stringKey(value) });
    else if (typeof value === 'boolean') rows.push({ name, value: booleanKey(value) });
    else if (Array.isArray(value)) {
      const seen = new Set<string>();
      for (const element of value) {
        if (typeof element !== 'string') {
          throw new CredoError(`tag '${name}' of ${recordType} has a non-string array element`);
        }
        const key = elementKey(element);
        if (!seen.has(key)) {
          seen.add(key);
          rows.push({ name, value: key });
        }
      }
    } else {
      throw new CredoError(`tag '${name}' of ${recordType} has an unsupported value type (${typeof value})`);
    }
  }
  return rows;
}

/** A tag query in normal form. */
export type Condition =
  | { op: 'true' }
  | { op: 'false' }
  /** The record has a tag row (name, value). */
  | { op: 'has'; name: string; value: string }
  /** The record has no tag row with this name. */
  | { op: 'absent'; name: string }
  | { op: 'and'; items: Condition[] }
  | { op: 'or'; items: Condition[] }
  | { op: 'not'; item: Condition };

const TRUE: Condition = { op: 'true' };
const FALSE: Condition = { op: 'false' };

function and(items: Condition[]): Condition {
  const kept: Condition[] = [];
  for (const c of items) {
    if (c.op === 'false') return FALSE;
    if (c.op === 'true') continue;
    if (c.op === 'and') kept.push(...c.items);
    else kept.push(c);
  }
  if (kept.length === 0) return TRUE;
  return kept.length === 1 ? kept[0]! : { op: 'and', items: kept };
}

function or(items: Condition[]): Condition {
  const kept: Condition[] = [];
  for (const c of items) {
    if (c.op === 'true') return TRUE;
    if (c.op === 'false') continue;
    if (c.op === 'or') kept.push(...c.items);
    else kept.push(c);
  }
  if (kept.length === 0) return FALSE;
  return kept.length === 1 ? kept[0]! : { op: 'or', items: kept };
}

function not(item: Condition): Condition {
  if (item.op === 'true') return FALSE;
  if (item.op === 'false') return TRUE;
  if (item.op === 'not') return item.item;
  return { op: 'not', item };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function subQueries(op: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new CredoError(`invalid tag query: ${op} must be an array of queries`);
  return v;
}

/** Parses a Credo Query into normal form; throws CredoError on anything Credo's Query type forbids. */
export function toCondition(query: unknown): Condition {
  if (!isPlainObject(query)) throw new CredoError('invalid tag query: a query must be an object');
  const items: Condition[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (name === '$and') items.push(and(subQueries(name, value).map(toCondition)));
    else if (name === '$or') items.push(or(subQueries(name, value).map(toCondition)));
    else if (name === '$not') items.push(not(toCondition(value)));
    else if (value === null) items.push({ op: 'absent', name });
    else if (typeof value === 'string') items.push({ op: 'has', name, value: stringKey(value) });
    else if (typeof value === 'boolean') items.push({ op: 'has', name, value: booleanKey(value) });
    else if (Array.isArray(value)) {
      for (const element of value) {
        if (typeof element !== 'string') {
          throw new CredoError(`invalid tag query: array value of '${name}' must hold strings`);
        }
        items.push({ op: 'has', name, value: elementKey(element) });
      }
    } else {
      throw new CredoError(`invalid tag query: unsupported value type for '${name}' (${typeof value})`);
    }
  }
  return and(items);
}

/** Where the SQL rendering of a condition finds its tables and binds its parameters. */
export interface SqlTarget {
  /** Quoted tag table name. */
  tagTable: string;
  /** Expression of the outer record's id, e.g. `"r"."id"`. */
  recordId: string;
  /** Named parameters holding the context correlation id and the record type. */
  contextParam: string;
  typeParam: string;
  /** Quotes a column name. */
  quote(name: string): string;
  /** Binds a value and returns its placeholder (`:p3`). */
  bind(value: string): string;
}

/**
 * Renders a condition as an SQL boolean expression over the outer record row. Each tag test is an
 * uncorrelated `IN (subquery)` on the tag index, restricted to the record's context and type.
 */
export function toSql(c: Condition, t: SqlTarget): string {
  const q = t.quote;
  const tagIds = (extra: string) =>
    `SELECT ${q('record_id')} FROM ${t.tagTable} WHERE ${q('context_correlation_id')} = :${t.contextParam}` +
    ` AND ${q('type')} = :${t.typeParam} AND ${extra}`;
  switch (c.op) {
    case 'true':
      return '1 = 1';
    case 'false':
      return '1 = 0';
    case 'has':
      return `${t.recordId} IN (${tagIds(`${q('name')} = ${t.bind(c.name)} AND ${q('value')} = ${t.bind(c.value)}`)})`;
    case 'absent':
      return `${t.recordId} NOT IN (${tagIds(`${q('name')} = ${t.bind(c.name)}`)})`;
    case 'and':
      return `(${c.items.map((i) => toSql(i, t)).join(' AND ')})`;
    case 'or':
      return `(${c.items.map((i) => toSql(i, t)).join(' OR ')})`;
    case 'not':
      return `NOT (${toSql(c.item, t)})`;
  }
}
