// Canonical JSON for Params and State, with every bigint as a decimal string.
//
// Why JSON with decimal strings and not ABI hex: the store is chain-agnostic (an ABI encoding
// belongs to the Ethereum backend and would make this layer depend on it), the text is readable in
// any SQL console, and decimal strings carry bigints of any size exactly (JSON numbers stop at
// 2^53). "Canonical" means one spelling per value: keys in a fixed order (the order below), no
// whitespace, bigints without leading zeros or '+'. Two equal states therefore encode to equal
// strings, which the store uses to tell an idempotent re-save from a conflicting one.
//
// Strings (addresses, hex) are stored verbatim, not case-normalised, so every value round-trips
// exactly as the core handed it over. Encoding rejects a value of the wrong type with
// InvalidRecordError; decoding rejects anything but what encoding produces with CorruptRecordError.

import type { Allocation, Asset, Hex, Params, Participant, State, SubAlloc } from '../types.js';
import { CorruptRecordError, InvalidRecordError } from './errors.js';

type Fail = (message: string) => never;

const DECIMAL = /^-?(0|[1-9][0-9]*)$/;
const HEX = /^0x[0-9a-fA-F]*$/;

const invalid: Fail = (message) => {
  throw new InvalidRecordError(message);
};

function corruptIn(what: string): Fail {
  return (message) => {
    throw new CorruptRecordError(`stored ${what} cannot be decoded: ${message}`);
  };
}

// ----- encoding (typed value -> JSON-ready plain value) ------------------------------------------

function big(v: unknown, path: string, fail: Fail): string {
  if (typeof v !== 'bigint') fail(`${path} must be a bigint`);
  return (v as bigint).toString(10);
}

function str(v: unknown, path: string, fail: Fail): string {
  if (typeof v !== 'string') fail(`${path} must be a string`);
  return v as string;
}

function bool(v: unknown, path: string, fail: Fail): boolean {
  if (typeof v !== 'boolean') fail(`${path} must be a boolean`);
  return v as boolean;
}

function int(v: unknown, path: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`${path} must be an integer`);
  return v as number;
}

function arr(v: unknown, path: string, fail: Fail): unknown[] {
  if (!Array.isArray(v)) fail(`${path} must be an array`);
  return v as unknown[];
}

function obj(v: unknown, path: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path} must be an object`);
  return v as Record<string, unknown>;
}

function encodeParams(p: Params) {
  const o = obj(p, 'params', invalid);
  return {
    challengeDuration: big(o.challengeDuration, 'params.challengeDuration', invalid),
    nonce: big(o.nonce, 'params.nonce', invalid),
    participants: arr(o.participants, 'params.participants', invalid).map((x, i) => {
      const q = obj(x, `params.participants[${i}]`, invalid);
      return {
        ethAddress: str(q.ethAddress, `params.participants[${i}].ethAddress`, invalid),
        ccAddress: str(q.ccAddress, `params.participants[${i}].ccAddress`, invalid),
      };
    }),
    app: str(o.app, 'params.app', invalid),
    ledgerChannel: bool(o.ledgerChannel, 'params.ledgerChannel', invalid),
    virtualChannel: bool(o.virtualChannel, 'params.virtualChannel', invalid),
  };
}

function encodeState(s: State) {
  const o = obj(s, 'state', invalid);
  const out = obj(o.outcome, 'state.outcome', invalid);
  return {
    channelID: str(o.channelID, 'state.channelID', invalid),
    version: big(o.version, 'state.version', invalid),
    outcome: {
      assets: arr(out.assets, 'outcome.assets', invalid).map((x, i) => {
        const a = obj(x, `outcome.assets[${i}]`, invalid);
        return {
          chainID: big(a.chainID, `outcome.assets[${i}].chainID`, invalid),
          ethHolder: str(a.ethHolder, `outcome.assets[${i}].ethHolder`, invalid),
          ccHolder: str(a.ccHolder, `outcome.assets[${i}].ccHolder`, invalid),
        };
      }),
      backends: arr(out.backends, 'outcome.backends', invalid).map((b, i) =>
        big(b, `outcome.backends[${i}]`, invalid),
      ),
      balances: arr(out.balances, 'outcome.balances', invalid).map((row, i) =>
        arr(row, `outcome.balances[${i}]`, invalid).map((b, j) =>
          big(b, `outcome.balances[${i}][${j}]`, invalid),
        ),
      ),
      locked: arr(out.locked, 'outcome.locked', invalid).map((x, i) => {
        const l = obj(x, `outcome.locked[${i}]`, invalid);
        return {
          ID: str(l.ID, `outcome.locked[${i}].ID`, invalid),
          balances: arr(l.balances, `outcome.locked[${i}].balances`, invalid).map((b, j) =>
            big(b, `outcome.locked[${i}].balances[${j}]`, invalid),
          ),
          indexMap: arr(l.indexMap, `outcome.locked[${i}].indexMap`, invalid).map((n, j) =>
            int(n, `outcome.locked[${i}].indexMap[${j}]`, invalid),
          ),
        };
      }),
    },
    appData: str(o.appData, 'state.appData', invalid),
    isFinal: bool(o.isFinal, 'state.isFinal', invalid),
  };
}

export function paramsToJson(p: Params): string {
  return JSON.stringify(encodeParams(p));
}

export function stateToJson(s: State): string {
  return JSON.stringify(encodeState(s));
}

/** Signatures as a JSON array (hex strings, null for a missing one). */
export function sigsToJson(sigs: readonly (Hex | null)[], allowMissing: boolean): string {
  return JSON.stringify(
    arr(sigs, 'sigs', invalid).map((sig, i) => {
      if (sig === null && allowMissing) return null;
      if (typeof sig !== 'string' || !HEX.test(sig) || sig.length <= 2) {
        invalid(`sigs[${i}] must be a non-empty 0x-prefixed hex string${allowMissing ? ' or null' : ''}`);
      }
      return sig;
    }),
  );
}

// ----- decoding (JSON text -> typed value) --------------------------------------------------------

function parse(text: unknown, fail: Fail): unknown {
  if (typeof text !== 'string') fail('not a string');
  try {
    return JSON.parse(text as string);
  } catch (err) {
    return fail(`not JSON (${(err as Error).message})`);
  }
}

function decBig(v: unknown, path: string, fail: Fail): bigint {
  if (typeof v !== 'string' || !DECIMAL.test(v)) fail(`${path} must be a decimal string`);
  return BigInt(v as string);
}

function decParticipant(v: unknown, path: string, fail: Fail): Participant {
  const q = obj(v, path, fail);
  return {
    ethAddress: str(q.ethAddress, `${path}.ethAddress`, fail),
    ccAddress: str(q.ccAddress, `${path}.ccAddress`, fail),
  };
}

export function paramsFromJson(text: unknown): Params {
  const fail = corruptIn('params');
  const o = obj(parse(text, fail), 'params', fail);
  return {
    challengeDuration: decBig(o.challengeDuration, 'challengeDuration', fail),
    nonce: decBig(o.nonce, 'nonce', fail),
    participants: arr(o.participants, 'participants', fail).map((x, i) =>
      decParticipant(x, `participants[${i}]`, fail),
    ),
    app: str(o.app, 'app', fail),
    ledgerChannel: bool(o.ledgerChannel, 'ledgerChannel', fail),
    virtualChannel: bool(o.virtualChannel, 'virtualChannel', fail),
  };
}

function decAsset(v: unknown, path: string, fail: Fail): Asset {
  const a = obj(v, path, fail);
  return {
    chainID: decBig(a.chainID, `${path}.chainID`, fail),
    ethHolder: str(a.ethHolder, `${path}.ethHolder`, fail),
    ccHolder: str(a.ccHolder, `${path}.ccHolder`, fail),
  };
}

function decSubAlloc(v: unknown, path: string, fail: Fail): SubAlloc {
  const l = obj(v, path, fail);
  return {
    ID: str(l.ID, `${path}.ID`, fail),
    balances: arr(l.balances, `${path}.balances`, fail).map((b, j) =>
      decBig(b, `${path}.balances[${j}]`, fail),
    ),
    indexMap: arr(l.indexMap, `${path}.indexMap`, fail).map((n, j) => int(n, `${path}.indexMap[${j}]`, fail)),
  };
}

export function stateFromJson(text: unknown): State {
  const fail = corruptIn('state');
  const o = obj(parse(text, fail), 'state', fail);
  const out = obj(o.outcome, 'outcome', fail);
  const outcome: Allocation = {
    assets: arr(out.assets, 'outcome.assets', fail).map((x, i) => decAsset(x, `outcome.assets[${i}]`, fail)),
    backends: arr(out.backends, 'outcome.backends', fail).map((b, i) =>
      decBig(b, `outcome.backends[${i}]`, fail),
    ),
    balances: arr(out.balances, 'outcome.balances', fail).map((row, i) =>
      arr(row, `outcome.balances[${i}]`, fail).map((b, j) => decBig(b, `outcome.balances[${i}][${j}]`, fail)),
    ),
    locked: arr(out.locked, 'outcome.locked', fail).map((x, i) =>
      decSubAlloc(x, `outcome.locked[${i}]`, fail),
    ),
  };
  return {
    channelID: str(o.channelID, 'channelID', fail),
    version: decBig(o.version, 'version', fail),
    outcome,
    appData: str(o.appData, 'appData', fail),
    isFinal: bool(o.isFinal, 'isFinal', fail),
  };
}

export function sigsFromJson(text: unknown, allowMissing: true): (Hex | null)[];
export function sigsFromJson(text: unknown, allowMissing: false): Hex[];
export function sigsFromJson(text: unknown, allowMissing: boolean): (Hex | null)[] {
  const fail = corruptIn('signatures');
  return arr(parse(text, fail), 'sigs', fail).map((sig, i) => {
    if (sig === null && allowMissing) return null;
    if (typeof sig !== 'string' || !HEX.test(sig)) fail(`sigs[${i}] must be a hex string`);
    return sig as Hex;
  });
}

/** Peer identities as a JSON array of strings (the memory store keeps them this way too). */
export function stringsFromJson(text: unknown, what: string): string[] {
  const fail = corruptIn(what);
  return arr(parse(text, fail), what, fail).map((s, i) => str(s, `${what}[${i}]`, fail));
}

/** Decimal text -> bigint for single columns (versions, block numbers). */
export function bigFromColumn(v: unknown, what: string): bigint {
  return decBig(v, what, corruptIn(what));
}
