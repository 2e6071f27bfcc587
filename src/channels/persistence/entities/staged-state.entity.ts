// Table perun_staged_state: the state of a channel that is still collecting signatures (a
// proposal, update or progression in flight). At most one row per channel; deleted when enabled.
// On SQLite a WITHOUT ROWID table (the rows in the key's b-tree; migration
// StagedStateWithoutRowid1796688000000), ignored on PostgreSQL.

import 'reflect-metadata';
import { Column, Entity, JoinColumn, ManyToOne, type Relation } from 'typeorm';

import { ChannelEntity } from './channel.entity.js';
import { StateColumns } from './state-columns.js';

@Entity({ name: 'perun_staged_state', withoutRowid: true })
export class StagedStateEntity extends StateColumns {
  /** The update's payments as canonical JSON {payer, payments: [{id, asset, amount}]}; null if none. */
  @Column({ type: 'text', name: 'payments', nullable: true })
  payments!: string | null;

  @ManyToOne(() => ChannelEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'channel_id', foreignKeyConstraintName: 'FK_perun_staged_state_channel' })
  channel?: Relation<ChannelEntity>;
}
