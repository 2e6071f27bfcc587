// Misuse of the Credo StorageService is refused clearly: a DataSource without the storage tables,
// tag values Credo does not allow, malformed queries.
import 'reflect-metadata';
import type { Query } from '@credo-ts/core';
import { describe, expect, it } from '@jest/globals';
import type {} from 'typeorm';
import { openDataSource } from '../../src/channels/persistence/datasource.js';
import { TypeOrmStorageService } from '../../src/agent/storage/index.js';
import { TestRecord, context, harness, openStorage } from './storage-support.js';

describe('misuse is refused clearly', () => {
  it('rejects a DataSource without the storage tables, tag values Credo does not allow and malformed queries', async () => {
    const bare = await openDataSource({ url: ':memory:' });
    try {
      expect(() => new TypeOrmStorageService(bare)).toThrow(/credoStorageEntities/);
    } finally {
      await bare.destroy();
    }
    const ds = await openStorage(':memory:');
    try {
      const h = harness(ds);
      const ctx = context('misuse');
      const bad = new TestRecord({ id: 'bad', tags: { size: 3 as unknown as string } });
      await expect(h.tests.save(ctx, bad)).rejects.toThrow(/unsupported value type/);
      const badArray = new TestRecord({ id: 'bad2', tags: { labels: [1 as unknown as string] } });
      await expect(h.tests.save(ctx, badArray)).rejects.toThrow(/non-string array element/);
      expect(await h.tests.getAll(ctx)).toEqual([]);
      await expect(h.tests.findByQuery(ctx, { $or: {} } as unknown as Query<TestRecord>)).rejects.toThrow(
        /\$or/,
      );
      await expect(h.tests.findByQuery(ctx, { size: 3 } as unknown as Query<TestRecord>)).rejects.toThrow(
        /size/,
      );
    } finally {
      await ds.destroy();
    }
  });
});
