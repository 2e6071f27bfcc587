// The channel tables, for a DataSource shared with other entities (Credo's storage records).

import { ChannelPeerEntity } from './channel-peer.entity.js';
import { ChannelEntity } from './channel.entity.js';
import { PaymentLogEntity } from './payment.entity.js';
import { SignedStateEntity } from './signed-state.entity.js';
import { StagedStateEntity } from './staged-state.entity.js';
import { WatcherCursorEntity } from './watcher-cursor.entity.js';

export {
  ChannelEntity,
  ChannelPeerEntity,
  PaymentLogEntity,
  SignedStateEntity,
  StagedStateEntity,
  WatcherCursorEntity,
};

export const channelEntities = [
  ChannelEntity,
  ChannelPeerEntity,
  SignedStateEntity,
  StagedStateEntity,
  WatcherCursorEntity,
  PaymentLogEntity,
] as const;
