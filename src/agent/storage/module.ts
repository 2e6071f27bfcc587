// Credo module that plugs the TypeORM storage into an agent and keeps every agent context's
// store initialized.
//
// The StorageVersionRecord: Agent.initialize() reads the record at
// StorageVersionRecord.storageVersionRecordId and, when it is missing, takes the store for a 0.1
// wallet (it refuses to start, or runs every storage migration when autoUpdateStorageOnStartup is
// set). A new store must therefore hold the record at the framework's current storage version.
// Askar writes it when it creates a wallet; here `seedStorageVersion` writes it when the context
// holds no record at all. A context that has records but no version record is a genuinely old
// store and is left for Credo's update assistant.
//
// Decision: the seeding runs in the module's onInitializeContext/onProvisionContext hooks, which
// Credo calls for the root context before the version check of Agent.initialize() and for each
// tenant context when it is created or opened, not inside the StorageService: a storage call that
// writes a record as a side effect of the first read would surprise every other caller (tests
// counting records, getAll of StorageVersionRecord), and the hooks are Credo's place for it.
// Callers that register the service without this module call seedStorageVersion themselves.

import {
  CredoError,
  InjectionSymbols,
  RecordDuplicateError,
  StorageVersionRecord,
  type AgentContext,
  type DependencyManager,
  type Module,
} from '@credo-ts/core';
import type { DataSource } from 'typeorm';

import { TypeOrmStorageService } from './typeorm-storage-service.js';

/**
 * Saves a StorageVersionRecord at the framework's current storage version if the context's
 * store is empty. Returns whether it did.
 */
export async function seedStorageVersion(
  storage: TypeOrmStorageService,
  agentContext: AgentContext,
): Promise<boolean> {
  if (!(await storage.isEmpty(agentContext))) return false;
  const record = new StorageVersionRecord({ storageVersion: StorageVersionRecord.frameworkStorageVersion });
  try {
    await storage.save(agentContext, record);
  } catch (error) {
    if (error instanceof RecordDuplicateError) return false; // seeded concurrently
    throw error;
  }
  return true;
}

export class TypeOrmStorageModule implements Module {
  public readonly storage: TypeOrmStorageService;

  /** `dataSource` from openDataSource({ url, entities: credoStorageEntities, migrations: credoStorageMigrations }). */
  public constructor(dataSource: DataSource | TypeOrmStorageService) {
    this.storage =
      dataSource instanceof TypeOrmStorageService ? dataSource : new TypeOrmStorageService(dataSource);
  }

  public register(dependencyManager: DependencyManager): void {
    if (dependencyManager.isRegistered(InjectionSymbols.StorageService)) {
      throw new CredoError('a StorageService is already registered; register only one storage module');
    }
    dependencyManager.registerInstance(InjectionSymbols.StorageService, this.storage);
  }

  public async onInitializeContext(agentContext: AgentContext): Promise<void> {
    await seedStorageVersion(this.storage, agentContext);
  }

  public async onProvisionContext(agentContext: AgentContext): Promise<void> {
    await seedStorageVersion(this.storage, agentContext);
  }

  public async onDeleteContext(agentContext: AgentContext): Promise<void> {
    await this.storage.deleteContext(agentContext);
  }
}
