// The channel tables, for a DataSource shared with other entities (Credo's storage records).

import { ChannelPeerEntity } from './channel-peer.entity.js';
import { ChannelEntity } from './channel.entity.js';
import { PaymentLogEntity, SqlitePaymentLogEntity, paymentLogEntity } from './payment.entity.js';
import { SignedStateEntity } from './signed-state.entity.js';
import { StagedStateEntity } from './staged-state.entity.js';
import { WatcherCursorEntity } from './watcher-cursor.entity.js';

export {
  ChannelEntity,
  ChannelPeerEntity,
  PaymentLogEntity,
  SignedStateEntity,
  SqlitePaymentLogEntity,
  StagedStateEntity,
  WatcherCursorEntity,
};

/** The channel entities of a DataSource of `type` ('better-sqlite3' or 'postgres'). */
export function channelEntitiesFor(type: string) {
  return [
    ChannelEntity,
    ChannelPeerEntity,
    SignedStateEntity,
    StagedStateEntity,
    WatcherCursorEntity,
    paymentLogEntity(type),
  ] as const;
}

/** The channel entities on SQLite (channelEntitiesFor('postgres') for PostgreSQL). */
export const channelEntities = channelEntitiesFor('better-sqlite3');
