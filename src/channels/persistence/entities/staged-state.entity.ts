// Table perun_staged_state: the state of a channel that is still collecting signatures (a
// proposal, update or progression in flight). At most one row per channel; deleted when enabled.

import 'reflect-metadata';
import { Entity, JoinColumn, ManyToOne, type Relation } from 'typeorm';

import { ChannelEntity } from './channel.entity.js';
import { StateColumns } from './state-columns.js';

@Entity({ name: 'perun_staged_state' })
export class StagedStateEntity extends StateColumns {
  @ManyToOne(() => ChannelEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'channel_id', foreignKeyConstraintName: 'FK_perun_staged_state_channel' })
  channel?: Relation<ChannelEntity>;
}
