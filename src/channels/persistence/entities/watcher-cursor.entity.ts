// Table perun_watcher_cursor: the last block the watcher fully processed, globally (key '*'), per
// chain (key 'chain:<chain ID>', agents watching several chains) or per channel (key = channel
// ID), so it resumes from there after downtime instead of a fixed
// lookback. No foreign key: the global row belongs to no channel; the store deletes a channel's
// row together with the channel.

import 'reflect-metadata';
import { Column, Entity, PrimaryColumn } from 'typeorm';

import { decimalColumn, timestampColumn } from './columns.js';

@Entity({ name: 'perun_watcher_cursor' })
export class WatcherCursorEntity {
  @PrimaryColumn({ type: 'varchar', name: 'key' })
  key!: string;

  @Column(decimalColumn('block'))
  block!: bigint;

  @Column(timestampColumn('updated_at'))
  updatedAt!: number;
}
