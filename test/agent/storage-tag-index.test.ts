// The Credo StorageService's tag queries on SQLite run on the tag index, never by scanning the
// tag table.
import 'reflect-metadata';
import type { Query } from '@credo-ts/core';
import { describe, expect, it } from '@jest/globals';
import { TestRecord, OtherRecord, context, harness, openStorage, ids } from './storage-support.js';

describe('tag queries run on the tag index', () => {
  it('SQLite answers a compound query by index searches, never by scanning the tag table', async () => {
    const ds = await openStorage(':memory:');
    try {
      const h = harness(ds);
      const ctx = context('plan');
      for (let i = 0; i < 50; i++) {
        await h.tests.save(
          ctx,
          new TestRecord({ id: `t${i}`, tags: { color: `c${i % 5}`, labels: [`l${i % 7}`] } }),
        );
        await h.others.save(ctx, new OtherRecord({ id: `o${i}`, tags: { color: `c${i % 5}` } }));
      }
      await ds.query('ANALYZE');
      const query: Query<TestRecord> = {
        color: 'c1',
        $or: [{ labels: ['l2'] }, { $not: { paid: true } }],
        size: null,
      } as unknown as Query<TestRecord>;
      const [sql, params] = h.storage.querySql(ctx, TestRecord, query, { limit: 5, offset: 1 });
      const plan = (await ds.query(`EXPLAIN QUERY PLAN ${sql}`, params)) as { detail: string }[];
      const details = plan.map((p) => p.detail);
      expect(details.filter((d) => /\bSCAN\b/.test(d) && !/\bSCAN\b.*\bUSING\b.*\bINDEX\b/.test(d))).toEqual(
        [],
      );
      expect(details.some((d) => d.includes('IDX_credo_record_tag_lookup'))).toBe(true);
      expect(ids(await h.tests.findByQuery(ctx, query))).toEqual(
        ids((await h.tests.getAll(ctx)).filter((r) => r.getTags().color === 'c1')),
      );
    } finally {
      await ds.destroy();
    }
  });
});
