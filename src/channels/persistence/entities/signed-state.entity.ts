// Table perun_signed_state: the latest state of each channel that every participant signed,
// with all signatures. One row per channel, replaced in place; its version only increases.

import 'reflect-metadata';
import { Entity, JoinColumn, ManyToOne, type Relation } from 'typeorm';

import { ChannelEntity } from './channel.entity.js';
import { StateColumns } from './state-columns.js';

@Entity({ name: 'perun_signed_state' })
export class SignedStateEntity extends StateColumns {
  @ManyToOne(() => ChannelEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'channel_id', foreignKeyConstraintName: 'FK_perun_signed_state_channel' })
  channel?: Relation<ChannelEntity>;
}
