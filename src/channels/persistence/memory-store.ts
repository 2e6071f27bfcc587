// In-memory ChannelStore for unit tests of the channel core. It keeps the same encoded rows as the
// database store (canonical JSON through the same codec and rules), so it enforces exactly the
// same contract: copies in and out, version rules, atomic transactions. Nothing survives the
// process, so it is not "durable"; use the TypeORM store (SQLite ':memory:' or a file) when a
// test needs the real schema.

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
import { ChannelExistsError, ChannelNotStoredError } from './errors.js';
import { Mutex } from './mutex.js';
import {
  chainCursorKey,
  checkBlock,
  checkId,
  checkPhase,
  checkSignedVersion,
  checkStagedVersion,
  cursorKey,
  newChannelRow,
  raisedUsed,
  signedRow,
  stagedObsoleteBy,
  stagedRow,
  toRecord,
  type ChannelRow,
  type StateRow,
} from './rules.js';
import { stringsFromJson } from './codec.js';
import { checkPaymentFilter, paymentLogRows, storedPayment, type PaymentRow } from './payment-rules.js';
import { ChannelStoreBase, type ListingTx } from './store-base.js';

interface Entry {
  channel: ChannelRow;
  current: StateRow | null;
  staged: StateRow | null;
}

interface LoggedPayment {
  seq: bigint;
  row: PaymentRow;
}

/** The committed payment log: append-only, so a transaction keeps its rows aside until it commits. */
class PaymentLog {
  readonly rows: LoggedPayment[] = [];
  private readonly ids = new Map<Hex, Set<string>>();

  has(channelId: Hex, paymentId: string): boolean {
    return this.ids.get(channelId)?.has(paymentId) ?? false;
  }

  append(rows: readonly LoggedPayment[]): void {
    for (const p of rows) {
      this.rows.push(p);
      const ids = this.ids.get(p.row.channelId) ?? new Set<string>();
      ids.add(p.row.paymentId);
      this.ids.set(p.row.channelId, ids);
    }
  }
}

/**
 * The whole store content; entries are replaced, never mutated, so a copy of the maps is a
 * snapshot. `appended` holds the payments logged since the snapshot was taken.
 */
interface Snapshot {
  channels: Map<Hex, Entry>;
  cursors: Map<string, bigint>;
  appended: LoggedPayment[];
}

class MemoryTx implements ListingTx {
  constructor(
    private readonly data: Snapshot,
    private readonly log: PaymentLog,
  ) {}

  private entry(id: Hex): Entry {
    checkId(id);
    const e = this.data.channels.get(id);
    if (!e) throw new ChannelNotStoredError(`no stored channel ${id}`, { channelId: id });
    return e;
  }

  async createChannel(channel: NewChannelRecord): Promise<void> {
    const row = newChannelRow(channel, Date.now());
    if (this.data.channels.has(row.id)) {
      throw new ChannelExistsError(`channel ${row.id} is already stored`, { channelId: row.id });
    }
    this.data.channels.set(row.id, { channel: row, current: null, staged: null });
  }

  async getChannel(id: Hex): Promise<ChannelRecord | null> {
    checkId(id);
    const e = this.data.channels.get(id);
    return e ? toRecord(e.channel, e.current, e.staged) : null;
  }

  async setPhase(id: Hex, phase: ChannelPhase): Promise<void> {
    checkPhase(phase);
    const e = this.entry(id);
    this.data.channels.set(id, { ...e, channel: { ...e.channel, phase, updatedAt: Date.now() } });
  }

  async saveSignedState(id: Hex, signed: SignedState, payments?: LoggedPayments): Promise<void> {
    const e = this.entry(id);
    const row = signedRow(id, e.channel.participantCount, signed);
    checkSignedVersion(id, e.current, row);
    const taken = (paymentId: string) =>
      this.log.has(id, paymentId) ||
      this.data.appended.some((p) => p.row.channelId === id && p.row.paymentId === paymentId);
    const logRows = paymentLogRows(id, e.channel.participantCount, signed, payments, taken, Date.now());
    for (const r of logRows) {
      this.data.appended.push({ seq: BigInt(this.log.rows.length + this.data.appended.length + 1), row: r });
    }
    this.data.channels.set(id, {
      channel: { ...e.channel, updatedAt: Date.now() },
      current: row,
      staged: stagedObsoleteBy(e.staged, row) ? null : e.staged,
    });
  }

  async saveStagedState(id: Hex, staged: StagedState | null): Promise<void> {
    const e = this.entry(id);
    let row: StateRow | null = null;
    if (staged !== null) {
      row = stagedRow(id, e.channel.participantCount, staged);
      checkStagedVersion(id, e.current, row);
    }
    this.data.channels.set(id, { ...e, channel: { ...e.channel, updatedAt: Date.now() }, staged: row });
  }

  async setUsedVersion(id: Hex, version: bigint, state?: OwnSignedState): Promise<void> {
    const e = this.entry(id);
    const used = raisedUsed(e.channel, version, state);
    this.data.channels.set(id, { ...e, channel: { ...e.channel, ...used, updatedAt: Date.now() } });
  }

  async deleteChannel(id: Hex): Promise<boolean> {
    checkId(id);
    this.data.cursors.delete(cursorKey(id));
    return this.data.channels.delete(id);
  }

  async getCursor(channelId?: Hex): Promise<bigint | null> {
    return this.data.cursors.get(cursorKey(channelId)) ?? null;
  }

  async setCursor(block: bigint, channelId?: Hex): Promise<void> {
    checkBlock(block);
    const key = cursorKey(channelId);
    if (channelId !== undefined) this.entry(channelId);
    this.data.cursors.set(key, block);
  }

  async getChainCursor(chainId: bigint): Promise<bigint | null> {
    return this.data.cursors.get(chainCursorKey(chainId)) ?? null;
  }

  async setChainCursor(block: bigint, chainId: bigint): Promise<void> {
    checkBlock(block);
    this.data.cursors.set(chainCursorKey(chainId), block);
  }

  async list(filter: ChannelFilter): Promise<ChannelRecord[]> {
    const out: ChannelRecord[] = [];
    for (const e of this.data.channels.values()) {
      if (filter.peer !== undefined && !stringsFromJson(e.channel.peersJson, 'peers').includes(filter.peer))
        continue;
      out.push(toRecord(e.channel, e.current, e.staged));
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async listPayments(filter: PaymentFilter = {}): Promise<StoredPayment[]> {
    checkPaymentFilter(filter);
    const out: StoredPayment[] = [];
    const all = [...this.log.rows, ...this.data.appended];
    for (let i = all.length - 1; i >= 0 && out.length < (filter.limit ?? Infinity); i--) {
      const p = all[i]!;
      if (filter.channelId !== undefined && p.row.channelId !== filter.channelId) continue;
      if (filter.beforeSeq !== undefined && p.seq >= filter.beforeSeq) continue;
      out.push(storedPayment(p.seq, p.row));
    }
    return out;
  }
}

export class MemoryChannelStore extends ChannelStoreBase<MemoryTx> {
  private data: Snapshot = { channels: new Map(), cursors: new Map(), appended: [] };
  private readonly log = new PaymentLog();
  private readonly mutex = new Mutex();

  protected atomic<T>(fn: (tx: MemoryTx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const working: Snapshot = {
        channels: new Map(this.data.channels),
        cursors: new Map(this.data.cursors),
        appended: [],
      };
      const result = await fn(new MemoryTx(working, this.log));
      // Commit: all writes of fn at once; a throw above leaves `data` and the log untouched.
      this.log.append(working.appended);
      this.data = { ...working, appended: [] };
      return result;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
