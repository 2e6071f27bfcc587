// Table perun_staged_state: the state of a channel that is still collecting signatures (a
// proposal, update or progression in flight). At most one row per channel; deleted when enabled.

import 'reflect-metadata';
import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';

import { ChannelEntity } from './channel.entity.js';
import { decimalColumn } from './columns.js';

@Entity({ name: 'perun_staged_state' })
export class StagedStateEntity {
  @PrimaryColumn({ type: 'varchar', name: 'channel_id' })
  channelId!: string;

  /** state.version as decimal text (also inside the JSON; kept here for the version rule). */
  @Column(decimalColumn('version'))
  version!: bigint;

  /** Canonical JSON of State (bigints as decimal strings). */
  @Column({ type: 'text', name: 'state' })
  state!: string;

  /** JSON array, one slot per participant: hex signature or null while missing. */
  @Column({ type: 'text', name: 'sigs' })
  sigs!: string;

  @ManyToOne(() => ChannelEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'channel_id', foreignKeyConstraintName: 'FK_perun_staged_state_channel' })
  channel?: Relation<ChannelEntity>;
}
