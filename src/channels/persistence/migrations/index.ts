// Channel-table migrations in order; openDataSource runs them on initialize.

import { ChannelTables1767225600000 } from './1767225600000-channel-tables.js';
import { UsedVersion1767916800000 } from './1767916800000-used-version.js';
import { PaymentLog1796515200000 } from './1796515200000-payment-log.js';
import { PaymentLogRowid1796601600000 } from './1796601600000-payment-log-rowid.js';
import { StagedStateWithoutRowid1796688000000 } from './1796688000000-staged-state-without-rowid.js';

export const channelMigrations = [
  ChannelTables1767225600000,
  UsedVersion1767916800000,
  PaymentLog1796515200000,
  PaymentLogRowid1796601600000,
  StagedStateWithoutRowid1796688000000,
] as const;
