// The columns perun_signed_state and perun_staged_state share: one state of a channel, keyed by
// the channel. Not an entity itself: each table declares its own foreign key to perun_channel.

import 'reflect-metadata';
import { Column, PrimaryColumn } from 'typeorm';

import { decimalColumn } from './columns.js';

export abstract class StateColumns {
  @PrimaryColumn({ type: 'varchar', name: 'channel_id' })
  channelId!: string;

  /** state.version as decimal text (also inside the JSON; kept here for the version rule). */
  @Column(decimalColumn('version'))
  version!: bigint;

  /** Canonical JSON of State (bigints as decimal strings). */
  @Column({ type: 'text', name: 'state' })
  state!: string;

  /** JSON array, one slot per participant: a hex signature (in a staged state, null while missing). */
  @Column({ type: 'text', name: 'sigs' })
  sigs!: string;
}
