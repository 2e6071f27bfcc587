// ChannelStore on TypeORM: SQLite (better-sqlite3) or PostgreSQL, see datasource.ts for the schema
// policy (migrations), the durability pragmas (WAL + synchronous=FULL) and why SQLite access is
// serialized. Every public operation is one database transaction, so a resolved promise means a
// committed (and on SQLite fsynced) write; `transaction(fn)` groups several into one commit.
//
// Rows (entities/): perun_channel (params, our index, parent, phase), perun_channel_peer (one row
// per participant, indexed by peer), perun_signed_state and perun_staged_state (at most one row per
// channel each), perun_watcher_cursor. States are canonical JSON with bigints as decimal strings
// (codec.ts); the version is also a column so the version rule needs no JSON parsing of the
// stored state. The rules themselves are shared with the in-memory store (rules.ts).

import 'reflect-metadata';

import { In, type DataSource, type EntityManager } from 'typeorm';

import type {
  ChannelFilter,
  ChannelPhase,
  ChannelRecord,
  NewChannelRecord,
  OwnSignedState,
  SignedState,
  StagedState,
} from '../store.js';
import type { Hex } from '../types.js';
import { exclusive, isSingleConnection, openDataSource, type OpenDataSourceOptions } from './datasource.js';
import { ChannelEntity } from './entities/channel.entity.js';
import { ChannelPeerEntity } from './entities/channel-peer.entity.js';
import { SignedStateEntity } from './entities/signed-state.entity.js';
import { StagedStateEntity } from './entities/staged-state.entity.js';
import { WatcherCursorEntity } from './entities/watcher-cursor.entity.js';
import { ChannelExistsError, ChannelNotStoredError, CorruptRecordError } from './errors.js';
import {
  checkBlock,
  checkId,
  checkPhase,
  checkSignedVersion,
  checkStagedVersion,
  cursorKey,
  newChannelRow,
  raisedUsed,
  participantCountOf,
  signedRow,
  stagedObsoleteBy,
  stagedRow,
  toRecord,
  type ChannelRow,
  type StateRow,
} from './rules.js';
import { ChannelStoreBase, type ListingTx } from './store-base.js';

/** IDs per `IN (...)` query, well below every driver's bound-parameter limit. */
const CHUNK = 500;

function stateRowOf(e: SignedStateEntity | StagedStateEntity | null): StateRow | null {
  if (e === null) return null;
  if (typeof e.version !== 'bigint') {
    throw new CorruptRecordError('stored state has no valid version', { channelId: e.channelId });
  }
  return { version: e.version, stateJson: e.state, sigsJson: e.sigs };
}

function channelRowOf(e: ChannelEntity, peers: ChannelPeerEntity[]): ChannelRow {
  const ordered = [...peers].sort((a, b) => a.idx - b.idx);
  if (ordered.some((p, i) => p.idx !== i)) {
    throw new CorruptRecordError('stored peers of the channel are not indexed 0..n-1', { channelId: e.id });
  }
  return {
    id: e.id,
    paramsJson: e.params,
    participantCount: participantCountOf(e.params),
    ourIndex: e.ourIndex,
    peersJson: JSON.stringify(ordered.map((p) => p.peerId)),
    parentId: e.parentId,
    phase: e.phase,
    usedVersion: e.usedVersion,
    usedStateJson: e.usedState,
    updatedAt: e.updatedAt,
  };
}

class TypeOrmTx implements ListingTx {
  constructor(
    private readonly m: EntityManager,
    /** PostgreSQL: lock the channel row (SELECT ... FOR UPDATE) before a read-check-write. */
    private readonly rowLocks: boolean,
  ) {}

  private async channelRow(id: Hex): Promise<ChannelEntity> {
    checkId(id);
    const row = await this.m.findOne(ChannelEntity, {
      where: { id },
      ...(this.rowLocks ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!row) throw new ChannelNotStoredError(`no stored channel ${id}`, { channelId: id });
    return row;
  }

  private touch(id: Hex): Promise<unknown> {
    return this.m.update(ChannelEntity, { id }, { updatedAt: Date.now() });
  }

  async createChannel(channel: NewChannelRecord): Promise<void> {
    const row = newChannelRow(channel, Date.now());
    if (await this.m.exists(ChannelEntity, { where: { id: row.id } })) {
      throw new ChannelExistsError(`channel ${row.id} is already stored`, { channelId: row.id });
    }
    await this.m.insert(ChannelEntity, {
      id: row.id,
      params: row.paramsJson,
      ourIndex: row.ourIndex,
      parentId: row.parentId,
      phase: row.phase,
      updatedAt: row.updatedAt,
    });
    await this.m.insert(
      ChannelPeerEntity,
      channel.peers.map((peerId, idx) => ({ channelId: row.id, idx, peerId })),
    );
  }

  async getChannel(id: Hex): Promise<ChannelRecord | null> {
    checkId(id);
    const [record] = await this.load([id]);
    return record ?? null;
  }

  /** Loads full records for `ids`, or for every channel when `ids` is null. */
  async load(ids: Hex[] | null): Promise<ChannelRecord[]> {
    const chunks: (Hex[] | null)[] = ids === null ? [null] : [];
    for (let i = 0; ids !== null && i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
    const records: ChannelRecord[] = [];
    for (const chunk of chunks) {
      const where = chunk === null ? {} : { channelId: In(chunk) };
      const [channels, peers, signed, staged] = await Promise.all([
        this.m.find(ChannelEntity, { where: chunk === null ? {} : { id: In(chunk) } }),
        this.m.find(ChannelPeerEntity, { where }),
        this.m.find(SignedStateEntity, { where }),
        this.m.find(StagedStateEntity, { where }),
      ]);
      const peersOf = new Map<string, ChannelPeerEntity[]>();
      for (const p of peers) peersOf.set(p.channelId, [...(peersOf.get(p.channelId) ?? []), p]);
      const signedOf = new Map(signed.map((s) => [s.channelId, s]));
      const stagedOf = new Map(staged.map((s) => [s.channelId, s]));
      for (const c of channels) {
        records.push(
          toRecord(
            channelRowOf(c, peersOf.get(c.id) ?? []),
            stateRowOf(signedOf.get(c.id) ?? null),
            stateRowOf(stagedOf.get(c.id) ?? null),
          ),
        );
      }
    }
    return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async list(filter: ChannelFilter): Promise<ChannelRecord[]> {
    if (filter.peer === undefined) return this.load(null);
    const rows = await this.m.find(ChannelPeerEntity, { where: { peerId: filter.peer } });
    const ids = [...new Set(rows.map((r) => r.channelId))];
    return ids.length === 0 ? [] : this.load(ids);
  }

  async setPhase(id: Hex, phase: ChannelPhase): Promise<void> {
    checkId(id);
    checkPhase(phase);
    const result = await this.m.update(ChannelEntity, { id }, { phase, updatedAt: Date.now() });
    if (!result.affected) throw new ChannelNotStoredError(`no stored channel ${id}`, { channelId: id });
  }

  async saveSignedState(id: Hex, signed: SignedState): Promise<void> {
    const channel = await this.channelRow(id);
    const row = signedRow(id, participantCountOf(channel.params), signed);
    const [current, staged] = await Promise.all([
      this.m.findOne(SignedStateEntity, { where: { channelId: id } }),
      this.m.findOne(StagedStateEntity, { where: { channelId: id } }),
    ]);
    checkSignedVersion(id, stateRowOf(current), row);
    await this.m.upsert(
      SignedStateEntity,
      { channelId: id, version: row.version, state: row.stateJson, sigs: row.sigsJson },
      ['channelId'],
    );
    if (stagedObsoleteBy(stateRowOf(staged), row)) await this.m.delete(StagedStateEntity, { channelId: id });
    await this.touch(id);
  }

  async saveStagedState(id: Hex, staged: StagedState | null): Promise<void> {
    const channel = await this.channelRow(id);
    if (staged === null) {
      await this.m.delete(StagedStateEntity, { channelId: id });
    } else {
      const row = stagedRow(id, participantCountOf(channel.params), staged);
      const current = await this.m.findOne(SignedStateEntity, { where: { channelId: id } });
      checkStagedVersion(id, stateRowOf(current), row);
      await this.m.upsert(
        StagedStateEntity,
        { channelId: id, version: row.version, state: row.stateJson, sigs: row.sigsJson },
        ['channelId'],
      );
    }
    await this.touch(id);
  }

  async setUsedVersion(id: Hex, version: bigint, state?: OwnSignedState): Promise<void> {
    const channel = await this.channelRow(id);
    const used = raisedUsed(
      { id, usedVersion: channel.usedVersion, usedStateJson: channel.usedState },
      version,
      state,
    );
    await this.m.update(
      ChannelEntity,
      { id },
      { usedVersion: used.usedVersion, usedState: used.usedStateJson, updatedAt: Date.now() },
    );
  }

  async deleteChannel(id: Hex): Promise<boolean> {
    checkId(id);
    // Children first: correct even where foreign keys are not enforced.
    await this.m.delete(WatcherCursorEntity, { key: cursorKey(id) });
    await this.m.delete(StagedStateEntity, { channelId: id });
    await this.m.delete(SignedStateEntity, { channelId: id });
    await this.m.delete(ChannelPeerEntity, { channelId: id });
    const result = await this.m.delete(ChannelEntity, { id });
    return (result.affected ?? 0) > 0;
  }

  async getCursor(channelId?: Hex): Promise<bigint | null> {
    const row = await this.m.findOne(WatcherCursorEntity, { where: { key: cursorKey(channelId) } });
    return row === null ? null : row.block;
  }

  async setCursor(block: bigint, channelId?: Hex): Promise<void> {
    checkBlock(block);
    const key = cursorKey(channelId);
    if (channelId !== undefined) await this.channelRow(channelId);
    await this.m.upsert(WatcherCursorEntity, { key, block, updatedAt: Date.now() }, ['key']);
  }
}

export class TypeOrmChannelStore extends ChannelStoreBase<TypeOrmTx> {
  /**
   * Wraps an initialized DataSource that includes the channel entities and migrations (see
   * openDataSource). With `ownsDataSource`, close() destroys it.
   */
  constructor(
    readonly dataSource: DataSource,
    private readonly options: { ownsDataSource?: boolean } = {},
  ) {
    super();
  }

  /** Opens a DataSource for `url` (see OpenDataSourceOptions) and a store that owns it. */
  static async open(options: OpenDataSourceOptions | string): Promise<TypeOrmChannelStore> {
    const ds = await openDataSource(typeof options === 'string' ? { url: options } : options);
    return new TypeOrmChannelStore(ds, { ownsDataSource: true });
  }

  protected atomic<T>(fn: (tx: TypeOrmTx) => Promise<T>): Promise<T> {
    const ds = this.dataSource;
    const rowLocks = !isSingleConnection(ds);
    return exclusive(ds, () => ds.transaction((manager) => fn(new TypeOrmTx(manager, rowLocks))));
  }

  protected override isClosed(): boolean {
    return super.isClosed() || !this.dataSource.isInitialized;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.ownsDataSource && this.dataSource.isInitialized) {
      await exclusive(this.dataSource, () => this.dataSource.destroy());
    }
  }
}
