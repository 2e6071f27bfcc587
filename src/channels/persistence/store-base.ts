// The ChannelStore surface both stores share: the guard (closed store, a call from inside the
// store's own transaction) and the facade that runs every single operation as one transaction.
// A store supplies `atomic`, its way of running one transaction, and its transaction object.

import { AsyncLocalStorage } from 'node:async_hooks';

import type {
  ChannelFilter,
  ChannelPhase,
  ChannelRecord,
  ChannelStore,
  ChannelStoreTx,
  NewChannelRecord,
  OwnSignedState,
  PaymentFilter,
  SignedState,
  StagedState,
  StoredPayment,
  LoggedPayments,
} from '../store.js';
import type { Hex } from '../types.js';
import { StoreUsageError } from './errors.js';

/** A store's transaction object: the ChannelStoreTx operations plus listing. */
export interface ListingTx extends ChannelStoreTx {
  list(filter: ChannelFilter): Promise<ChannelRecord[]>;
}

export abstract class ChannelStoreBase<Tx extends ListingTx> implements ChannelStore {
  private readonly inTransaction = new AsyncLocalStorage<true>();
  /** Callers' transaction functions running now (inCallersFn). */
  private callersFns = 0;
  protected closed = false;

  /**
   * Runs `fn` as one transaction, serialized with the store's other transactions: its writes
   * take effect together when it resolves, none of them when it throws.
   */
  protected abstract atomic<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;

  abstract close(): Promise<void>;

  /** Whether the store can no longer be used. */
  protected isClosed(): boolean {
    return this.closed;
  }

  async transaction<T>(fn: (tx: ChannelStoreTx) => Promise<T>): Promise<T> {
    this.guard();
    return this.atomic((tx) => this.inCallersFn(() => fn(tx)));
  }

  /** A single operation: its function is the store's own, which never calls the store. */
  private async one<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.guard();
    return this.atomic(fn);
  }

  /**
   * Runs a caller's transaction function where the guard sees it. The context is switched on only
   * while such a function runs: an AsyncLocalStorage that is on hooks every promise the process
   * makes (Node 20), which costs the whole update path, both clients' and everything else's.
   */
  private async inCallersFn<T>(fn: () => Promise<T>): Promise<T> {
    this.callersFns++;
    try {
      return await this.inTransaction.run(true, fn);
    } finally {
      if (--this.callersFns === 0) this.inTransaction.disable();
    }
  }

  private guard(): void {
    if (this.isClosed()) throw new StoreUsageError('the channel store is closed');
    if (this.inTransaction.getStore()) {
      throw new StoreUsageError(
        'the channel store was called from inside its own transaction; use the tx argument',
      );
    }
  }

  createChannel(channel: NewChannelRecord): Promise<void> {
    return this.one((tx) => tx.createChannel(channel));
  }
  getChannel(id: Hex): Promise<ChannelRecord | null> {
    return this.one((tx) => tx.getChannel(id));
  }
  setPhase(id: Hex, phase: ChannelPhase): Promise<void> {
    return this.one((tx) => tx.setPhase(id, phase));
  }
  saveSignedState(id: Hex, signed: SignedState, payments?: LoggedPayments): Promise<void> {
    return this.one((tx) => tx.saveSignedState(id, signed, payments));
  }
  saveStagedState(id: Hex, staged: StagedState | null): Promise<void> {
    return this.one((tx) => tx.saveStagedState(id, staged));
  }
  setUsedVersion(id: Hex, version: bigint, state?: OwnSignedState): Promise<void> {
    return this.one((tx) => tx.setUsedVersion(id, version, state));
  }
  deleteChannel(id: Hex): Promise<boolean> {
    return this.one((tx) => tx.deleteChannel(id));
  }
  getCursor(channelId?: Hex): Promise<bigint | null> {
    return this.one((tx) => tx.getCursor(channelId));
  }
  setCursor(block: bigint, channelId?: Hex): Promise<void> {
    return this.one((tx) => tx.setCursor(block, channelId));
  }
  getChainCursor(chainId: bigint): Promise<bigint | null> {
    return this.one((tx) => tx.getChainCursor(chainId));
  }
  setChainCursor(block: bigint, chainId: bigint): Promise<void> {
    return this.one((tx) => tx.setChainCursor(block, chainId));
  }
  listChannels(filter: ChannelFilter = {}): Promise<ChannelRecord[]> {
    return this.one((tx) => tx.list(filter));
  }
  listPayments(filter: PaymentFilter = {}): Promise<StoredPayment[]> {
    return this.one((tx) => tx.listPayments(filter));
  }
}
