// Channel persistence: the ChannelStore implementations and the DataSource factory.

export * from './errors.js';
export { MemoryChannelStore } from './memory-store.js';
export { TypeOrmChannelStore } from './typeorm-store.js';
export {
  exclusive,
  isPostgresUrl,
  isSingleConnection,
  openDataSource,
  type OpenDataSourceOptions,
  type SqliteSynchronous,
} from './datasource.js';
export { channelEntities, channelEntitiesFor } from './entities/index.js';
export { channelMigrations } from './migrations/index.js';
