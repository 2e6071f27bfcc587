// Perun's Params, State and withdrawal authorisation as TON cells, built from the contract's
// schema (./schema.ts): the channel ID is the hash of the Params cell, a state is signed as the
// hash of its State cell, a funding ID is the hash of (channel ID, participant key). What TON
// channels are in this backend: two participants named by their Ed25519 public keys (32 bytes, in
// Participant.ethAddress), no app, one asset, Toncoin held by the Perun contract (chain ID = the
// network's global ID read as uint32, ccHolder = the contract's account ID on the base workchain), no locked
// funds. stateCell decodes every cell it builds and compares it with the state before anyone
// signs it.
import { Address as TonAddress, type Cell } from '@ton/core';
import { EncodingError } from '../errors.js';
import type { Asset, Hex, Params, Participant, State } from '../types.js';
import { tonArtifact } from './artifact.js';
import { decodeStruct, encodeStruct, type StructValue } from './schema.js';

/** Backend ID of TON in Allocation.backends (go-perun assigns none; 7 is this project's). */
export const TON_BACKEND_ID = 7n;
export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';
export const ZERO_BYTES32 = `0x${'00'.repeat(32)}`;

const KEY_RE = /^0x[0-9a-fA-F]{64}$/;

const hex = (b: Buffer): Hex => `0x${b.toString('hex')}`;
const uint = (h: Hex): bigint => BigInt(h);
const bytes32 = (v: bigint): Hex => `0x${v.toString(16).padStart(64, '0')}`;
const schema = () => tonArtifact().schema;

/** A TON participant: its Ed25519 public key. */
export function tonParticipant(publicKey: Hex): Participant {
  if (!KEY_RE.test(publicKey))
    throw new EncodingError('a TON participant is a 32-byte Ed25519 public key', { publicKey });
  return { ethAddress: publicKey.toLowerCase(), ccAddress: ZERO_BYTES32 };
}

/** Toncoin held by the Perun contract at `holder` on the network of `chainID` (TonChain.chainID). */
export function tonAsset(chainID: bigint, holder: TonAddress): Asset {
  if (holder.workChain !== 0)
    throw new EncodingError('the Perun contract must be on the base workchain', {
      holder: holder.toString(),
    });
  return { chainID, ethHolder: ZERO_ADDRESS, ccHolder: hex(holder.hash) };
}

/** The contract that holds `asset`. */
export function holderOf(asset: Asset): TonAddress {
  return new TonAddress(0, Buffer.from(asset.ccHolder.slice(2), 'hex'));
}

function participantKey(p: Participant, i: number): bigint {
  if (!KEY_RE.test(p.ethAddress)) {
    throw new EncodingError('a TON participant is a 32-byte Ed25519 public key', {
      field: `participants[${i}]`,
    });
  }
  return uint(p.ethAddress);
}

function paramsValue(params: Params): StructValue {
  if (params.participants.length !== 2) {
    throw new EncodingError('TON channels have exactly two participants', {
      numParts: params.participants.length,
    });
  }
  if (uint(params.app) !== 0n) throw new EncodingError('TON channels have no app', { app: params.app });
  return {
    challengeDuration: params.challengeDuration,
    nonce: params.nonce,
    app: 0n,
    ledgerChannel: params.ledgerChannel,
    virtualChannel: params.virtualChannel,
    participants: {
      p0: participantKey(params.participants[0]!, 0),
      p1: participantKey(params.participants[1]!, 1),
    },
  };
}

export function paramsCell(params: Params): Cell {
  return encodeStruct(schema(), 'Params', paramsValue(params));
}

export function paramsFromCell(cell: Cell): Params {
  const v = decodeStruct(schema(), 'Params', cell);
  const parts = v.participants as StructValue;
  return {
    challengeDuration: v.challengeDuration as bigint,
    nonce: v.nonce as bigint,
    participants: [tonParticipant(bytes32(parts.p0 as bigint)), tonParticipant(bytes32(parts.p1 as bigint))],
    app: ZERO_ADDRESS,
    ledgerChannel: v.ledgerChannel as boolean,
    virtualChannel: v.virtualChannel as boolean,
  };
}

/** The channel ID: the hash of the Params cell. */
export function channelId(params: Params): Hex {
  return hex(paramsCell(params).hash());
}

function stateValue(state: State): StructValue {
  const o = state.outcome;
  if (o.assets.length !== 1 || o.backends.length !== 1 || o.backends[0] !== TON_BACKEND_ID) {
    throw new EncodingError('a TON state holds one asset, Toncoin of the Perun contract', {
      assets: o.assets.length,
    });
  }
  const asset = o.assets[0]!;
  if (uint(asset.ethHolder) !== 0n || !KEY_RE.test(asset.ccHolder)) {
    throw new EncodingError('a TON asset names its holder by account ID in ccHolder', { asset: 0 });
  }
  const bals = o.balances[0];
  if (o.balances.length !== 1 || bals?.length !== 2) {
    throw new EncodingError('a TON state has one balance per participant', { field: 'balances' });
  }
  if (o.locked.length !== 0)
    throw new EncodingError('TON channels lock no funds in sub-channels', { field: 'locked' });
  if (state.appData !== '0x') throw new EncodingError('TON channels carry no app data', { field: 'appData' });
  return {
    channelID: uint(state.channelID),
    version: state.version,
    isFinal: state.isFinal,
    outcome: { chainID: asset.chainID, holder: uint(asset.ccHolder), bal0: bals[0]!, bal1: bals[1]! },
  };
}

export function stateFromCell(cell: Cell): State {
  const v = decodeStruct(schema(), 'State', cell);
  const o = v.outcome as StructValue;
  return {
    channelID: bytes32(v.channelID as bigint),
    version: v.version as bigint,
    outcome: {
      assets: [
        { chainID: o.chainID as bigint, ethHolder: ZERO_ADDRESS, ccHolder: bytes32(o.holder as bigint) },
      ],
      backends: [TON_BACKEND_ID],
      balances: [[o.bal0 as bigint, o.bal1 as bigint]],
      locked: [],
    },
    appData: '0x',
    isFinal: v.isFinal as boolean,
  };
}

const canonical = (s: State): string =>
  JSON.stringify(s, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? v.toLowerCase() : v,
  );

/** The State cell, decoded again and compared with `state` (what is signed is what was meant). */
export function stateCell(state: State): Cell {
  const cell = encodeStruct(schema(), 'State', stateValue(state));
  if (canonical(stateFromCell(cell)) !== canonical(state)) {
    throw new EncodingError('the State cell does not decode to the state', { channelID: state.channelID });
  }
  return cell;
}

/** What a state signature signs: the hash of its cell. */
export function stateHash(state: State): Buffer {
  return stateCell(state).hash();
}

/** hash(channel ID, participant key): where the contract keeps a participant's deposit. */
export function fundingId(channelID: Hex, participant: Hex): Hex {
  return hex(
    encodeStruct(schema(), 'FundingKey', {
      channelID: uint(channelID),
      participant: uint(participant),
    }).hash(),
  );
}

/** A participant's authorisation to pay `amount` of its holdings in a concluded channel to `receiver`. */
export interface TonWithdrawalAuth {
  channelID: Hex;
  participant: Hex;
  receiver: TonAddress;
  amount: bigint;
}

export function withdrawalAuthCell(auth: TonWithdrawalAuth): Cell {
  return encodeStruct(schema(), 'WithdrawalAuth', {
    channelID: uint(auth.channelID),
    participant: uint(auth.participant),
    receiver: auth.receiver,
    amount: auth.amount,
  });
}
