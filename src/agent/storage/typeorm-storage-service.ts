// Credo 0.6 StorageService on TypeORM, in the agent's one DataSource (SQLite file, ':memory:' in
// tests, PostgreSQL by URL) beside the channel tables. Schema: entities.ts + migrations/ (run by
// openDataSource, never synchronize). Tag queries: query.ts (semantics) rendered to SQL over the
// tag index, so a query reads only matching records.
//
// Every database access goes through `exclusive(ds, fn)` from the channel persistence: on SQLite
// the DataSource is one better-sqlite3 connection shared with the channel store, and a statement
// issued while another caller's transaction is open would run inside it. Nothing here calls the
// service again from inside `exclusive` (the lock is not re-entrant), and no user callback runs
// while it is held; that is also why `updateByIdWithLock` is not offered (Credo's Repository then
// does get + callback + update).
//
// Multi-tenancy: every row carries agentContext.contextCorrelationId; one context never sees,
// updates or deletes another's records, and the same id may exist in several contexts.
//
// Errors as Credo defines them: save of an existing (context, type, id) -> RecordDuplicateError;
// getById, update, delete and deleteById of a missing one -> RecordNotFoundError.

import 'reflect-metadata';

import {
  CredoError,
  JsonTransformer,
  RecordDuplicateError,
  RecordNotFoundError,
  type AgentContext,
  type BaseRecord,
  type BaseRecordConstructor,
  type Query,
  type QueryOptions,
  type StorageService,
} from '@credo-ts/core';
import type { DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';

import { exclusive } from '../../channels/persistence/datasource.js';
import { CredoRecordEntity, CredoRecordTagEntity, TAG_TABLE } from './entities.js';
import { tagRows, toCondition, toSql, type Condition } from './query.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRecord = BaseRecord<any, any, any>;

/** Tag rows per INSERT statement, well below every driver's bound-parameter limit. */
const TAG_CHUNK = 100;

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  // PostgreSQL unique_violation; better-sqlite3 primary key / unique constraint.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function checkCount(name: 'limit' | 'offset', v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 0)
    throw new CredoError(`query option ${name} must be a non-negative integer`);
  return v;
}

/**
 * One instance serves every record class (Credo injects it as `StorageService<any>`), hence the
 * `any` default of the type parameter.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class TypeOrmStorageService<T extends AnyRecord = any> implements StorageService<T> {
  /** Only Credo's drizzle storage pages by cursor; offset/limit are supported. */
  public readonly supportsCursorPagination = false;

  public constructor(public readonly dataSource: DataSource) {
    if (dataSource.isInitialized && !dataSource.hasMetadata(CredoRecordEntity)) {
      throw new CredoError(
        'the DataSource lacks the Credo storage tables: open it with credoStorageEntities and credoStorageMigrations',
      );
    }
  }

  // Reads are answered from a small cache of rows, per (context, record type): every write of a
  // type in a context bumps that pair's generation, and a cached result is used only under the
  // generation it was read in. Credo's receive pipeline looks up the same connection and DID
  // records for every message; this spares those queries. It assumes, as everywhere in the
  // agent, that one process writes this database.
  private readonly generations = new Map<string, number>();
  /** Bumped when a whole context is deleted: every type's results in it become unreachable. */
  private readonly epochs = new Map<string, number>();
  private readonly cache = new Map<string, CredoRecordEntity[]>();
  private static readonly CACHE_ENTRIES = 512;

  private generationOf(ctx: string, type: string): string {
    return `${this.epochs.get(ctx) ?? 0}.${this.generations.get(`${ctx}\u0000${type}`) ?? 0}`;
  }

  private written(ctx: string, type: string): void {
    const key = `${ctx}\u0000${type}`;
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  private async cachedRows(
    ctx: string,
    type: string,
    what: string,
    read: () => Promise<CredoRecordEntity[]>,
  ): Promise<CredoRecordEntity[]> {
    const key = `${ctx}\u0000${type}\u0000${this.generationOf(ctx, type)}\u0000${what}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const rows = await read();
    // Stored under the generation the read began in: a write during the read makes it unreachable.
    this.cache.set(key, rows);
    if (this.cache.size > TypeOrmStorageService.CACHE_ENTRIES)
      this.cache.delete(this.cache.keys().next().value!);
    return rows;
  }

  private run<R>(fn: (m: EntityManager) => Promise<R>): Promise<R> {
    return exclusive(this.dataSource, () => fn(this.dataSource.manager));
  }

  private transaction<R>(fn: (m: EntityManager) => Promise<R>): Promise<R> {
    return exclusive(this.dataSource, () => this.dataSource.transaction(fn));
  }

  /**
   * A write of records of `type`: their cached reads are dropped before it (later reads queue
   * behind it) and again once it is done (a read that ran beside it on another connection, as on
   * PostgreSQL, may have seen the old rows).
   */
  private async writing<R>(ctx: string, type: string, fn: () => Promise<R>): Promise<R> {
    this.written(ctx, type);
    try {
      return await fn();
    } finally {
      this.written(ctx, type);
    }
  }

  private static rowOf(
    ctx: string,
    record: AnyRecord,
  ): { row: CredoRecordEntity; tags: CredoRecordTagEntity[] } {
    const tagValues = record.getTags() as Record<string, unknown>;
    const tags = tagRows(tagValues, record.type).map((t) =>
      Object.assign(new CredoRecordTagEntity(), {
        contextCorrelationId: ctx,
        type: record.type,
        recordId: record.id,
        name: t.name,
        value: t.value,
      }),
    );
    if (typeof record.id !== 'string' || record.id.length === 0) {
      throw new CredoError(`cannot store a ${record.type} without an id`);
    }
    const createdAt = record.createdAt instanceof Date ? record.createdAt.getTime() : Date.now();
    const row = Object.assign(new CredoRecordEntity(), {
      contextCorrelationId: ctx,
      type: record.type,
      id: record.id,
      value: JsonTransformer.serialize(record),
      tags: JSON.stringify(tagValues),
      createdAt: Number.isFinite(createdAt) ? createdAt : Date.now(),
      updatedAt: record.updatedAt instanceof Date ? record.updatedAt.getTime() : null,
    });
    return { row, tags };
  }

  private toRecord(row: CredoRecordEntity, recordClass: BaseRecordConstructor<T>): T {
    const record = JsonTransformer.deserialize<T>(row.value, recordClass);
    record.id = row.id;
    record.replaceTags(JSON.parse(row.tags) as Parameters<T['replaceTags']>[0]);
    return record;
  }

  private static async insertTags(m: EntityManager, tags: CredoRecordTagEntity[]): Promise<void> {
    for (let i = 0; i < tags.length; i += TAG_CHUNK) {
      await m.insert(CredoRecordTagEntity, tags.slice(i, i + TAG_CHUNK));
    }
  }

  private static async deleteTags(m: EntityManager, ctx: string, type: string, id: string): Promise<void> {
    await m.delete(CredoRecordTagEntity, { contextCorrelationId: ctx, type, recordId: id });
  }

  /** @inheritDoc */
  public async save(agentContext: AgentContext, record: T): Promise<void> {
    record.updatedAt = new Date();
    const ctx = agentContext.contextCorrelationId;
    const { row, tags } = TypeOrmStorageService.rowOf(ctx, record);
    const duplicate = () =>
      new RecordDuplicateError(`Record with id ${record.id} already exists`, { recordType: record.type });
    try {
      await this.writing(ctx, record.type, () =>
        this.transaction(async (m) => {
          const key = { contextCorrelationId: ctx, type: record.type, id: record.id };
          if (await m.exists(CredoRecordEntity, { where: key })) throw duplicate();
          await m.insert(CredoRecordEntity, row);
          await TypeOrmStorageService.insertTags(m, tags);
        }),
      );
    } catch (error) {
      // PostgreSQL: a concurrent save of the same id won the race between our check and insert.
      if (isUniqueViolation(error)) throw duplicate();
      throw error;
    }
  }

  /** @inheritDoc */
  public async update(agentContext: AgentContext, record: T): Promise<void> {
    record.updatedAt = new Date();
    const ctx = agentContext.contextCorrelationId;
    const { row, tags } = TypeOrmStorageService.rowOf(ctx, record);
    await this.writing(ctx, record.type, () =>
      this.transaction(async (m) => {
        const result = await m.update(
          CredoRecordEntity,
          { contextCorrelationId: ctx, type: record.type, id: record.id },
          { value: row.value, tags: row.tags, updatedAt: row.updatedAt },
        );
        if (!result.affected) {
          throw new RecordNotFoundError(`record with id ${record.id} not found.`, {
            recordType: record.type,
          });
        }
        await TypeOrmStorageService.deleteTags(m, ctx, record.type, record.id);
        await TypeOrmStorageService.insertTags(m, tags);
      }),
    );
  }

  private async remove(ctx: string, type: string, id: string): Promise<void> {
    await this.writing(ctx, type, () =>
      this.transaction(async (m) => {
        await TypeOrmStorageService.deleteTags(m, ctx, type, id);
        const result = await m.delete(CredoRecordEntity, { contextCorrelationId: ctx, type, id });
        if (!result.affected)
          throw new RecordNotFoundError(`record with id ${id} not found.`, { recordType: type });
      }),
    );
  }

  /** @inheritDoc */
  public async delete(agentContext: AgentContext, record: T): Promise<void> {
    await this.remove(agentContext.contextCorrelationId, record.type, record.id);
  }

  /** @inheritDoc */
  public async deleteById(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    id: string,
  ): Promise<void> {
    await this.remove(agentContext.contextCorrelationId, recordClass.type, id);
  }

  /** @inheritDoc */
  public async getById(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    id: string,
  ): Promise<T> {
    const ctx = agentContext.contextCorrelationId;
    const [row] = await this.cachedRows(ctx, recordClass.type, `id\u0000${id}`, async () => {
      const found = await this.run((m) =>
        m.findOne(CredoRecordEntity, { where: { contextCorrelationId: ctx, type: recordClass.type, id } }),
      );
      return found === null ? [] : [found];
    });
    if (!row)
      throw new RecordNotFoundError(`record with id ${id} not found.`, { recordType: recordClass.type });
    return this.toRecord(row, recordClass);
  }

  /** @inheritDoc */
  public async getAll(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>): Promise<T[]> {
    return this.findByQuery(agentContext, recordClass, {});
  }

  /**
   * Records of the class in this context matching the query (semantics in query.ts), oldest
   * first (createdAt, then id), paged by `offset` and `limit`. Cursor paging is not supported.
   */
  public async findByQuery(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    query: Query<T>,
    queryOptions?: QueryOptions,
  ): Promise<T[]> {
    if (queryOptions?.cursor) {
      throw new CredoError('cursor pagination is not supported by the TypeORM storage; use offset and limit');
    }
    const limit = checkCount('limit', queryOptions?.limit);
    const offset = checkCount('offset', queryOptions?.offset);
    const condition = toCondition(query);
    if (limit === 0 || condition.op === 'false') return [];
    const rows = await this.cachedRows(
      agentContext.contextCorrelationId,
      recordClass.type,
      `q\u0000${JSON.stringify(query)}\u0000${limit}\u0000${offset}`,
      () => this.run((m) => this.select(m, agentContext, recordClass, condition, limit, offset).getMany()),
    );
    return rows.map((row) => this.toRecord(row, recordClass));
  }

  private select(
    m: EntityManager,
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    condition: Condition,
    limit: number | undefined,
    offset: number | undefined,
  ): SelectQueryBuilder<CredoRecordEntity> {
    const driver = this.dataSource.driver;
    const params: Record<string, string> = { ctx: agentContext.contextCorrelationId, type: recordClass.type };
    let n = 0;
    const where = toSql(condition, {
      tagTable: driver.escape(TAG_TABLE),
      recordId: `${driver.escape('r')}.${driver.escape('id')}`,
      contextParam: 'ctx',
      typeParam: 'type',
      quote: (name) => driver.escape(name),
      bind: (value) => {
        const name = `p${n++}`;
        params[name] = value;
        return `:${name}`;
      },
    });
    const qb = m
      .createQueryBuilder(CredoRecordEntity, 'r')
      .where('r.contextCorrelationId = :ctx AND r.type = :type')
      .andWhere(where)
      .setParameters(params)
      .orderBy('r.createdAt', 'ASC')
      .addOrderBy('r.id', 'ASC');
    if (limit !== undefined) qb.limit(limit);
    if (offset !== undefined && offset > 0) qb.offset(offset);
    return qb;
  }

  /** The SQL and parameters findByQuery runs for `query` (diagnostics: EXPLAIN, logging). */
  public querySql(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    query: Query<T>,
    queryOptions?: Pick<QueryOptions, 'limit' | 'offset'>,
  ): [string, unknown[]] {
    const qb = this.select(
      this.dataSource.manager,
      agentContext,
      recordClass,
      toCondition(query),
      checkCount('limit', queryOptions?.limit),
      checkCount('offset', queryOptions?.offset),
    );
    return qb.getQueryAndParameters();
  }

  /** Whether the context holds no record at all (of any type). */
  public async isEmpty(agentContext: AgentContext): Promise<boolean> {
    const found = await this.run((m) =>
      m.exists(CredoRecordEntity, { where: { contextCorrelationId: agentContext.contextCorrelationId } }),
    );
    return !found;
  }

  /** Deletes every record of the context (Credo's onDeleteContext); returns how many. */
  public async deleteContext(agentContext: AgentContext): Promise<number> {
    const ctx = agentContext.contextCorrelationId;
    const bump = () => this.epochs.set(ctx, (this.epochs.get(ctx) ?? 0) + 1);
    bump();
    try {
      return await this.transaction(async (m) => {
        await m.delete(CredoRecordTagEntity, { contextCorrelationId: ctx });
        const result = await m.delete(CredoRecordEntity, { contextCorrelationId: ctx });
        return result.affected ?? 0;
      });
    } finally {
      bump();
    }
  }
}
