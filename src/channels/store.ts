// ChannelStore: where the channel core keeps what it must not forget. Chain- and ORM-agnostic, in
// the spirit of go-perun's Persister/Restorer (channel/persistence): one record per channel holding
// its params, our participant index, the wire identity of every participant, the machine phase,
// the latest fully signed state with every signature (`current`), and the staged state that is
// still collecting signatures (`staged`), and the highest version of a state we signed and then
// dropped (`usedVersion`: we never sign a second state with it). The watcher's last processed block
// lives beside it.
//
// Contract (every implementation, checked by test/persistence/contract.ts):
// - A promise that resolves means the write is durable: the core persists every state it signs
//   and awaits the store before the signature leaves the process.
// - `current` versions never decrease: saving a fully signed state older than the stored one, or a
//   different state with the same version, is refused with StaleStateError and changes nothing.
// - `staged` is always newer than `current`: staging a version <= current.version is refused, and
//   saving a signed state drops a staged state that is not newer than it.
// - `usedVersion` never decreases: setting a lower one keeps the stored one (and its `usedState`).
// - `transaction(fn)` applies every write made through its `tx` argument, or none of them (use it to
//   change "staged state + phase" or "current + cleared staged + phase" together). Inside `fn` use
//   only `tx`; calling the store itself from inside its own transaction is an error.
// - Records are plain data and copies: mutating a returned record does not change the store, and
//   mutating an argument after the call does not change what was stored.
// - The store does not interpret phases or signatures (the machine and the backend do); it checks
//   only shapes: channel IDs match, one signature slot per participant, present signatures are hex,
//   payment IDs are 1-64 characters of [A-Za-z0-9._:-], payers and assets are indices into the state.
// - The payment log: saving a signed state with payments appends one row per payment in the same
//   write (all of them or none), refusing a payment ID the channel's log already holds
//   (PaymentExistsError). The log is append-only and outlives the channel record: deleteChannel
//   leaves it (it serves openings that never completed, which made no payments).

import type { Hex, Params, PaymentRecord, State } from './types.js';

export type { PaymentRecord };

/** The machine's phase name, stored verbatim (for example 'acting', 'signing', 'registered'). */
export type ChannelPhase = string;

/** A state with one signature per participant, in participant order. */
export interface SignedState {
  state: State;
  sigs: Hex[];
}

/** The payments one update makes, all by the same payer. */
export interface UpdatePayments {
  /** The proposer's participant index. */
  payer: number;
  payments: PaymentRecord[];
}

/**
 * Payments of an earlier update, logged together with a later signed state (a peer that was
 * behind learns, in a sync, the payments of the versions it skipped): the version they were
 * signed at and the balances of that state, [asset][participant].
 */
export interface EarlierPayments extends UpdatePayments {
  version: bigint;
  balances: bigint[][];
}

/** What a signed state logs: its own update's payments, or those of several updates up to it. */
export type LoggedPayments = UpdatePayments | EarlierPayments[];

/**
 * A state collecting signatures: `sigs[i]` is participant i's signature or null while missing.
 * It may carry the payments its update makes (the proposer's, persisted with it so a restart
 * knows them).
 */
export interface StagedState {
  state: State;
  sigs: (Hex | null)[];
  payments?: UpdatePayments;
}

/** A state signed by us alone (the state we signed at our used-up version). */
export interface OwnSignedState {
  state: State;
  sig: Hex;
}

/** What the core knows when a channel comes into being (go-perun's ChannelCreated event). */
export interface NewChannelRecord {
  /** Channel ID (on Ethereum keccak256(abi.encode(params))). */
  id: Hex;
  params: Params;
  /** Our participant index in params.participants. */
  ourIndex: number;
  /** Wire identity (for example a DID) of every participant, in participant order, ours included. */
  peers: string[];
  /** Parent ledger channel of a sub- or virtual channel; null for a ledger channel. */
  parentId?: Hex | null;
  phase: ChannelPhase;
}

export interface ChannelRecord {
  id: Hex;
  params: Params;
  ourIndex: number;
  peers: string[];
  parentId: Hex | null;
  phase: ChannelPhase;
  /** The latest state every participant signed; null before the initial state is fully signed. */
  current: SignedState | null;
  /** The state being signed (proposal, update, progression); null when nothing is in flight. */
  staged: StagedState | null;
  /** The highest version of a state we signed that was dropped without becoming current; null if none. */
  usedVersion: bigint | null;
  /** Our signed state at usedVersion, when the core recorded it; null otherwise. */
  usedState: OwnSignedState | null;
  /** Milliseconds since the epoch of the last write to this channel. */
  updatedAt: number;
}

/** A row of the payment log: one payment, at the version of the signed state that made it. */
export interface StoredPayment {
  /** Position in the log (all channels): later payments have higher numbers. */
  seq: bigint;
  channelId: Hex;
  /** The version of the signed state saved with the payment. */
  version: bigint;
  payer: number;
  id: string;
  asset: number;
  amount: bigint;
  /** The balances of `asset` in that signed state, in participant order. */
  balances: bigint[];
  /** Milliseconds since the epoch when the payment was logged. */
  at: number;
}

export interface PaymentFilter {
  /** Only this channel's payments. */
  channelId?: Hex;
  /** At most this many (a positive integer). */
  limit?: number;
  /** Only payments with a lower `seq` (the next page after the last one listed). */
  beforeSeq?: bigint;
}

export interface ChannelFilter {
  /** Only channels in which this wire identity is a participant. */
  peer?: string;
}

/** The operations available inside a transaction (and, one at a time, on the store itself). */
export interface ChannelStoreTx {
  /** Creates the record; ChannelExistsError if the ID is taken. */
  createChannel(channel: NewChannelRecord): Promise<void>;
  /** The record, or null when no channel has this ID. */
  getChannel(id: Hex): Promise<ChannelRecord | null>;
  /** ChannelNotStoredError if the channel is unknown (as for every write below). */
  setPhase(id: Hex, phase: ChannelPhase): Promise<void>;
  /**
   * Replaces `current`; StaleStateError if older than (or conflicting with) the stored one. With
   * `payments`, appends one log row per payment at signed.state.version, with the balances of its
   * asset in `signed` (or, for a list of EarlierPayments, at each entry's version, at most the
   * signed one, with its balances); PaymentExistsError (and nothing written) if the channel's log
   * holds an ID.
   */
  saveSignedState(id: Hex, signed: SignedState, payments?: LoggedPayments): Promise<void>;
  /** Replaces `staged`, or clears it with null; StaleStateError if not newer than `current`. */
  saveStagedState(id: Hex, staged: StagedState | null): Promise<void>;
  /**
   * Raises the channel's used-up version to `version`, recording `state` (ours, at that version)
   * with it; a lower version changes nothing.
   */
  setUsedVersion(id: Hex, version: bigint, state?: OwnSignedState): Promise<void>;
  /** Removes the channel, its states and its watcher cursor; false if there was nothing to remove. */
  deleteChannel(id: Hex): Promise<boolean>;
  /** The watcher's cursor (the next block it scans), for one channel or (no ID) globally; null if never set. */
  getCursor(channelId?: Hex): Promise<bigint | null>;
  setCursor(block: bigint, channelId?: Hex): Promise<void>;
  /** One chain's watcher cursor (agents watching several chains keep one per chain); null if never set. */
  getChainCursor(chainId: bigint): Promise<bigint | null>;
  setChainCursor(block: bigint, chainId: bigint): Promise<void>;
  /** Logged payments, newest first (highest `seq` first). */
  listPayments(filter?: PaymentFilter): Promise<StoredPayment[]>;
}

export interface ChannelStore extends ChannelStoreTx {
  /** Every stored channel (restore on start), optionally only those shared with one peer. */
  listChannels(filter?: ChannelFilter): Promise<ChannelRecord[]>;
  /** Runs `fn` atomically: all of its writes through `tx` become durable together, or none do. */
  transaction<T>(fn: (tx: ChannelStoreTx) => Promise<T>): Promise<T>;
  /** Releases what the store opened itself (a DataSource it was not handed). */
  close(): Promise<void>;
}
