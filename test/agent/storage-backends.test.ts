// The Credo StorageService on TypeORM, one suite on each backend: Credo's own Repository and record
// classes on top of it, on SQLite ':memory:', an SQLite file and PostgreSQL when DATABASE_URL
// names one. Every scenario uses fresh context correlation ids, so the PostgreSQL database needs
// no cleaning between runs. A property test compares every query answer with a small reference
// implementation of Credo's query semantics (src/agent/storage/query.ts).
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  RecordDuplicateError,
  RecordNotFoundError,
  RepositoryEventTypes,
  StorageVersionRecord,
  StorageVersionRepository,
  utils,
  type Query,
} from '@credo-ts/core';
import {
  DidCommConnectionRecord,
  DidCommConnectionRepository,
  DidCommDidExchangeRole,
  DidCommDidExchangeState,
} from '@credo-ts/didcomm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { isPostgresUrl } from '../../src/channels/persistence/datasource.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { seedStorageVersion, TypeOrmStorageModule } from '../../src/agent/storage/index.js';
import { channelId, newChannel, signed } from '../persistence/fixtures.js';
import {
  type TestTags,
  TestRecord,
  OtherRecord,
  freshContext,
  type Harness,
  harness,
  openStorage,
  ids,
} from './storage-support.js';

// ---------------------------------------------------------------------------------------------
// Reference semantics, written independently of the implementation: a record matches a query iff
// every key of the query holds (see query.ts for where each rule comes from in Credo).

type Tags = Record<string, string | boolean | string[] | null | undefined>;

function referenceMatch(tags: Tags, query: Record<string, unknown>): boolean {
  for (const [key, want] of Object.entries(query)) {
    if (want === undefined) continue;
    if (key === '$and') {
      if (!(want as Record<string, unknown>[]).every((q) => referenceMatch(tags, q))) return false;
    } else if (key === '$or') {
      if (!(want as Record<string, unknown>[]).some((q) => referenceMatch(tags, q))) return false;
    } else if (key === '$not') {
      if (referenceMatch(tags, want as Record<string, unknown>)) return false;
    } else {
      const have = tags[key];
      if (want === null) {
        if (!(have === undefined || have === null || (Array.isArray(have) && have.length === 0)))
          return false;
      } else if (Array.isArray(want)) {
        if (want.length > 0 && !(Array.isArray(have) && want.every((w) => have.includes(w as string)))) {
          return false;
        }
      } else if (have !== want) {
        return false;
      }
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The shared suite.

function storageSuite(name: string, open: () => Promise<DataSource>, options: { propertyRuns: number }) {
  describe(`Credo storage on ${name}`, () => {
    let h: Harness;

    beforeAll(async () => {
      h = harness(await open());
    });
    afterAll(async () => {
      if (h?.ds.isInitialized) await h.ds.destroy();
    });

    it('builds exactly the schema its entities describe, with the channel tables beside it', async () => {
      const pending = await h.ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
      expect(await h.ds.showMigrations()).toBe(false);
      const tables = (
        await h.ds.createQueryRunner().getTables(['credo_record', 'credo_record_tag', 'perun_channel'])
      )
        .map((t) => t.name.replace(/^.*\./, ''))
        .sort();
      expect(tables).toEqual(['credo_record', 'credo_record_tag', 'perun_channel']);
    });

    it('Alice saves a record through Credo’s Repository and reads it back exactly', async () => {
      const alice = freshContext('alice');
      const saved: unknown[] = [];
      h.events.on(RepositoryEventTypes.RecordSaved, (e) => {
        saved.push(e);
      });
      const long = 'did:peer:4' + 'z'.repeat(3000); // beyond any B-tree entry limit
      const record = new TestRecord({
        note: 'first',
        createdAt: new Date('2026-01-02T03:04:05.678Z'),
        tags: { color: 'red', size: '1', paid: true, labels: ['perun', 'eth', long] },
      });
      record.metadata.set('perun', { channel: 7 });
      await h.tests.save(alice, record);
      expect(record.updatedAt).toBeInstanceOf(Date);
      expect(saved).toHaveLength(1);

      const loaded = await h.tests.getById(alice, record.id);
      expect(loaded).toBeInstanceOf(TestRecord);
      expect(loaded.toJSON()).toEqual(record.toJSON());
      expect(loaded.createdAt.toISOString()).toBe('2026-01-02T03:04:05.678Z');
      expect(loaded.getTags()).toEqual({
        color: 'red',
        size: '1',
        paid: true,
        labels: ['perun', 'eth', long],
      });
      expect(loaded.metadata.get('perun')).toEqual({ channel: 7 });
      expect(ids(await h.tests.findByQuery(alice, { labels: [long] }))).toEqual([record.id]);
      expect(ids(await h.tests.getAll(alice))).toEqual([record.id]);
      expect(await h.others.getAll(alice)).toEqual([]);
    });

    it('answers tag queries with $and, $or, $not, arrays, booleans and null as Credo defines them', async () => {
      const ctx = freshContext('queries');
      const t0 = Date.UTC(2026, 0, 1);
      const make = async (id: string, tags: TestTags, i: number) => {
        const r = new TestRecord({ id, tags, createdAt: new Date(t0 + i) });
        await h.tests.save(ctx, r);
      };
      await make('red-small', { color: 'red', size: 'small', paid: true, labels: ['a', 'b'] }, 0);
      await make('red-large', { color: 'red', size: 'large', paid: false, labels: ['b'] }, 1);
      await make('blue-small', { color: 'blue', size: 'small', labels: [] }, 2);
      await make('bare', {}, 3);
      await make('one', { color: '1', size: 'true' }, 4);
      const q = async (query: Query<TestRecord>) => ids(await h.tests.findByQuery(ctx, query));

      expect(await q({ color: 'red' })).toEqual(['red-small', 'red-large']);
      expect(await q({ color: 'red', size: 'large' })).toEqual(['red-large']);
      expect(await q({ paid: true })).toEqual(['red-small']);
      expect(await q({ paid: false })).toEqual(['red-large']);
      // The string '1' is not the boolean true, nor 'true'.
      expect(await q({ color: '1' })).toEqual(['one']);
      expect(await q({ size: true } as unknown as Query<TestRecord>)).toEqual([]);
      // Arrays: every listed element must be present; [] constrains nothing; scalars never match.
      expect(await q({ labels: ['b'] })).toEqual(['red-small', 'red-large']);
      expect(await q({ labels: ['a', 'b'] })).toEqual(['red-small']);
      expect(await q({ labels: ['a', 'c'] })).toEqual([]);
      expect(await q({ labels: [] })).toEqual(['red-small', 'red-large', 'blue-small', 'bare', 'one']);
      expect(await q({ color: ['red'] } as unknown as Query<TestRecord>)).toEqual([]);
      expect(await q({ labels: 'b' } as unknown as Query<TestRecord>)).toEqual([]);
      // undefined constrains nothing; null asks for "no value" (absent, null or empty array).
      expect(await q({ color: undefined })).toHaveLength(5);
      expect(await q({ paid: null } as unknown as Query<TestRecord>)).toEqual(['blue-small', 'bare', 'one']);
      expect(await q({ labels: null } as unknown as Query<TestRecord>)).toEqual([
        'blue-small',
        'bare',
        'one',
      ]);
      // Combinators.
      expect(await q({ $or: [{ color: 'blue' }, { paid: false }] })).toEqual(['red-large', 'blue-small']);
      expect(await q({ size: 'small', $and: [{ color: 'red' }, { labels: ['a'] }] })).toEqual(['red-small']);
      expect(await q({ $not: { color: 'red' } })).toEqual(['blue-small', 'bare', 'one']);
      expect(await q({ color: 'red', $not: { size: 'small' } })).toEqual(['red-large']);
      expect(await q({ $not: { color: 'red', size: 'small' } })).toEqual([
        'red-large',
        'blue-small',
        'bare',
        'one',
      ]);
      expect(await q({ $not: { $or: [{ color: 'red' }, { color: 'blue' }] } })).toEqual(['bare', 'one']);
      expect(await q({ $not: { $not: { paid: true } } })).toEqual(['red-small']);
      expect(
        await q({
          $or: [{ $and: [{ color: 'red' }, { $not: { paid: true } }] }, { size: 'true' }],
          $not: { labels: ['x'] },
        }),
      ).toEqual(['red-large', 'one']);
      // Edge cases of the combinators, as in Askar: $and [] is true, $or [] is false.
      expect(await q({ $and: [] })).toHaveLength(5);
      expect(await q({ $or: [] })).toEqual([]);
      expect(await q({ $not: { $or: [] } })).toHaveLength(5);
      expect(await q({ $or: [{}, { color: 'blue' }] })).toHaveLength(5);
      // Paging in created order.
      expect(ids(await h.tests.findByQuery(ctx, {}, { offset: 1, limit: 2 }))).toEqual([
        'red-large',
        'blue-small',
      ]);
      expect(ids(await h.tests.findByQuery(ctx, { color: 'red' }, { limit: 1 }))).toEqual(['red-small']);
      expect(ids(await h.tests.findByQuery(ctx, {}, { offset: 4 }))).toEqual(['one']);
      expect(await h.tests.findByQuery(ctx, {}, { limit: 0 })).toEqual([]);
      await expect(h.tests.findByQuery(ctx, {}, { limit: -1 })).rejects.toThrow(/non-negative/);
      await expect(h.tests.findByQuery(ctx, {}, { cursor: { after: 'x' } })).rejects.toThrow(/cursor/);
      // Single-record helpers of the Repository.
      expect((await h.tests.getSingleByQuery(ctx, { size: 'large' })).id).toBe('red-large');
      await expect(h.tests.findSingleByQuery(ctx, { color: 'red' })).rejects.toBeInstanceOf(
        RecordDuplicateError,
      );
    });

    it('a record that is not there: getById, update and delete say RecordNotFoundError', async () => {
      const ctx = freshContext('missing');
      const ghost = new TestRecord({ id: 'ghost', tags: { color: 'grey' } });
      await expect(h.tests.getById(ctx, 'ghost')).rejects.toBeInstanceOf(RecordNotFoundError);
      expect(await h.tests.findById(ctx, 'ghost')).toBeNull();
      await expect(h.tests.update(ctx, ghost)).rejects.toBeInstanceOf(RecordNotFoundError);
      await expect(h.tests.delete(ctx, ghost)).rejects.toBeInstanceOf(RecordNotFoundError);
      await expect(h.tests.deleteById(ctx, 'ghost')).rejects.toBeInstanceOf(RecordNotFoundError);
      await expect(h.tests.getSingleByQuery(ctx, { color: 'grey' })).rejects.toBeInstanceOf(
        RecordNotFoundError,
      );
      expect(await h.tests.getAll(ctx)).toEqual([]);

      // Saved, then deleted: gone with its tags.
      await h.tests.save(ctx, ghost);
      await h.tests.delete(ctx, ghost);
      await expect(h.tests.getById(ctx, 'ghost')).rejects.toBeInstanceOf(RecordNotFoundError);
      expect(await h.tests.findByQuery(ctx, { color: 'grey' })).toEqual([]);
      await h.tests.save(ctx, ghost); // the id is free again
      await h.tests.deleteById(ctx, 'ghost');
      expect(await h.tests.findByQuery(ctx, { $not: { color: 'x' } })).toEqual([]);
    });

    it('a second save of the same id is a RecordDuplicateError and changes nothing', async () => {
      const ctx = freshContext('dup');
      await h.tests.save(ctx, new TestRecord({ id: 'r1', note: 'original', tags: { color: 'red' } }));
      await expect(
        h.tests.save(ctx, new TestRecord({ id: 'r1', note: 'impostor', tags: { color: 'blue' } })),
      ).rejects.toBeInstanceOf(RecordDuplicateError);
      expect((await h.tests.getById(ctx, 'r1')).note).toBe('original');
      expect(await h.tests.findByQuery(ctx, { color: 'blue' })).toEqual([]);
      // Concurrent saves of one id: exactly one wins.
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map((i) => h.tests.save(ctx, new TestRecord({ id: 'race', note: `n${i}` }))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RecordDuplicateError);
      }
      // Ids are per record type (as Askar's category + name).
      await h.others.save(ctx, new OtherRecord({ id: 'r1', note: 'other', tags: { color: 'red' } }));
      expect((await h.others.getById(ctx, 'r1')).note).toBe('other');
      expect((await h.tests.getById(ctx, 'r1')).note).toBe('original');
      expect(ids(await h.others.findByQuery(ctx, { color: 'red' }))).toEqual(['r1']);
      await h.others.deleteById(ctx, 'r1');
      expect((await h.tests.getById(ctx, 'r1')).note).toBe('original');
    });

    it('update replaces value and tags: the old tags no longer match', async () => {
      const ctx = freshContext('update');
      const updated: unknown[] = [];
      h.events.on(RepositoryEventTypes.RecordUpdated, (e) => {
        updated.push(e);
      });
      const r = new TestRecord({
        id: 'u1',
        note: 'v1',
        tags: { color: 'red', labels: ['a', 'b'], paid: false },
      });
      await h.tests.save(ctx, r);
      const firstUpdatedAt = r.updatedAt;
      r.note = 'v2';
      r.setTags({ color: 'green', labels: ['c'], paid: undefined });
      await h.tests.update(ctx, r);
      expect(updated.length).toBeGreaterThanOrEqual(1);
      expect(r.updatedAt!.getTime()).toBeGreaterThanOrEqual(firstUpdatedAt!.getTime());

      const loaded = await h.tests.getById(ctx, 'u1');
      expect(loaded.note).toBe('v2');
      expect(loaded.getTags()).toEqual({ color: 'green', labels: ['c'] });
      expect(await h.tests.findByQuery(ctx, { color: 'red' })).toEqual([]);
      expect(await h.tests.findByQuery(ctx, { labels: ['a'] })).toEqual([]);
      expect(await h.tests.findByQuery(ctx, { paid: false })).toEqual([]);
      expect(ids(await h.tests.findByQuery(ctx, { paid: null } as unknown as Query<TestRecord>))).toEqual([
        'u1',
      ]);
      expect(ids(await h.tests.findByQuery(ctx, { color: 'green', labels: ['c'] }))).toEqual(['u1']);
      // Credo's updateByIdWithLock falls back to get + callback + update on this storage.
      await h.tests.updateByIdWithLock(ctx, 'u1', async (rec) => {
        rec.setTag('size', 'xl');
        return rec;
      });
      expect(ids(await h.tests.findByQuery(ctx, { size: 'xl' }))).toEqual(['u1']);
    });

    it('contexts are isolated by contextCorrelationId, and deleting one leaves the others', async () => {
      const tenantA = freshContext('tenant-a');
      const tenantB = freshContext('tenant-b');
      await h.tests.save(tenantA, new TestRecord({ id: 'shared-id', note: 'A', tags: { color: 'red' } }));
      await h.tests.save(tenantB, new TestRecord({ id: 'shared-id', note: 'B', tags: { color: 'red' } }));
      await h.tests.save(tenantB, new TestRecord({ id: 'only-b', tags: { color: 'blue' } }));
      expect((await h.tests.getById(tenantA, 'shared-id')).note).toBe('A');
      expect((await h.tests.getById(tenantB, 'shared-id')).note).toBe('B');
      expect(ids(await h.tests.getAll(tenantA))).toEqual(['shared-id']);
      expect(ids(await h.tests.findByQuery(tenantA, { $not: { color: 'red' } }))).toEqual([]);
      expect(ids(await h.tests.findByQuery(tenantB, { $not: { color: 'red' } }))).toEqual(['only-b']);
      await expect(h.tests.getById(tenantA, 'only-b')).rejects.toBeInstanceOf(RecordNotFoundError);
      await expect(h.tests.deleteById(tenantA, 'only-b')).rejects.toBeInstanceOf(RecordNotFoundError);

      const a2 = await h.tests.getById(tenantA, 'shared-id');
      a2.setTag('color', 'violet');
      await h.tests.update(tenantA, a2);
      expect(ids(await h.tests.findByQuery(tenantB, { color: 'red' }))).toEqual(['shared-id']);

      const module = new TypeOrmStorageModule(h.storage);
      await module.onDeleteContext(tenantB);
      expect(await h.tests.getAll(tenantB)).toEqual([]);
      expect(ids(await h.tests.findByQuery(tenantA, { color: 'violet' }))).toEqual(['shared-id']);
    });

    it('stores and queries DidCommConnectionRecords through DidCommConnectionRepository', async () => {
      const ctx = freshContext('didcomm');
      const connections = new DidCommConnectionRepository(h.storage, h.events);
      const bob = new DidCommConnectionRecord({
        role: DidCommDidExchangeRole.Requester,
        state: DidCommDidExchangeState.Completed,
        did: 'did:peer:2.alice-for-bob',
        theirDid: 'did:peer:2.bob',
        theirLabel: 'Bob',
        threadId: 'thread-bob',
        connectionTypes: ['perun-peer-verified'],
      });
      const carol = new DidCommConnectionRecord({
        role: DidCommDidExchangeRole.Responder,
        state: DidCommDidExchangeState.RequestReceived,
        did: 'did:peer:2.alice-for-carol',
        theirDid: 'did:peer:2.carol',
        threadId: 'thread-carol',
      });
      await connections.save(ctx, bob);
      await connections.save(ctx, carol);

      expect((await connections.getByThreadId(ctx, 'thread-carol')).id).toBe(carol.id);
      expect(
        (
          await connections.findByDids(ctx, {
            ourDid: 'did:peer:2.alice-for-bob',
            theirDid: 'did:peer:2.bob',
          })
        )?.id,
      ).toBe(bob.id);
      expect(ids(await connections.findByQuery(ctx, { connectionTypes: ['perun-peer-verified'] }))).toEqual([
        bob.id,
      ]);
      expect(ids(await connections.findByQuery(ctx, { state: DidCommDidExchangeState.Completed }))).toEqual([
        bob.id,
      ]);
      const loaded = await connections.getById(ctx, bob.id);
      expect(loaded).toBeInstanceOf(DidCommConnectionRecord);
      expect(loaded.theirLabel).toBe('Bob');
      expect(loaded.isReady).toBe(true);

      carol.state = DidCommDidExchangeState.Completed;
      await connections.update(ctx, carol);
      expect(
        ids(await connections.findByQuery(ctx, { state: DidCommDidExchangeState.RequestReceived })),
      ).toEqual([]);
      expect((await connections.findByQuery(ctx, { state: DidCommDidExchangeState.Completed })).length).toBe(
        2,
      );
    });

    it('an empty store is seeded with the StorageVersionRecord once, an old one never', async () => {
      const fresh = freshContext('seed');
      const versions = new StorageVersionRepository(h.storage, h.events);
      expect(await seedStorageVersion(h.storage, fresh)).toBe(true);
      const seeded = await versions.getById(fresh, StorageVersionRecord.storageVersionRecordId);
      expect(seeded.storageVersion).toBe(StorageVersionRecord.frameworkStorageVersion);
      expect(await seedStorageVersion(h.storage, fresh)).toBe(false);
      expect(await versions.getAll(fresh)).toHaveLength(1);

      // A store with records but no version record is an old wallet: left for Credo's updater.
      const old = freshContext('old-wallet');
      await h.tests.save(old, new TestRecord({ id: 'legacy' }));
      expect(await seedStorageVersion(h.storage, old)).toBe(false);
      expect(await versions.findById(old, StorageVersionRecord.storageVersionRecordId)).toBeNull();

      // Concurrent seeding of one empty context writes one record.
      const racing = freshContext('seed-race');
      const seededBy = await Promise.all([1, 2, 3].map(() => seedStorageVersion(h.storage, racing)));
      expect(seededBy.filter(Boolean).length).toBeLessThanOrEqual(1);
      expect(await versions.getAll(racing)).toHaveLength(1);
    });

    it('shares one DataSource with the channel store: interleaved operations neither deadlock nor mix', async () => {
      const ctx = freshContext('shared');
      const channels = new TypeOrmChannelStore(h.ds);
      const tag = utils.uuid().slice(0, 8);
      const ids32 = [0, 1, 2].map((i) => channelId(`${tag}-shared-${i}`));
      await Promise.all(
        ids32.map((id, i) => channels.createChannel({ ...newChannel(`${tag}-shared-${i}`), id })),
      );
      // Each channel signs its states in order (one chain per channel, as the channel core does);
      // the chains and the Credo writes and reads all run at once.
      const chains = new Map(ids32.map((id) => [id, Promise.resolve()]));
      const work: Promise<unknown>[] = [];
      for (let v = 0n; v < 12n; v++) {
        for (const id of ids32) {
          const next = chains.get(id)!.then(() =>
            // A channel transaction with several awaits inside, racing Credo writes and reads.
            channels.transaction(async (tx) => {
              await tx.saveSignedState(id, signed(id, v));
              await tx.setPhase(id, v % 2n === 0n ? 'Acting' : 'Signing');
            }),
          );
          chains.set(id, next);
          work.push(next);
        }
        const r = new TestRecord({ id: `rec-${v}`, tags: { color: v % 2n === 0n ? 'even' : 'odd' } });
        work.push(h.tests.save(ctx, r).then(() => h.tests.findByQuery(ctx, { color: 'even' })));
        work.push(h.tests.getAll(ctx));
      }
      await Promise.all(work);
      for (const id of ids32) {
        const c = await channels.getChannel(id);
        expect(c?.current?.state.version).toBe(11n);
        expect(c?.phase).toBe('Signing');
      }
      expect(await h.tests.findByQuery(ctx, { color: 'even' })).toHaveLength(6);
      expect(await h.tests.findByQuery(ctx, { color: 'odd' })).toHaveLength(6);
    });

    it('property: every query answer equals the reference semantics, paging included', async () => {
      const names = ['color', 'size', 'labels', 'paid', 'a:b'];
      const strings = ['red', 'blue', '', '1', '0', 'true', 'a:b', 'Ünïcødé', 'x'.repeat(250)];
      const tagValue = fc.oneof(
        fc.constantFrom(...strings),
        fc.boolean(),
        fc.uniqueArray(fc.constantFrom(...strings), { maxLength: 3 }),
        fc.constant(null),
        fc.constant(undefined),
      );
      const tags = fc.dictionary(fc.constantFrom(...names), tagValue, { maxKeys: 4 });
      const simple = fc.dictionary(fc.constantFrom(...names), tagValue, { maxKeys: 2 });
      const queryOf = (depth: number): fc.Arbitrary<Record<string, unknown>> =>
        depth === 0
          ? simple
          : fc
              .record(
                {
                  simple,
                  $and: fc.array(queryOf(depth - 1), { maxLength: 2 }),
                  $or: fc.array(queryOf(depth - 1), { maxLength: 3 }),
                  $not: queryOf(depth - 1),
                },
                { requiredKeys: ['simple'] },
              )
              .map(({ simple: tags, ...ops }) => ({ ...tags, ...ops }));
      const boundedQuery = fc.oneof(queryOf(0), queryOf(1), queryOf(2));
      const t0 = Date.UTC(2026, 5, 1);

      await fc.assert(
        fc.asyncProperty(
          fc.array(tags, { minLength: 1, maxLength: 7 }),
          fc.array(boundedQuery, { minLength: 1, maxLength: 4 }),
          fc.nat({ max: 8 }),
          fc.option(fc.nat({ max: 8 }), { nil: undefined }),
          async (recordTags, queries, offset, limit) => {
            const ctx = freshContext('prop');
            const records = recordTags.map(
              (t, i) => new TestRecord({ id: `r${i}`, createdAt: new Date(t0 + i), tags: t as TestTags }),
            );
            for (const r of records) await h.tests.save(ctx, r);
            for (const q of queries) {
              const expected = records.filter((r) =>
                referenceMatch(recordTags[Number(r.id.slice(1))] as Tags, q),
              );
              const got = await h.tests.findByQuery(ctx, q as Query<TestRecord>);
              expect(ids(got)).toEqual(ids(expected));
              const page = await h.tests.findByQuery(ctx, q as Query<TestRecord>, { offset, limit });
              const end = limit === undefined ? undefined : offset + limit;
              expect(ids(page)).toEqual(ids(expected).slice(offset, end));
            }
          },
        ),
        { numRuns: options.propertyRuns, timeout: 20_000 },
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Backends.

storageSuite('SQLite :memory:', () => openStorage(':memory:'), { propertyRuns: 200 });

const dir = mkdtempSync(join(tmpdir(), 'perun-credo-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
storageSuite('an SQLite file', () => openStorage(join(dir, 'suite.sqlite')), { propertyRuns: 40 });

const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl !== undefined && isPostgresUrl(databaseUrl)) {
  storageSuite('PostgreSQL', () => openStorage(databaseUrl), { propertyRuns: 60 });
}
