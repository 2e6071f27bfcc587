// Table perun_channel: one row per channel with its params, our index, parent and phase.
// The phase is a column here (not its own table) so "phase + staged state" change in one
// transaction touching as few rows as possible.

import 'reflect-metadata';
import { Column, Entity, PrimaryColumn } from 'typeorm';

import { decimalColumn, timestampColumn } from './columns.js';

@Entity({ name: 'perun_channel' })
export class ChannelEntity {
  @PrimaryColumn({ type: 'varchar', name: 'id' })
  id!: string;

  /** Canonical JSON of Params (bigints as decimal strings). */
  @Column({ type: 'text', name: 'params' })
  params!: string;

  @Column({ type: 'integer', name: 'our_index' })
  ourIndex!: number;

  /** Parent ledger channel of a sub- or virtual channel. */
  @Column({ type: 'varchar', name: 'parent_id', nullable: true })
  parentId!: string | null;

  @Column({ type: 'varchar', name: 'phase' })
  phase!: string;

  /** The highest version of a state we signed and dropped (never signed again); null if none. */
  @Column({ ...decimalColumn('used_version'), nullable: true })
  usedVersion!: bigint | null;

  /** Our signed state at used_version as JSON {state, sigs: [ours]}; null if not recorded. */
  @Column({ type: 'text', name: 'used_state', nullable: true })
  usedState!: string | null;

  @Column(timestampColumn('updated_at'))
  updatedAt!: number;
}
