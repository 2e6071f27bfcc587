// The Perun generation-C tuples on Ethereum and their byte-exact ABI encoding: Params,
// State, Allocation, SubAlloc, Participant, Asset, WithdrawalAuth; channel ID, state hash,
// funding ID. Encoding is hand-written (about ten times faster than a generic ABI coder, it
// sits on the path of every signed update) and cross-checked against ethers' AbiCoder and the
// Adjudicator's own channelID()/hashState() in the tests. Decoding uses ethers' AbiCoder.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { AbiCoder, getAddress, hexlify } from 'ethers';
import { EncodingError } from '../errors.js';
import { RecentStates } from '../state-content.js';

import type {
  Address,
  Allocation,
  Asset,
  Hex,
  Params,
  Participant,
  State,
  SubAlloc,
  WithdrawalAuth,
} from '../types.js';

export type { Address, Allocation, Asset, Hex, Params, Participant, State, SubAlloc, WithdrawalAuth };

export const ETH_BACKEND_ID = 1n;
export const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000';
export const ZERO_CC: Hex = '0x' + '00'.repeat(32);

const PARTICIPANT = 'tuple(address ethAddress, bytes ccAddress)';
const ASSET = 'tuple(uint256 chainID, address ethHolder, bytes ccHolder)';
const SUBALLOC = 'tuple(bytes32 ID, uint256[] balances, uint16[] indexMap)';
const ALLOCATION = `tuple(${ASSET}[] assets, uint256[] backends, uint256[][] balances, ${SUBALLOC}[] locked)`;
/** ABI type of Channel.Params. */
export const PARAMS_TYPE = `tuple(uint256 challengeDuration, uint256 nonce, ${PARTICIPANT}[] participants, address app, bool ledgerChannel, bool virtualChannel)`;
/** ABI type of Channel.State. */
export const STATE_TYPE = `tuple(bytes32 channelID, uint64 version, ${ALLOCATION} outcome, bytes appData, bool isFinal)`;
/** ABI type of AssetHolder.WithdrawalAuth. */
export const WITHDRAWAL_AUTH_TYPE = `tuple(bytes32 channelID, ${PARTICIPANT} participant, address receiver, uint256 amount)`;

/** A participant known only by its Ethereum address. */
export function ethParticipant(address: Address): Participant {
  return { ethAddress: getAddress(address), ccAddress: ZERO_CC };
}

/** An asset held by the asset holder `holder` on chain `chainID`. */
export function ethAsset(chainID: bigint, holder: Address): Asset {
  return { chainID, ethHolder: getAddress(holder), ccHolder: ZERO_CC };
}

// ---------------------------------------------------------------------------------------------
// Encoder. Each encoder returns the ABI encoding of one value; `dyn` marks dynamic values,
// which a tuple or array head references by offset.

interface Enc {
  dyn: boolean;
  data: Uint8Array;
}

const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;

function uintWord(v: bigint, max: bigint, what: string): Uint8Array {
  if (typeof v !== 'bigint' || v < 0n || v > max) {
    throw new EncodingError(`${what} out of range`, { value: String(v) });
  }
  if (v <= 0xffffffffn) return smallWord(Number(v));
  const out = new Uint8Array(32);
  out.set(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));
  return out;
}

/** The word of an integer from 0 to 2^32 - 1 (offsets, lengths, small values). */
function smallWord(n: number): Uint8Array {
  const out = new Uint8Array(32);
  out[28] = n >>> 24;
  out[29] = (n >>> 16) & 0xff;
  out[30] = (n >>> 8) & 0xff;
  out[31] = n & 0xff;
  return out;
}

function hexBytes(hex: string, what: string, length?: number): Uint8Array {
  if (typeof hex !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new EncodingError(`${what} is not hex bytes`, { value: hex });
  }
  const n = (hex.length - 2) / 2;
  if (length !== undefined && n !== length) {
    throw new EncodingError(`${what} must be ${length} bytes`, { value: hex });
  }
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

function staticWord(data: Uint8Array): Enc {
  return { dyn: false, data };
}

function u256(v: bigint, what = 'uint256'): Enc {
  return staticWord(uintWord(v, MAX_UINT256, what));
}

function u64(v: bigint, what: string): Enc {
  return staticWord(uintWord(v, MAX_UINT64, what));
}

function u16(v: number, what: string): Enc {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff)
    throw new EncodingError(`${what} out of range`, { value: v });
  return staticWord(uintWord(BigInt(v), 0xffffn, what));
}

function bool(v: boolean, what: string): Enc {
  if (typeof v !== 'boolean') throw new EncodingError(`${what} must be a boolean`, { value: v });
  return staticWord(uintWord(v ? 1n : 0n, 1n, what));
}

function address(v: string, what: string): Enc {
  const raw = hexBytes(v, what, 20);
  const out = new Uint8Array(32);
  out.set(raw, 12);
  return staticWord(out);
}

function bytes32(v: string, what: string): Enc {
  return staticWord(hexBytes(v, what, 32));
}

function bytes(v: string, what: string): Enc {
  const raw = hexBytes(v, what);
  const padded = Math.ceil(raw.length / 32) * 32;
  const out = new Uint8Array(32 + padded);
  out.set(smallWord(raw.length), 0);
  out.set(raw, 32);
  return { dyn: true, data: out };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function tuple(items: Enc[]): Enc {
  let headSize = 0;
  for (const it of items) headSize += it.dyn ? 32 : it.data.length;
  const head: Uint8Array[] = [];
  const tail: Uint8Array[] = [];
  let offset = headSize;
  let dyn = false;
  for (const it of items) {
    if (it.dyn) {
      dyn = true;
      head.push(smallWord(offset));
      tail.push(it.data);
      offset += it.data.length;
    } else {
      head.push(it.data);
    }
  }
  return { dyn, data: concat([...head, ...tail]) };
}

function array(items: Enc[]): Enc {
  const body = tuple(items);
  return { dyn: true, data: concat([smallWord(items.length), body.data]) };
}

function list<T>(v: readonly T[], what: string, f: (x: T, i: number) => Enc): Enc {
  if (!Array.isArray(v)) throw new EncodingError(`${what} must be an array`, { value: v });
  return array(v.map(f));
}

function encParticipant(p: Participant, i: number): Enc {
  return tuple([
    address(p.ethAddress, `participants[${i}].ethAddress`),
    bytes(p.ccAddress, `participants[${i}].ccAddress`),
  ]);
}

function encParams(p: Params): Enc {
  return tuple([
    u256(p.challengeDuration, 'challengeDuration'),
    u256(p.nonce, 'nonce'),
    list(p.participants, 'participants', encParticipant),
    address(p.app, 'app'),
    bool(p.ledgerChannel, 'ledgerChannel'),
    bool(p.virtualChannel, 'virtualChannel'),
  ]);
}

function encAllocation(a: Allocation): Enc {
  const numParts = a.balances[0]?.length ?? 0;
  return tuple([
    list(a.assets, 'assets', (x, i) =>
      tuple([
        u256(x.chainID, `assets[${i}].chainID`),
        address(x.ethHolder, `assets[${i}].ethHolder`),
        bytes(x.ccHolder, `assets[${i}].ccHolder`),
      ]),
    ),
    list(a.backends, 'backends', (x, i) => u256(x, `backends[${i}]`)),
    list(a.balances, 'balances', (row, i) =>
      list(row, `balances[${i}]`, (x, j) => u256(x, `balances[${i}][${j}]`)),
    ),
    list(a.locked, 'locked', (s, i) =>
      tuple([
        bytes32(s.ID, `locked[${i}].ID`),
        list(s.balances, `locked[${i}].balances`, (x, j) => u256(x, `locked[${i}].balances[${j}]`)),
        list(effectiveIndexMap(s.indexMap, numParts), `locked[${i}].indexMap`, (x, j) =>
          u16(x, `locked[${i}].indexMap[${j}]`),
        ),
      ]),
    ),
  ]);
}

/** The index map as signed: an empty map stands for the identity over the parent's participants. */
export function effectiveIndexMap(indexMap: readonly number[], numParts: number): number[] {
  return indexMap.length > 0 ? [...indexMap] : Array.from({ length: numParts }, (_, i) => i);
}

function encState(s: State): Enc {
  return tuple([
    bytes32(s.channelID, 'channelID'),
    u64(s.version, 'version'),
    encAllocation(s.outcome),
    bytes(s.appData, 'appData'),
    bool(s.isFinal, 'isFinal'),
  ]);
}

function encWithdrawalAuth(w: WithdrawalAuth): Enc {
  return tuple([
    bytes32(w.channelID, 'channelID'),
    encParticipant(w.participant, 0),
    address(w.receiver, 'receiver'),
    u256(w.amount, 'amount'),
  ]);
}

/** abi.encode of a single value: a dynamic value is preceded by its offset word (0x20). */
function encodeSingle(e: Enc): Uint8Array {
  return e.dyn ? concat([smallWord(32), e.data]) : e.data;
}

export function encodeParamsBytes(params: Params): Uint8Array {
  return encodeSingle(encParams(params));
}

export function encodeStateBytes(state: State): Uint8Array {
  return encodeSingle(encState(state));
}

export function encodeWithdrawalAuthBytes(auth: WithdrawalAuth): Uint8Array {
  return encodeSingle(encWithdrawalAuth(auth));
}

/** abi.encode(params) as hex. */
export function encodeParams(params: Params): Hex {
  return hexlify(encodeParamsBytes(params));
}

/** abi.encode(state) as hex. */
export function encodeState(state: State): Hex {
  return hexlify(encodeStateBytes(state));
}

/** abi.encode(auth) as hex. */
export function encodeWithdrawalAuth(auth: WithdrawalAuth): Hex {
  return hexlify(encodeWithdrawalAuthBytes(auth));
}

export function keccakBytes(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/** Channel ID = keccak256(abi.encode(params)). */
export function channelId(params: Params): Hex {
  return hexlify(keccak_256(encodeParamsBytes(params)));
}

/**
 * The hashes of the last states hashed: each side of an update hashes the same state two or three
 * times (signing it, checking the peer's signature on it and on the staged copy), and the ABI
 * encoding and keccak are most of that cost.
 */
const recentStateHashes = new RecentStates<Uint8Array>(16);

/** State hash = keccak256(abi.encode(state)); the digest a participant signs (EIP-191 prefixed). */
export function hashStateBytes(state: State): Uint8Array {
  const hash =
    recentStateHashes.find(state) ?? recentStateHashes.add(state, (s) => keccak_256(encodeStateBytes(s)));
  return hash.slice();
}

export function hashState(state: State): Hex {
  return hexlify(hashStateBytes(state));
}

export function hashWithdrawalAuthBytes(auth: WithdrawalAuth): Uint8Array {
  return keccak_256(encodeWithdrawalAuthBytes(auth));
}

/** Funding ID = keccak256(abi.encode(channelID, participant)). */
export function fundingId(channelID: Hex, participant: Address): Hex {
  return hexlify(
    keccak_256(concat([bytes32(channelID, 'channelID').data, address(participant, 'participant').data])),
  );
}

// ---------------------------------------------------------------------------------------------
// Decoder (ethers' AbiCoder), for calldata and untrusted input. Returns plain objects with
// checksummed addresses and lower-case hex.

const coder = AbiCoder.defaultAbiCoder();

// ethers' Result is array-like with named keys; these views read it without `any`.
type Row = { readonly [k: string]: unknown } & ArrayLike<unknown>;

const asRow = (v: unknown): Row => v as Row;
const asBig = (v: unknown): bigint => v as bigint;
const asStr = (v: unknown): string => (v as string).toLowerCase();
const asAddr = (v: unknown): Address => getAddress(v as string);
const asArr = (v: unknown): unknown[] => Array.from(v as ArrayLike<unknown>);

function toParticipant(r: Row): Participant {
  return { ethAddress: asAddr(r[0]), ccAddress: asStr(r[1]) };
}

export function paramsFromAbi(v: unknown): Params {
  const r = asRow(v);
  return {
    challengeDuration: asBig(r[0]),
    nonce: asBig(r[1]),
    participants: asArr(r[2]).map((p) => toParticipant(asRow(p))),
    app: asAddr(r[3]),
    ledgerChannel: r[4] as boolean,
    virtualChannel: r[5] as boolean,
  };
}

export function stateFromAbi(v: unknown): State {
  const r = asRow(v);
  const o = asRow(r[2]);
  return {
    channelID: asStr(r[0]),
    version: asBig(r[1]),
    outcome: {
      assets: asArr(o[0]).map((a) => {
        const x = asRow(a);
        return { chainID: asBig(x[0]), ethHolder: asAddr(x[1]), ccHolder: asStr(x[2]) };
      }),
      backends: asArr(o[1]).map(asBig),
      balances: asArr(o[2]).map((row) => asArr(row).map(asBig)),
      locked: asArr(o[3]).map((s) => {
        const x = asRow(s);
        return {
          ID: asStr(x[0]),
          balances: asArr(x[1]).map(asBig),
          indexMap: asArr(x[2]).map((i) => Number(i)),
        };
      }),
    },
    appData: asStr(r[3]),
    isFinal: r[4] as boolean,
  };
}

function decodeWith<T>(type: string, data: Hex, from: (v: unknown) => T, what: string): T {
  try {
    return from(coder.decode([type], data)[0]);
  } catch (err) {
    throw new EncodingError(`cannot decode ${what}`, { length: (data.length - 2) / 2 }, { cause: err });
  }
}

export function decodeParams(data: Hex): Params {
  return decodeWith(PARAMS_TYPE, data, paramsFromAbi, 'params');
}

export function decodeState(data: Hex): State {
  return decodeWith(STATE_TYPE, data, stateFromAbi, 'state');
}

export function decodeWithdrawalAuth(data: Hex): WithdrawalAuth {
  return decodeWith(
    WITHDRAWAL_AUTH_TYPE,
    data,
    (v) => {
      const r = asRow(v);
      return {
        channelID: asStr(r[0]),
        participant: toParticipant(asRow(r[1])),
        receiver: asAddr(r[2]),
        amount: asBig(r[3]),
      };
    },
    'withdrawal authorization',
  );
}
