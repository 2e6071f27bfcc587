// The messages two channel clients exchange (docs/protocol.md §10), as plain TypeScript
// discriminated unions on `type`, their limits, and the channel each belongs to. Their JSON wire
// form (encoding, and the strict decoding of untrusted input) is ./message-codec.ts. Semantic
// checks (allocation validity, signatures, transitions) are the client's job (validation.ts,
// machine.ts).
import { fail } from './json.js';
import type {
  Address,
  Allocation,
  Hex,
  Params,
  PaymentRecord,
  Phase,
  State,
  VersionedPayment,
} from './types.js';

/** Longest peer ID (a DID) accepted in a proposal. */
export const MAX_PEER_ID_CHARS = 2048;
/** Longest rejection reason accepted. */
export const MAX_REASON_CHARS = 1024;
/** Most payments one update (or one sync, or one batch of syncs) carries. */
export const MAX_UPDATE_PAYMENTS = 1024;
/** Most channels one batch of syncs carries. */
export const MAX_SYNC_BATCH = 256;
/** Most JSON characters of channels a sender puts in one batch: well within a transport's 1 MiB. */
export const MAX_SYNC_BATCH_CHARS = 256 * 1024;

/** Proposes a two-party ledger channel; the proposer is participant 0. */
export interface LedgerChannelProposal {
  type: 'ledger-channel-proposal';
  /** Random 32 bytes naming this proposal; replies refer to it. */
  proposalID: Hex;
  challengeDuration: bigint;
  /** The proposer's random 32-byte share of the channel nonce. */
  nonceShare: Hex;
  /** Participant (signing) addresses, proposer first. */
  participants: Address[];
  /** Wire peer IDs of the participants, in the same order. */
  peers: string[];
  /** App contract address, the zero address for a payment channel. */
  app: Address;
  initData: Hex;
  /** Initial allocation (no locked funds). */
  initBals: Allocation;
  /** What each participant deposits, [asset][participant]; same totals as initBals. */
  fundingAgreement: bigint[][];
  /** Each participant's second-chain key (Participant.ccAddress, 32 bytes), on a channel of two backends (./cross/). */
  ccAddresses?: Hex[];
}

/** Accepts a proposal: the responder's nonce share and its signature on the version-0 state. */
export interface LedgerChannelProposalAccept {
  type: 'ledger-channel-accept';
  proposalID: Hex;
  nonceShare: Hex;
  sig: Hex;
}

export interface ChannelProposalReject {
  type: 'channel-proposal-reject';
  proposalID: Hex;
  reason: string;
}

/**
 * Proposes a sub-channel of the ledger channel `parentID` (docs/protocol.md §6.1): same
 * participants in the parent's order, funded by an update of the parent that locks `initBals`.
 */
export interface SubChannelProposal {
  type: 'sub-channel-proposal';
  proposalID: Hex;
  parentID: Hex;
  challengeDuration: bigint;
  nonceShare: Hex;
  app: Address;
  initData: Hex;
  /** Initial allocation in the parent's participant order (no locked funds). */
  initBals: Allocation;
}

/** Accepts a sub-channel proposal: the responder's nonce share and its signature on the version-0 state. */
export interface SubChannelProposalAccept {
  type: 'sub-channel-accept';
  proposalID: Hex;
  nonceShare: Hex;
  sig: Hex;
}

/**
 * Proposes a virtual channel between the sender and the receiver through an intermediary both
 * have a ledger channel with (docs/protocol.md §7.1): the proposer is participant 0; each
 * participant funds it by an update of its own ledger channel with the intermediary.
 */
export interface VirtualChannelProposal {
  type: 'virtual-channel-proposal';
  proposalID: Hex;
  challengeDuration: bigint;
  nonceShare: Hex;
  /** Participant (signing) addresses, proposer first. */
  participants: Address[];
  /** The intermediary's participant address (the other participant of both ledger channels). */
  intermediary: Address;
  /** Initial allocation (no locked funds). */
  initBals: Allocation;
}

export interface VirtualChannelProposalAccept {
  type: 'virtual-channel-accept';
  proposalID: Hex;
  nonceShare: Hex;
  sig: Hex;
}

/**
 * An update of a ledger channel with the intermediary that locks or releases a virtual channel,
 * with that channel's params and fully signed state (its initial state to lock it, its final
 * state to release it): the intermediary checks the update against them.
 */
export interface VirtualChannelUpdate {
  type: 'virtual-channel-update';
  state: State;
  actorIdx: number;
  sig: Hex;
  virtual: { params: Params; state: State; sigs: Hex[] };
}

/**
 * Proposes the next state, signed by the actor. `payments`, when present, are what the update
 * does: the actor pays each to the other participant, and together they are exactly the change of
 * the balances (the receiver checks it); their IDs name them in both histories.
 */
export interface ChannelUpdate {
  type: 'channel-update';
  state: State;
  actorIdx: number;
  sig: Hex;
  payments?: PaymentRecord[];
}

/** Accepts the update of `version` (or, for version 0, completes the opening) with the sender's signature. */
export interface ChannelUpdateAccept {
  type: 'channel-update-accept';
  channelID: Hex;
  version: bigint;
  sig: Hex;
}

export interface ChannelUpdateReject {
  type: 'channel-update-reject';
  channelID: Hex;
  version: bigint;
  reason: string;
  /** Machine-readable reason (a validation error code), when there is one. */
  code?: string;
  /** With VERSION_USED: the lowest version the refusing participant signs (its used-up version + 1). */
  minVersion?: bigint;
}

/**
 * The sender's latest fully signed state of a channel and its phase (after a restart/reconnect).
 * Answering a peer that is behind, it may carry the payments of the versions the peer missed
 * (`payments`, oldest first), so both histories name them at their versions.
 */
export interface SyncedChannel {
  phase: Phase;
  state: State;
  sigs: Hex[];
  payments?: VersionedPayment[];
}

/** One channel's sync (what a peer that knows no batch sends and is answered with). */
export interface ChannelSync extends SyncedChannel {
  type: 'channel-sync';
}

/**
 * The syncs of many channels shared with the receiver, each handled as its own `channel-sync`:
 * at most MAX_SYNC_BATCH channels, each once, and MAX_UPDATE_PAYMENTS payments in all. A batch
 * that answers one names in `synced` the channels of the answered batch its sender compared with
 * its own (at most MAX_SYNC_BATCH); `channels` then holds those where the sender's state is newer,
 * and may be empty.
 */
export interface ChannelSyncBatch {
  type: 'channel-sync-batch';
  channels: SyncedChannel[];
  synced?: Hex[];
}

export type ChannelMessage =
  | LedgerChannelProposal
  | LedgerChannelProposalAccept
  | ChannelProposalReject
  | SubChannelProposal
  | SubChannelProposalAccept
  | VirtualChannelProposal
  | VirtualChannelProposalAccept
  | VirtualChannelUpdate
  | ChannelUpdate
  | ChannelUpdateAccept
  | ChannelUpdateReject
  | ChannelSync
  | ChannelSyncBatch;

export type ChannelMessageType = ChannelMessage['type'];

/** The channel a message belongs to; undefined for proposal messages (they have none yet) and batches. */
export function channelOf(msg: ChannelMessage): Hex | undefined {
  switch (msg.type) {
    case 'channel-update':
    case 'virtual-channel-update':
    case 'channel-sync':
      return msg.state.channelID;
    case 'channel-update-accept':
    case 'channel-update-reject':
      return msg.channelID;
    case 'ledger-channel-proposal':
    case 'ledger-channel-accept':
    case 'sub-channel-proposal':
    case 'sub-channel-accept':
    case 'virtual-channel-proposal':
    case 'virtual-channel-accept':
    case 'channel-proposal-reject':
    case 'channel-sync-batch':
      return undefined;
  }
}

/**
 * MalformedMessageError unless `m` keeps a batch's limits: at most MAX_SYNC_BATCH channels and
 * synced IDs, each channel once in either list, MAX_UPDATE_PAYMENTS payments in all, not empty.
 * The decoder checks it; a receiver checks it again on what reached it without the decoder.
 */
export function checkSyncBatch(m: ChannelSyncBatch, p = 'message'): void {
  const unique = (ids: readonly Hex[]) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length;
  if (!Array.isArray(m.channels)) fail(`${p}.channels`, 'expected an array');
  if (m.channels.length > MAX_SYNC_BATCH) fail(`${p}.channels`, 'too many channels');
  if (!unique(m.channels.map((c) => c.state.channelID))) fail(`${p}.channels`, 'a channel is repeated');
  const paid = m.channels.reduce((n, c) => n + (c.payments?.length ?? 0), 0);
  if (paid > MAX_UPDATE_PAYMENTS) fail(`${p}.channels`, 'too many payments');
  if (m.synced !== undefined) {
    if (!Array.isArray(m.synced)) fail(`${p}.synced`, 'expected an array');
    if (m.synced.length > MAX_SYNC_BATCH) fail(`${p}.synced`, 'too many channels');
    if (!unique(m.synced)) fail(`${p}.synced`, 'a channel is repeated');
  }
  if (m.channels.length === 0 && (m.synced?.length ?? 0) === 0) fail(`${p}.channels`, 'empty');
}
