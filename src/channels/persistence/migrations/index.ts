// Channel-table migrations in order; openDataSource runs them on initialize.

import { ChannelTables1767225600000 } from './1767225600000-channel-tables.js';

export const channelMigrations = [ChannelTables1767225600000] as const;
