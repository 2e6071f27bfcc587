// The Credo StorageService on an SQLite file across restarts: Petra's records, tags and storage
// version are as she left them; a Credo Agent on the TypeORM storage module initializes on an
// empty store and again after a restart.
import 'reflect-metadata';
import { EventEmitter as NodeEventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Agent,
  StorageVersionRecord,
  StorageVersionRepository,
  type AgentDependencies,
} from '@credo-ts/core';
import { afterAll, describe, expect, it } from '@jest/globals';
import { seedStorageVersion, TypeOrmStorageModule } from '../../src/agent/storage/index.js';
import { TestRecord, context, harness, openStorage, ids } from './storage-support.js';

const dir = mkdtempSync(join(tmpdir(), 'perun-credo-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Petra restarts her agent on the same SQLite file', () => {
  it('finds her Credo records, tags and storage version as she left them', async () => {
    const file = join(dir, 'restart.sqlite');
    const petra = context('default');
    const first = harness(await openStorage(file));
    expect(await seedStorageVersion(first.storage, petra)).toBe(true);
    const records = [0, 1, 2, 3].map(
      (i) =>
        new TestRecord({
          id: `p${i}`,
          note: `n${i}`,
          tags: { color: i % 2 ? 'odd' : 'even', labels: [`l${i}`] },
        }),
    );
    for (const r of records) await first.tests.save(petra, r);
    await first.tests.deleteById(petra, 'p3');
    const p1 = await first.tests.getById(petra, 'p1');
    p1.setTag('paid', true);
    await first.tests.update(petra, p1);
    await first.ds.destroy();

    const second = harness(await openStorage(file));
    try {
      expect((await second.tests.getAll(petra)).map((r) => r.note).sort()).toEqual(['n0', 'n1', 'n2']);
      expect(ids(await second.tests.findByQuery(petra, { color: 'even' })).sort()).toEqual(['p0', 'p2']);
      expect(ids(await second.tests.findByQuery(petra, { paid: true }))).toEqual(['p1']);
      expect(ids(await second.tests.findByQuery(petra, { labels: ['l3'] }))).toEqual([]);
      expect(await seedStorageVersion(second.storage, petra)).toBe(false);
      const version = await new StorageVersionRepository(second.storage, second.events).getById(
        petra,
        StorageVersionRecord.storageVersionRecordId,
      );
      expect(version.storageVersion).toBe(StorageVersionRecord.frameworkStorageVersion);
    } finally {
      await second.ds.destroy();
    }
  });
});

describe('a Credo Agent on the TypeORM storage module', () => {
  it('initializes on an empty store (the module seeds the storage version) and again after a restart', async () => {
    const file = join(dir, 'agent.sqlite');
    class NoFileSystem {
      dataPath = join(dir, 'data');
      cachePath = join(dir, 'cache');
      tempPath = join(dir, 'tmp');
      exists = async () => false;
      createDirectory = async () => undefined;
      copyFile = async () => undefined;
      write = async () => undefined;
      read = async (): Promise<string> => {
        throw new Error('no files in this test');
      };
      delete = async () => undefined;
      downloadToFile = async () => undefined;
    }
    const agentDependencies = {
      FileSystem: NoFileSystem,
      EventEmitterClass: NodeEventEmitter,
      fetch,
      WebSocketClass: class {},
    } as unknown as AgentDependencies;

    for (const round of [1, 2]) {
      const ds = await openStorage(file);
      const agent = new Agent({
        config: { logger: undefined },
        dependencies: agentDependencies,
        modules: { storage: new TypeOrmStorageModule(ds) },
      });
      try {
        await agent.initialize();
        expect(agent.isInitialized).toBe(true);
        const versions = agent.dependencyManager.resolve(StorageVersionRepository);
        const all = await versions.getAll(agent.context);
        expect(all.map((r) => [r.id, r.storageVersion])).toEqual([
          [StorageVersionRecord.storageVersionRecordId, StorageVersionRecord.frameworkStorageVersion],
        ]);
        await agent.genericRecords.save({ content: { round }, tags: { round: String(round) } });
        expect((await agent.genericRecords.findAllByQuery({})).length).toBe(round);
      } finally {
        await agent.shutdown();
        await ds.destroy();
      }
    }
  });
});
