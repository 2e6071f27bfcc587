// The messages two channel clients exchange (docs/protocol.md §10), as plain TypeScript
// discriminated unions on `type`, and their JSON wire form: `encodeChannelMessage` turns one
// into a JSON-safe object (bigints as decimal strings), `decodeChannelMessage` checks an
// untrusted value's shape, types, hex formats and sizes and rebuilds the message, or throws
// MalformedMessageError. Semantic checks (allocation validity, signatures, transitions) are the
// client's job (validation.ts, machine.ts).
import { MalformedMessageError } from './errors.js';
import {
  allocationFromJson,
  allocationToJson,
  balancesFromJson,
  balancesToJson,
  fail,
  field,
  paramsFromJson,
  paramsToJson,
  readAddress,
  readParticipantAddress,
  readArray,
  readBigint,
  readBytes,
  readBytes32,
  readIndex,
  readObject,
  readSig,
  readString,
  sigsFromJson,
  stateFromJson,
  stateToJson,
  type Json,
  type JsonObject,
} from './json.js';
import {
  isPhase,
  type Address,
  type Allocation,
  type Hex,
  type Params,
  type PaymentRecord,
  type Phase,
  type State,
  type VersionedPayment,
  PAYMENT_ID,
} from './types.js';
import { MAX_NUM_ASSETS, MAX_NUM_PARTS, MAX_UINT64 } from './validation.js';

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

type Of<T extends ChannelMessageType> = Extract<ChannelMessage, { type: T }>;

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

// ---------------------------------------------------------------------------------------------
// Encoding

/** The wire form of one channel's sync (also what a batch is measured by). */
export function encodeSyncedChannel(m: SyncedChannel): JsonObject {
  const o: JsonObject = { phase: m.phase, state: stateToJson(m.state), sigs: [...m.sigs] };
  if (m.payments !== undefined) {
    o.payments = m.payments.map((x) => ({
      version: x.version.toString(),
      payer: x.payer,
      paymentID: x.id,
      asset: x.asset,
      amount: x.amount.toString(),
    }));
  }
  return o;
}

const ENCODERS: { [T in ChannelMessageType]: (m: Of<T>) => JsonObject } = {
  'ledger-channel-proposal': (m) => ({
    type: m.type,
    proposalID: m.proposalID,
    challengeDuration: m.challengeDuration.toString(),
    nonceShare: m.nonceShare,
    participants: [...m.participants],
    peers: [...m.peers],
    app: m.app,
    initData: m.initData,
    initBals: allocationToJson(m.initBals),
    fundingAgreement: balancesToJson(m.fundingAgreement),
    ...(m.ccAddresses === undefined ? {} : { ccAddresses: [...m.ccAddresses] }),
  }),
  'ledger-channel-accept': (m) => ({
    type: m.type,
    proposalID: m.proposalID,
    nonceShare: m.nonceShare,
    sig: m.sig,
  }),
  'channel-proposal-reject': (m) => ({ type: m.type, proposalID: m.proposalID, reason: m.reason }),
  'sub-channel-proposal': (m) => ({
    type: m.type,
    proposalID: m.proposalID,
    parentID: m.parentID,
    challengeDuration: m.challengeDuration.toString(),
    nonceShare: m.nonceShare,
    app: m.app,
    initData: m.initData,
    initBals: allocationToJson(m.initBals),
  }),
  'sub-channel-accept': (m) => ({
    type: m.type,
    proposalID: m.proposalID,
    nonceShare: m.nonceShare,
    sig: m.sig,
  }),
  'virtual-channel-proposal': (m) => ({
    type: m.type,
    proposalID: m.proposalID,
    challengeDuration: m.challengeDuration.toString(),
    nonceShare: m.nonceShare,
    participants: [...m.participants],
    intermediary: m.intermediary,
    initBals: allocationToJson(m.initBals),
  }),
  'virtual-channel-accept': (m) => ({
    type: m.type,
    proposalID: m.proposalID,
    nonceShare: m.nonceShare,
    sig: m.sig,
  }),
  'virtual-channel-update': (m) => ({
    type: m.type,
    state: stateToJson(m.state),
    actorIdx: m.actorIdx,
    sig: m.sig,
    virtual: {
      params: paramsToJson(m.virtual.params),
      state: stateToJson(m.virtual.state),
      sigs: [...m.virtual.sigs],
    },
  }),
  'channel-update': (m) => {
    const o: JsonObject = { type: m.type, state: stateToJson(m.state), actorIdx: m.actorIdx, sig: m.sig };
    if (m.payments !== undefined) {
      o.payments = m.payments.map((x) => ({ paymentID: x.id, asset: x.asset, amount: x.amount.toString() }));
    }
    return o;
  },
  'channel-update-accept': (m) => ({
    type: m.type,
    channelID: m.channelID,
    version: m.version.toString(),
    sig: m.sig,
  }),
  'channel-update-reject': (m) => {
    const o: JsonObject = {
      type: m.type,
      channelID: m.channelID,
      version: m.version.toString(),
      reason: m.reason,
    };
    if (m.code !== undefined) o.code = m.code;
    if (m.minVersion !== undefined) o.minVersion = m.minVersion.toString();
    return o;
  },
  'channel-sync': (m) => ({ type: m.type, ...encodeSyncedChannel(m) }),
  'channel-sync-batch': (m) => ({
    type: m.type,
    channels: m.channels.map(encodeSyncedChannel),
    ...(m.synced === undefined ? {} : { synced: [...m.synced] }),
  }),
};

/** The JSON-safe wire form of a message (JSON.stringify it as it is). */
export function encodeChannelMessage(msg: ChannelMessage): JsonObject {
  const enc = ENCODERS[msg.type] as ((m: ChannelMessage) => JsonObject) | undefined;
  if (enc === undefined) throw new MalformedMessageError('unknown message type', { type: String(msg.type) });
  return enc(msg);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function readPayment(v: unknown, p: string): PaymentRecord {
  const o = readObject(v, p);
  const id = readString(field(o, 'paymentID', p), `${p}.paymentID`, 64);
  if (!PAYMENT_ID.test(id)) fail(`${p}.paymentID`, 'not a payment ID');
  const amount = readBigint(field(o, 'amount', p), `${p}.amount`);
  if (amount === 0n) fail(`${p}.amount`, 'zero');
  return { id, asset: readIndex(field(o, 'asset', p), `${p}.asset`, MAX_NUM_ASSETS - 1), amount };
}

function readSynced(o: Record<string, unknown>, p: string): SyncedChannel {
  const phase = field(o, 'phase', p);
  if (!isPhase(phase)) fail(`${p}.phase`, 'unknown phase');
  const sigs = sigsFromJson(field(o, 'sigs', p), `${p}.sigs`);
  if (sigs.some((s) => s === null)) fail(`${p}.sigs`, 'a signature is missing');
  const m: SyncedChannel = {
    phase,
    state: stateFromJson(field(o, 'state', p), `${p}.state`),
    sigs: sigs as Hex[],
  };
  if (Object.prototype.hasOwnProperty.call(o, 'payments') && o.payments !== undefined) {
    m.payments = readArray(o.payments, `${p}.payments`, MAX_UPDATE_PAYMENTS, (x, q) => ({
      ...readPayment(x, q),
      version: readBigint(field(readObject(x, q), 'version', q), `${q}.version`, MAX_UINT64),
      payer: readIndex(field(readObject(x, q), 'payer', q), `${q}.payer`, MAX_NUM_PARTS - 1),
    }));
    if (new Set(m.payments.map((x) => x.id)).size !== m.payments.length) {
      fail(`${p}.payments`, 'a payment ID is repeated');
    }
  }
  return m;
}

const reason = (o: Record<string, unknown>, p: string): string =>
  readString(field(o, 'reason', p), `${p}.reason`, MAX_REASON_CHARS);

const DECODERS: { [T in ChannelMessageType]: (o: Record<string, unknown>, p: string) => Of<T> } = {
  'ledger-channel-proposal': (o, p) => ({
    type: 'ledger-channel-proposal',
    proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
    challengeDuration: readBigint(field(o, 'challengeDuration', p), `${p}.challengeDuration`, MAX_UINT64),
    nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
    participants: readArray(
      field(o, 'participants', p),
      `${p}.participants`,
      MAX_NUM_PARTS,
      readParticipantAddress,
    ),
    peers: readArray(field(o, 'peers', p), `${p}.peers`, MAX_NUM_PARTS, (x, q) =>
      readString(x, q, MAX_PEER_ID_CHARS),
    ),
    app: readAddress(field(o, 'app', p), `${p}.app`),
    initData: readBytes(field(o, 'initData', p), `${p}.initData`),
    initBals: allocationFromJson(field(o, 'initBals', p), `${p}.initBals`),
    fundingAgreement: balancesFromJson(field(o, 'fundingAgreement', p), `${p}.fundingAgreement`),
    ...(o.ccAddresses === undefined
      ? {}
      : { ccAddresses: readArray(o.ccAddresses, `${p}.ccAddresses`, MAX_NUM_PARTS, readBytes32) }),
  }),
  'ledger-channel-accept': (o, p) => ({
    type: 'ledger-channel-accept',
    proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
    nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
    sig: readSig(field(o, 'sig', p), `${p}.sig`),
  }),
  'channel-proposal-reject': (o, p) => ({
    type: 'channel-proposal-reject',
    proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
    reason: reason(o, p),
  }),
  'sub-channel-proposal': (o, p) => ({
    type: 'sub-channel-proposal',
    proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
    parentID: readBytes32(field(o, 'parentID', p), `${p}.parentID`),
    challengeDuration: readBigint(field(o, 'challengeDuration', p), `${p}.challengeDuration`, MAX_UINT64),
    nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
    app: readAddress(field(o, 'app', p), `${p}.app`),
    initData: readBytes(field(o, 'initData', p), `${p}.initData`),
    initBals: allocationFromJson(field(o, 'initBals', p), `${p}.initBals`),
  }),
  'sub-channel-accept': (o, p) => ({
    type: 'sub-channel-accept',
    proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
    nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
    sig: readSig(field(o, 'sig', p), `${p}.sig`),
  }),
  'virtual-channel-proposal': (o, p) => ({
    type: 'virtual-channel-proposal',
    proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
    challengeDuration: readBigint(field(o, 'challengeDuration', p), `${p}.challengeDuration`, MAX_UINT64),
    nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
    participants: readArray(
      field(o, 'participants', p),
      `${p}.participants`,
      MAX_NUM_PARTS,
      readParticipantAddress,
    ),
    intermediary: readParticipantAddress(field(o, 'intermediary', p), `${p}.intermediary`),
    initBals: allocationFromJson(field(o, 'initBals', p), `${p}.initBals`),
  }),
  'virtual-channel-accept': (o, p) => ({
    type: 'virtual-channel-accept',
    proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
    nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
    sig: readSig(field(o, 'sig', p), `${p}.sig`),
  }),
  'virtual-channel-update': (o, p) => {
    const v = readObject(field(o, 'virtual', p), `${p}.virtual`);
    const q = `${p}.virtual`;
    const sigs = sigsFromJson(field(v, 'sigs', q), `${q}.sigs`);
    if (sigs.some((s) => s === null)) fail(`${q}.sigs`, 'a signature is missing');
    return {
      type: 'virtual-channel-update',
      state: stateFromJson(field(o, 'state', p), `${p}.state`),
      actorIdx: readIndex(field(o, 'actorIdx', p), `${p}.actorIdx`),
      sig: readSig(field(o, 'sig', p), `${p}.sig`),
      virtual: {
        params: paramsFromJson(field(v, 'params', q), `${q}.params`),
        state: stateFromJson(field(v, 'state', q), `${q}.state`),
        sigs: sigs as Hex[],
      },
    };
  },
  'channel-update': (o, p) => {
    const m: ChannelUpdate = {
      type: 'channel-update',
      state: stateFromJson(field(o, 'state', p), `${p}.state`),
      actorIdx: readIndex(field(o, 'actorIdx', p), `${p}.actorIdx`),
      sig: readSig(field(o, 'sig', p), `${p}.sig`),
    };
    if (Object.prototype.hasOwnProperty.call(o, 'payments') && o.payments !== undefined) {
      m.payments = readArray(o.payments, `${p}.payments`, MAX_UPDATE_PAYMENTS, readPayment);
      if (m.payments.length === 0) fail(`${p}.payments`, 'empty');
      if (new Set(m.payments.map((x) => x.id)).size !== m.payments.length) {
        fail(`${p}.payments`, 'a payment ID is repeated');
      }
    }
    return m;
  },
  'channel-update-accept': (o, p) => ({
    type: 'channel-update-accept',
    channelID: readBytes32(field(o, 'channelID', p), `${p}.channelID`),
    version: readBigint(field(o, 'version', p), `${p}.version`, MAX_UINT64),
    sig: readSig(field(o, 'sig', p), `${p}.sig`),
  }),
  'channel-update-reject': (o, p) => {
    const m: ChannelUpdateReject = {
      type: 'channel-update-reject',
      channelID: readBytes32(field(o, 'channelID', p), `${p}.channelID`),
      version: readBigint(field(o, 'version', p), `${p}.version`, MAX_UINT64),
      reason: reason(o, p),
    };
    if (Object.prototype.hasOwnProperty.call(o, 'code') && o.code !== undefined) {
      m.code = readString(o.code, `${p}.code`, 64);
    }
    if (Object.prototype.hasOwnProperty.call(o, 'minVersion') && o.minVersion !== undefined) {
      m.minVersion = readBigint(o.minVersion, `${p}.minVersion`, MAX_UINT64);
    }
    return m;
  },
  'channel-sync': (o, p) => ({ type: 'channel-sync', ...readSynced(o, p) }),
  'channel-sync-batch': (o, p) => {
    const channels = readArray(field(o, 'channels', p), `${p}.channels`, MAX_SYNC_BATCH, (x, q) =>
      readSynced(readObject(x, q), q),
    );
    const m: ChannelSyncBatch = { type: 'channel-sync-batch', channels };
    if (Object.prototype.hasOwnProperty.call(o, 'synced') && o.synced !== undefined) {
      m.synced = readArray(o.synced, `${p}.synced`, MAX_SYNC_BATCH, readBytes32);
    }
    checkSyncBatch(m, p);
    return m;
  },
};

/**
 * Rebuilds a channel message from its untrusted wire form. Throws MalformedMessageError (with
 * `details.path` and `details.reason`) for anything that is not exactly a message of a known
 * type; ignores unknown extra fields.
 */
export function decodeChannelMessage(raw: unknown): ChannelMessage {
  try {
    const o = readObject(raw, 'message');
    const type = field(o, 'type', 'message');
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(DECODERS, type)) {
      fail('message.type', 'unknown message type');
    }
    return DECODERS[type as ChannelMessageType](o, 'message');
  } catch (err) {
    if (err instanceof MalformedMessageError) throw err;
    // Anything else (a getter that throws, a Proxy, a stack overflow) is still a malformed input.
    throw new MalformedMessageError(
      'malformed message',
      { path: 'message', reason: 'unreadable' },
      { cause: err },
    );
  }
}

/** decodeChannelMessage of a JSON text. */
export function parseChannelMessage(text: string): ChannelMessage {
  let raw: Json;
  try {
    raw = JSON.parse(text) as Json;
  } catch (err) {
    throw new MalformedMessageError(
      'message is not JSON',
      { path: 'message', reason: 'not JSON' },
      { cause: err },
    );
  }
  return decodeChannelMessage(raw);
}
