// Table perun_signed_state: the latest state of each channel that every participant signed,
// with all signatures. One row per channel, replaced in place; its version only increases.

import 'reflect-metadata';
import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';

import { ChannelEntity } from './channel.entity.js';
import { decimalColumn } from './columns.js';

@Entity({ name: 'perun_signed_state' })
export class SignedStateEntity {
  @PrimaryColumn({ type: 'varchar', name: 'channel_id' })
  channelId!: string;

  /** state.version as decimal text (also inside the JSON; kept here for the version rule). */
  @Column(decimalColumn('version'))
  version!: bigint;

  /** Canonical JSON of State (bigints as decimal strings). */
  @Column({ type: 'text', name: 'state' })
  state!: string;

  /** JSON array of hex signatures, one per participant. */
  @Column({ type: 'text', name: 'sigs' })
  sigs!: string;

  @ManyToOne(() => ChannelEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'channel_id', foreignKeyConstraintName: 'FK_perun_signed_state_channel' })
  channel?: Relation<ChannelEntity>;
}
