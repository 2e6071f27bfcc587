// The JSON form of the channel data model (Params, State, Allocation, signatures) shared by the
// wire messages (message-codec.ts) and machine snapshots (machine.ts): bigints travel as decimal
// strings, byte strings and addresses as 0x-hex, small indices as numbers. The readers check
// shape, types, hex formats and size limits (never semantics: see validation.ts) and throw
// MalformedMessageError naming the offending path; they build fresh objects, so nothing from
// the input (extra fields, prototypes) leaks into the result.
import { MalformedMessageError } from './errors.js';
import type { Allocation, Asset, Hex, Params, Participant, State, SubAlloc } from './types.js';
import {
  MAX_INDEX,
  MAX_NUM_ASSETS,
  MAX_NUM_PARTS,
  MAX_NUM_SUBALLOCS,
  MAX_UINT256,
  MAX_UINT64,
  isAddress,
  isParticipantAddress,
  isBytes,
  isBytes32,
} from './validation.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Largest app data / cc address / reason accepted from the wire, in characters. */
export const MAX_HEX_CHARS = 2 + 2 * 64 * 1024;
export const MAX_STRING_CHARS = 4096;
const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,77})$/;
const SIG_RE = /^0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130}|[0-9a-fA-F]{258})$/;

// ---------------------------------------------------------------------------------------------
// Readers: each takes an unknown value and the path it was found at.

export function fail(path: string, reason: string): never {
  throw new MalformedMessageError(`malformed ${path}: ${reason}`, { path, reason });
}

export function readObject(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'expected an object');
  return v as Record<string, unknown>;
}

/** An own property only: inherited ones (`constructor`, `__proto__`) count as missing. */
export function field(o: Record<string, unknown>, key: string, path: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(o, key)) fail(`${path}.${key}`, 'missing');
  return o[key];
}

export function readArray<T>(
  v: unknown,
  path: string,
  max: number,
  item: (x: unknown, path: string) => T,
): T[] {
  if (!Array.isArray(v)) fail(path, 'expected a list');
  if (v.length > max) fail(path, `more than ${max} entries`);
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) out.push(item(v[i], `${path}[${i}]`));
  return out;
}

export function readString(v: unknown, path: string, max = MAX_STRING_CHARS): string {
  if (typeof v !== 'string') fail(path, 'expected a string');
  if (v.length > max) fail(path, `longer than ${max} characters`);
  return v;
}

export function readBool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'expected a boolean');
  return v;
}

/** A non-negative integer in a decimal string, at most `max`. */
export function readBigint(v: unknown, path: string, max = MAX_UINT256): bigint {
  if (typeof v !== 'string' || !DECIMAL_RE.test(v)) fail(path, 'expected a decimal integer string');
  const n = BigInt(v);
  if (n > max) fail(path, 'out of range');
  return n;
}

/** A small non-negative integer as a JSON number (indices); `-0` (which JSON.parse gives for "-0") is read as 0. */
export function readIndex(v: unknown, path: string, max = MAX_INDEX): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) fail(path, 'expected an index');
  return v === 0 ? 0 : v;
}

export function readAddress(v: unknown, path: string): string {
  if (!isAddress(v)) fail(path, 'expected a 20-byte hex address');
  return v;
}

/** A participant's address: 20 bytes (Ethereum) or 32 bytes (an Ed25519 key, TON). */
export function readParticipantAddress(v: unknown, path: string): string {
  if (!isParticipantAddress(v)) fail(path, 'expected a 20- or 32-byte hex address');
  return v;
}

export function readBytes32(v: unknown, path: string): Hex {
  if (!isBytes32(v)) fail(path, 'expected 32 hex bytes');
  return v;
}

export function readBytes(v: unknown, path: string, max = MAX_HEX_CHARS): Hex {
  if (typeof v !== 'string' || v.length > max || !isBytes(v)) fail(path, 'expected hex bytes');
  return v;
}

/**
 * A signature in hex: 65 bytes r‖s‖v (secp256k1, Ethereum), 64 bytes (Ed25519, TON) or 129
 * bytes, both in that order (a channel on Ethereum and TON, ./cross/). Which length a channel
 * takes is its backend's verifier's call.
 */
export function readSig(v: unknown, path: string): Hex {
  if (typeof v !== 'string' || !SIG_RE.test(v)) fail(path, 'expected a 64-, 65- or 129-byte hex signature');
  return v;
}

// ---------------------------------------------------------------------------------------------
// Data model

export function participantFromJson(v: unknown, path: string): Participant {
  const o = readObject(v, path);
  return {
    ethAddress: readParticipantAddress(field(o, 'ethAddress', path), `${path}.ethAddress`),
    ccAddress: readBytes(field(o, 'ccAddress', path), `${path}.ccAddress`),
  };
}

export function paramsToJson(p: Params): JsonObject {
  return {
    challengeDuration: p.challengeDuration.toString(),
    nonce: p.nonce.toString(),
    participants: p.participants.map((x) => ({ ethAddress: x.ethAddress, ccAddress: x.ccAddress })),
    app: p.app,
    ledgerChannel: p.ledgerChannel,
    virtualChannel: p.virtualChannel,
  };
}

export function paramsFromJson(v: unknown, path: string): Params {
  const o = readObject(v, path);
  return {
    challengeDuration: readBigint(
      field(o, 'challengeDuration', path),
      `${path}.challengeDuration`,
      MAX_UINT64,
    ),
    nonce: readBigint(field(o, 'nonce', path), `${path}.nonce`),
    participants: readArray(
      field(o, 'participants', path),
      `${path}.participants`,
      MAX_NUM_PARTS,
      participantFromJson,
    ),
    app: readAddress(field(o, 'app', path), `${path}.app`),
    ledgerChannel: readBool(field(o, 'ledgerChannel', path), `${path}.ledgerChannel`),
    virtualChannel: readBool(field(o, 'virtualChannel', path), `${path}.virtualChannel`),
  };
}

function assetFromJson(v: unknown, path: string): Asset {
  const o = readObject(v, path);
  return {
    chainID: readBigint(field(o, 'chainID', path), `${path}.chainID`),
    ethHolder: readAddress(field(o, 'ethHolder', path), `${path}.ethHolder`),
    ccHolder: readBytes(field(o, 'ccHolder', path), `${path}.ccHolder`),
  };
}

export const balancesToJson = (b: readonly (readonly bigint[])[]): Json =>
  b.map((row) => row.map((x) => x.toString()));

export function balancesFromJson(v: unknown, path: string): bigint[][] {
  return readArray(v, path, MAX_NUM_ASSETS, (row, p) =>
    readArray(row, p, MAX_NUM_PARTS, (x, q) => readBigint(x, q)),
  );
}

function subAllocFromJson(v: unknown, path: string): SubAlloc {
  const o = readObject(v, path);
  return {
    ID: readBytes32(field(o, 'ID', path), `${path}.ID`),
    balances: readArray(field(o, 'balances', path), `${path}.balances`, MAX_NUM_ASSETS, (x, p) =>
      readBigint(x, p),
    ),
    indexMap: readArray(field(o, 'indexMap', path), `${path}.indexMap`, MAX_NUM_PARTS, (x, p) =>
      readIndex(x, p),
    ),
  };
}

export function allocationToJson(a: Allocation): JsonObject {
  return {
    assets: a.assets.map((x) => ({
      chainID: x.chainID.toString(),
      ethHolder: x.ethHolder,
      ccHolder: x.ccHolder,
    })),
    backends: a.backends.map((x) => x.toString()),
    balances: balancesToJson(a.balances),
    locked: a.locked.map((s) => ({
      ID: s.ID,
      balances: s.balances.map((x) => x.toString()),
      indexMap: [...s.indexMap],
    })),
  };
}

export function allocationFromJson(v: unknown, path: string): Allocation {
  const o = readObject(v, path);
  return {
    assets: readArray(field(o, 'assets', path), `${path}.assets`, MAX_NUM_ASSETS, assetFromJson),
    backends: readArray(field(o, 'backends', path), `${path}.backends`, MAX_NUM_ASSETS, (x, p) =>
      readBigint(x, p),
    ),
    balances: balancesFromJson(field(o, 'balances', path), `${path}.balances`),
    locked: readArray(field(o, 'locked', path), `${path}.locked`, MAX_NUM_SUBALLOCS, subAllocFromJson),
  };
}

export function stateToJson(s: State): JsonObject {
  return {
    channelID: s.channelID,
    version: s.version.toString(),
    outcome: allocationToJson(s.outcome),
    appData: s.appData,
    isFinal: s.isFinal,
  };
}

export function stateFromJson(v: unknown, path: string): State {
  const o = readObject(v, path);
  return {
    channelID: readBytes32(field(o, 'channelID', path), `${path}.channelID`),
    version: readBigint(field(o, 'version', path), `${path}.version`, MAX_UINT64),
    outcome: allocationFromJson(field(o, 'outcome', path), `${path}.outcome`),
    appData: readBytes(field(o, 'appData', path), `${path}.appData`),
    isFinal: readBool(field(o, 'isFinal', path), `${path}.isFinal`),
  };
}

/** A signature list in which a missing signature is null. */
export function sigsFromJson(v: unknown, path: string): (Hex | null)[] {
  return readArray(v, path, MAX_NUM_PARTS, (x, p) => (x === null ? null : readSig(x, p)));
}
