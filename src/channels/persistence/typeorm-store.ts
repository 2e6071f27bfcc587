// ChannelStore on TypeORM: SQLite (better-sqlite3) or PostgreSQL, see datasource.ts for the schema
// policy (migrations), the durability pragmas (WAL + synchronous=FULL) and why SQLite access is
// serialized. Every public operation is one database transaction, so a resolved promise means a
// committed (and on SQLite fsynced) write; `transaction(fn)` groups several into one commit.
//
// Rows (entities/): perun_channel (params, our index, parent, phase), perun_channel_peer (one row
// per participant, indexed by peer), perun_signed_state and perun_staged_state (at most one row per
// channel each, the staged one with its update's payments), perun_watcher_cursor, perun_payment
// (the payment log). States are canonical JSON with bigints as decimal strings (codec.ts); the
// version is also a column so the version rule needs no JSON parsing of the stored state. The
// rules themselves are shared with the in-memory store (rules.ts, payment-rules.ts).
//
// The writes of an update (staged state, signed state and its payments, used-up version, phase)
// bypass TypeORM's query building: they are statements prepared once (update-writes.ts,
// update-statements.ts), and on SQLite the store runs its transactions itself, those waiting for
// the connection together as one group commit (group-commit.ts). TypeORM runs
// everything else (creating, reading, listing and deleting channels, cursors, the payment list)
// and the migrations.

import 'reflect-metadata';

import { LessThan, type DataSource, type EntityManager } from 'typeorm';

import type {
  ChannelFilter,
  ChannelPhase,
  ChannelRecord,
  NewChannelRecord,
  OwnSignedState,
  PaymentFilter,
  SignedState,
  StagedState,
  StoredPayment,
  LoggedPayments,
} from '../store.js';
import type { Hex } from '../types.js';
import { bigFromColumn } from './codec.js';
import { exclusive, openDataSource, type OpenDataSourceOptions } from './datasource.js';
import { ChannelEntity } from './entities/channel.entity.js';
import { ChannelPeerEntity } from './entities/channel-peer.entity.js';
import { paymentLogEntityIn } from './entities/payment.entity.js';
import { SignedStateEntity } from './entities/signed-state.entity.js';
import { StagedStateEntity } from './entities/staged-state.entity.js';
import { WatcherCursorEntity } from './entities/watcher-cursor.entity.js';
import { ChannelExistsError, ChannelNotStoredError, CorruptRecordError, StoreUsageError } from './errors.js';
import { checkPaymentFilter, storedPayment } from './payment-rules.js';
import {
  chainCursorKey,
  checkBlock,
  checkId,
  cursorKey,
  newChannelRow,
  participantCountOf,
  toRecord,
  type ChannelRow,
  type StateRow,
} from './rules.js';
import { ChannelStoreBase, type ListingTx } from './store-base.js';
import { sqliteGroupCommit, sqliteUpdatesOf } from './sqlite-group.js';
import { PgUpdates, SqliteUpdates } from './update-statements.js';
import { phaseOp, signedStateOp, stagedStateOp, usedVersionOp, type UpdateRunner } from './update-writes.js';

/** IDs per `IN (...)` query, well below every driver's bound-parameter limit. */
const CHUNK = 500;

/** A channel with its signed and staged state, as one row of the listing's join (raw column values). */
interface JoinedRow {
  id: string;
  params: string;
  our_index: number;
  parent_id: string | null;
  phase: string;
  used_version: string | null;
  used_state: string | null;
  /** SQLite returns a number, PostgreSQL a decimal string. */
  updated_at: number | string;
  s_version: string | null;
  s_state: string | null;
  s_sigs: string | null;
  g_version: string | null;
  g_state: string | null;
  g_sigs: string | null;
  g_payments: string | null;
}

interface PeerRow {
  channel_id: string;
  idx: number;
  peer_id: string;
}

const JOINED: Array<[string, keyof JoinedRow]> = [
  ['c.id', 'id'],
  ['c.params', 'params'],
  ['c.our_index', 'our_index'],
  ['c.parent_id', 'parent_id'],
  ['c.phase', 'phase'],
  ['c.used_version', 'used_version'],
  ['c.used_state', 'used_state'],
  ['c.updated_at', 'updated_at'],
  ['s.version', 's_version'],
  ['s.state', 's_state'],
  ['s.sigs', 's_sigs'],
  ['g.version', 'g_version'],
  ['g.state', 'g_state'],
  ['g.sigs', 'g_sigs'],
  ['g.payments', 'g_payments'],
];

function stateRowOf(
  channelId: string,
  version: string | null,
  stateJson: string | null,
  sigsJson: string | null,
  paymentsJson: string | null,
): StateRow | null {
  if (stateJson === null) return null;
  if (version === null || sigsJson === null) {
    throw new CorruptRecordError('stored state has no valid version', { channelId });
  }
  return { version: bigFromColumn(version, 'decimal column'), stateJson, sigsJson, paymentsJson };
}

function channelRowOf(r: JoinedRow, peers: PeerRow[]): ChannelRow {
  const ordered = [...peers].sort((a, b) => a.idx - b.idx);
  if (ordered.some((p, i) => Number(p.idx) !== i)) {
    throw new CorruptRecordError('stored peers of the channel are not indexed 0..n-1', { channelId: r.id });
  }
  return {
    id: r.id,
    paramsJson: r.params,
    participantCount: participantCountOf(r.params),
    ourIndex: Number(r.our_index),
    peersJson: JSON.stringify(ordered.map((p) => p.peer_id)),
    parentId: r.parent_id,
    phase: r.phase,
    usedVersion: r.used_version === null ? null : bigFromColumn(r.used_version, 'decimal column'),
    usedStateJson: r.used_state,
    updatedAt: Number(r.updated_at),
  };
}

class TypeOrmTx implements ListingTx {
  constructor(
    private readonly m: EntityManager,
    /** The update writes (staged and signed states, payments, used-up version, phase). */
    private readonly updates: UpdateRunner,
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

  async createChannel(channel: NewChannelRecord): Promise<void> {
    const row = newChannelRow(channel, Date.now());
    // SQLite: statements prepared once (TypeORM writes the time into its INSERT's text, so it would
    // prepare a new statement for every channel).
    if (this.updates instanceof SqliteUpdates) {
      if (!this.updates.insertChannel(row, channel.peers))
        throw new ChannelExistsError(`channel ${row.id} is already stored`, { channelId: row.id });
      return;
    }
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

  /**
   * Loads full records for `ids`, or for every channel when `ids` is null: per chunk one query for
   * the channels joined with their states and one for their peers, read as raw rows (no entities).
   */
  async load(ids: Hex[] | null): Promise<ChannelRecord[]> {
    const chunks: (Hex[] | null)[] = ids === null ? [null] : [];
    for (let i = 0; ids !== null && i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
    const records: ChannelRecord[] = [];
    for (const chunk of chunks) {
      const channels = this.m
        .createQueryBuilder(ChannelEntity, 'c')
        .leftJoin(SignedStateEntity, 's', 's.channel_id = c.id')
        .leftJoin(StagedStateEntity, 'g', 'g.channel_id = c.id')
        .select(JOINED[0]![0], JOINED[0]![1]);
      for (const [column, as] of JOINED.slice(1)) channels.addSelect(column, as);
      const peers = this.m
        .createQueryBuilder(ChannelPeerEntity, 'p')
        .select('p.channel_id', 'channel_id')
        .addSelect('p.idx', 'idx')
        .addSelect('p.peer_id', 'peer_id');
      if (chunk !== null) {
        channels.where('c.id IN (:...ids)', { ids: chunk });
        peers.where('p.channel_id IN (:...ids)', { ids: chunk });
      }
      const [rows, peerRows] = await Promise.all([
        channels.getRawMany<JoinedRow>(),
        peers.getRawMany<PeerRow>(),
      ]);
      const peersOf = new Map<string, PeerRow[]>();
      for (const p of peerRows) {
        const list = peersOf.get(p.channel_id);
        if (list === undefined) peersOf.set(p.channel_id, [p]);
        else list.push(p);
      }
      for (const r of rows) {
        records.push(
          toRecord(
            channelRowOf(r, peersOf.get(r.id) ?? []),
            stateRowOf(r.id, r.s_version, r.s_state, r.s_sigs, null),
            stateRowOf(r.id, r.g_version, r.g_state, r.g_sigs, r.g_payments),
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

  setPhase(id: Hex, phase: ChannelPhase): Promise<void> {
    return this.updates.apply(phaseOp(id, phase, Date.now()));
  }

  saveSignedState(id: Hex, signed: SignedState, payments?: LoggedPayments): Promise<void> {
    return this.updates.apply(signedStateOp(id, signed, payments, Date.now()));
  }

  saveStagedState(id: Hex, staged: StagedState | null): Promise<void> {
    return this.updates.apply(stagedStateOp(id, staged, Date.now()));
  }

  setUsedVersion(id: Hex, version: bigint, state?: OwnSignedState): Promise<void> {
    return this.updates.apply(usedVersionOp(id, version, state, Date.now()));
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

  getCursor(channelId?: Hex): Promise<bigint | null> {
    return this.readCursor(cursorKey(channelId));
  }

  async setCursor(block: bigint, channelId?: Hex): Promise<void> {
    checkBlock(block);
    const key = cursorKey(channelId);
    if (channelId !== undefined) await this.channelRow(channelId);
    await this.writeCursor(key, block);
  }

  getChainCursor(chainId: bigint): Promise<bigint | null> {
    return this.readCursor(chainCursorKey(chainId));
  }

  async setChainCursor(block: bigint, chainId: bigint): Promise<void> {
    checkBlock(block);
    await this.writeCursor(chainCursorKey(chainId), block);
  }

  private async readCursor(key: string): Promise<bigint | null> {
    const row = await this.m.findOne(WatcherCursorEntity, { where: { key } });
    return row === null ? null : row.block;
  }

  private async writeCursor(key: string, block: bigint): Promise<void> {
    await this.m.upsert(WatcherCursorEntity, { key, block, updatedAt: Date.now() }, ['key']);
  }

  async listPayments(filter: PaymentFilter = {}): Promise<StoredPayment[]> {
    checkPaymentFilter(filter);
    const rows = await this.m.find(paymentLogEntityIn(this.m.connection), {
      where: {
        ...(filter.channelId === undefined ? {} : { channelId: filter.channelId }),
        ...(filter.beforeSeq === undefined ? {} : { seq: LessThan(filter.beforeSeq) }),
      },
      order: { seq: 'DESC' },
      ...(filter.limit === undefined ? {} : { take: filter.limit }),
    });
    return rows.map((r) =>
      storedPayment(r.seq, {
        channelId: r.channelId,
        version: r.version,
        payer: r.payer,
        paymentId: r.paymentId,
        asset: r.asset,
        amount: r.amount,
        balancesJson: r.balances,
        at: r.at,
      }),
    );
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
    const type = dataSource.options.type;
    if (type !== 'better-sqlite3' && type !== 'postgres') {
      throw new StoreUsageError(`the channel store runs on better-sqlite3 or postgres, not ${type}`);
    }
  }

  /** Opens a DataSource for `url` (see OpenDataSourceOptions) and a store that owns it. */
  static async open(options: OpenDataSourceOptions | string): Promise<TypeOrmChannelStore> {
    const ds = await openDataSource(typeof options === 'string' ? { url: options } : options);
    return new TypeOrmChannelStore(ds, { ownsDataSource: true });
  }

  protected atomic<T>(fn: (tx: TypeOrmTx) => Promise<T>): Promise<T> {
    const ds = this.dataSource;
    if (ds.options.type === 'postgres') {
      return ds.transaction(async (m) => fn(new TypeOrmTx(m, await PgUpdates.of(m.queryRunner!), true)));
    }
    // SQLite: transactions waiting for the connection together (this store's and other stores' on
    // the DataSource) are committed together.
    return sqliteGroupCommit(ds).run(() => fn(new TypeOrmTx(ds.manager, sqliteUpdatesOf(ds), false)));
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
