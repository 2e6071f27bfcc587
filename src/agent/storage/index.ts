// Credo StorageService on TypeORM, sharing the agent's DataSource with the channel tables.

export { credoStorageEntities, CredoRecordEntity, CredoRecordTagEntity } from './entities.js';
export { credoStorageMigrations } from './migrations/index.js';
export { TypeOrmStorageService } from './typeorm-storage-service.js';
export { seedStorageVersion, TypeOrmStorageModule } from './module.js';
