// The JSON wire form of the channel messages (./messages.ts): `encodeChannelMessage` turns one
// into a JSON-safe object (bigints as decimal strings), `decodeChannelMessage` checks an untrusted
// value's shape, types, hex formats and sizes and rebuilds the message, or throws
// MalformedMessageError.
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
import { isPhase, type Hex, type PaymentRecord, PAYMENT_ID } from './types.js';
import {
  checkSyncBatch,
  MAX_PEER_ID_CHARS,
  MAX_REASON_CHARS,
  MAX_SYNC_BATCH,
  MAX_UPDATE_PAYMENTS,
  type ChannelMessage,
  type ChannelMessageType,
  type ChannelSyncBatch,
  type ChannelUpdate,
  type ChannelUpdateReject,
  type SyncedChannel,
} from './messages.js';
import { MAX_NUM_ASSETS, MAX_NUM_PARTS, MAX_UINT64 } from './validation.js';

type Of<T extends ChannelMessageType> = Extract<ChannelMessage, { type: T }>;

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

/** The fields a ledger and a virtual channel's proposal open with, in their wire form. */
const proposalOpeningToJson = (m: Of<'ledger-channel-proposal' | 'virtual-channel-proposal'>) => ({
  proposalID: m.proposalID,
  challengeDuration: m.challengeDuration.toString(),
  nonceShare: m.nonceShare,
  participants: [...m.participants],
});

/** The wire form of any kind of proposal's acceptance. */
const acceptanceToJson = (
  m: Of<'ledger-channel-accept' | 'sub-channel-accept' | 'virtual-channel-accept'>,
) => ({
  type: m.type,
  proposalID: m.proposalID,
  nonceShare: m.nonceShare,
  sig: m.sig,
});

const ENCODERS: { [T in ChannelMessageType]: (m: Of<T>) => JsonObject } = {
  'ledger-channel-proposal': (m) => ({
    type: m.type,
    ...proposalOpeningToJson(m),
    peers: [...m.peers],
    app: m.app,
    initData: m.initData,
    initBals: allocationToJson(m.initBals),
    fundingAgreement: balancesToJson(m.fundingAgreement),
    ...(m.ccAddresses === undefined ? {} : { ccAddresses: [...m.ccAddresses] }),
  }),
  'ledger-channel-accept': acceptanceToJson,
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
  'sub-channel-accept': acceptanceToJson,
  'virtual-channel-proposal': (m) => ({
    type: m.type,
    ...proposalOpeningToJson(m),
    intermediary: m.intermediary,
    initBals: allocationToJson(m.initBals),
  }),
  'virtual-channel-accept': acceptanceToJson,
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

/** The fields a ledger and a virtual channel's proposal open with. */
const proposalOpeningFromJson = (o: Record<string, unknown>, p: string) => ({
  proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
  challengeDuration: readBigint(field(o, 'challengeDuration', p), `${p}.challengeDuration`, MAX_UINT64),
  nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
  participants: readArray(
    field(o, 'participants', p),
    `${p}.participants`,
    MAX_NUM_PARTS,
    readParticipantAddress,
  ),
});

/** What every kind of proposal's acceptance carries. */
const acceptanceFromJson = (o: Record<string, unknown>, p: string) => ({
  proposalID: readBytes32(field(o, 'proposalID', p), `${p}.proposalID`),
  nonceShare: readBytes32(field(o, 'nonceShare', p), `${p}.nonceShare`),
  sig: readSig(field(o, 'sig', p), `${p}.sig`),
});

const DECODERS: { [T in ChannelMessageType]: (o: Record<string, unknown>, p: string) => Of<T> } = {
  'ledger-channel-proposal': (o, p) => ({
    type: 'ledger-channel-proposal',
    ...proposalOpeningFromJson(o, p),
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
  'ledger-channel-accept': (o, p) => ({ type: 'ledger-channel-accept', ...acceptanceFromJson(o, p) }),
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
  'sub-channel-accept': (o, p) => ({ type: 'sub-channel-accept', ...acceptanceFromJson(o, p) }),
  'virtual-channel-proposal': (o, p) => ({
    type: 'virtual-channel-proposal',
    ...proposalOpeningFromJson(o, p),
    intermediary: readParticipantAddress(field(o, 'intermediary', p), `${p}.intermediary`),
    initBals: allocationFromJson(field(o, 'initBals', p), `${p}.initBals`),
  }),
  'virtual-channel-accept': (o, p) => ({ type: 'virtual-channel-accept', ...acceptanceFromJson(o, p) }),
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
