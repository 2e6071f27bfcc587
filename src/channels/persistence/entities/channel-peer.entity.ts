// Table perun_channel_peer: the wire identity of each participant of a channel (ours included),
// indexed by peer so "every channel shared with this peer" (sync after a reconnect) is one lookup.

import 'reflect-metadata';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';

import { ChannelEntity } from './channel.entity.js';

@Entity({ name: 'perun_channel_peer' })
@Index('IDX_perun_channel_peer_peer_id', ['peerId'])
export class ChannelPeerEntity {
  @PrimaryColumn({ type: 'varchar', name: 'channel_id' })
  channelId!: string;

  /** Participant index in the channel's params. */
  @PrimaryColumn({ type: 'integer', name: 'idx' })
  idx!: number;

  @Column({ type: 'varchar', name: 'peer_id' })
  peerId!: string;

  @ManyToOne(() => ChannelEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'channel_id', foreignKeyConstraintName: 'FK_perun_channel_peer_channel' })
  channel?: Relation<ChannelEntity>;
}
