// Channel-table migrations in order; openDataSource runs them on initialize.

import { ChannelTables1767225600000 } from './1767225600000-channel-tables.js';
import { UsedVersion1767916800000 } from './1767916800000-used-version.js';

export const channelMigrations = [ChannelTables1767225600000, UsedVersion1767916800000] as const;
