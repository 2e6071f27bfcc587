// The set-up of the storage-*.test.ts scenarios for the Credo StorageService on TypeORM: a Credo
// record type of our own with custom tags of every kind Credo allows, a second type, contexts by
// correlation id, and a harness of Credo repositories over one DataSource per backend.
import 'reflect-metadata';
import { EventEmitter as NodeEventEmitter } from 'node:events';
import {
  AgentContext,
  BaseRecord,
  CacheModuleConfig,
  DependencyManager,
  EventEmitter,
  Repository,
  SingleContextStorageLruCache,
  utils,
  type AgentDependencies,
  type TagsBase,
} from '@credo-ts/core';
import { Subject } from 'rxjs';
import type { DataSource } from 'typeorm';
import { openDataSource } from '../../src/channels/persistence/datasource.js';
import {
  credoStorageEntities,
  credoStorageMigrations,
  TypeOrmStorageService,
} from '../../src/agent/storage/index.js';

// ---------------------------------------------------------------------------------------------
// A Credo record of our own, with custom tags of every kind Credo allows.

export type TestTags = TagsBase & {
  color?: string;
  size?: string;
  paid?: boolean;
  labels?: string[];
};

export class TestRecord extends BaseRecord<TagsBase, TestTags> {
  public static override readonly type: string = 'PerunTestRecord';
  public override readonly type: string = TestRecord.type;
  public note!: string;

  public constructor(props?: { id?: string; note?: string; tags?: TestTags; createdAt?: Date }) {
    super();
    if (props) {
      this.id = props.id ?? utils.uuid();
      this.createdAt = props.createdAt ?? new Date();
      this.note = props.note ?? '';
      this.setTags(props.tags ?? {});
    }
  }

  public getTags(): TestTags {
    return { ...this._tags };
  }
}

/** A second type, to show that ids and tags are per record type. */
export class OtherRecord extends TestRecord {
  public static override readonly type: string = 'PerunOtherRecord';
  public override readonly type: string = OtherRecord.type;
}

// ---------------------------------------------------------------------------------------------
// Harness: one DataSource per backend, contexts by correlation id, Credo repositories.

const dependencies = { EventEmitterClass: NodeEventEmitter } as unknown as AgentDependencies;

export function context(name: string): AgentContext {
  const dependencyManager = new DependencyManager();
  // Repository.findSingleByQuery consults the cache configuration (off by default).
  dependencyManager.registerInstance(
    CacheModuleConfig,
    new CacheModuleConfig({ cache: new SingleContextStorageLruCache({ limit: 10 }) }),
  );
  return new AgentContext({ dependencyManager, contextCorrelationId: name });
}

let contextCount = 0;
/** A context id no earlier run used (PostgreSQL keeps its tables between runs). */
export function freshContext(label: string): AgentContext {
  return context(`${label}-${++contextCount}-${utils.uuid()}`);
}

export interface Harness {
  ds: DataSource;
  storage: TypeOrmStorageService;
  events: EventEmitter;
  tests: Repository<TestRecord>;
  others: Repository<OtherRecord>;
}

export function harness(ds: DataSource): Harness {
  const storage = new TypeOrmStorageService(ds);
  const events = new EventEmitter(dependencies, new Subject<boolean>());
  return {
    ds,
    storage,
    events,
    tests: new Repository(TestRecord, storage, events),
    others: new Repository(OtherRecord, storage, events),
  };
}

export function openStorage(url: string): Promise<DataSource> {
  return openDataSource({
    url,
    entities: [...credoStorageEntities],
    migrations: [...credoStorageMigrations],
  });
}

export const ids = (records: { id: string }[]) => records.map((r) => r.id);
