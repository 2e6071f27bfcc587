// Cells from the one schema the TON contract is compiled with (contracts/ton/schema.json, carried
// in the build artifact): a struct is a list of named fields of kinds uintN, intN, bool, coins,
// address, bitsN and ref:Struct; a struct with an op starts with its 32-bit opcode. encodeStruct
// builds a cell exactly as the contract's generated Tolk structs parse it, decodeStruct reads it
// back and refuses a cell with bits or refs left over.
import { Address as TonAddress, beginCell, Cell, type Builder, type Slice } from '@ton/core';
import { EncodingError } from '../errors.js';

export interface StructDef {
  op?: string;
  fields: Array<[string, string]>;
}

export interface Schema {
  /** Exit codes of the contract's refusals, by name. */
  errors?: Record<string, number>;
  structs: Record<string, StructDef>;
}

/**
 * A field's value: bigint for integers and coins, boolean, a TON address, a Buffer for bitsN, a
 * nested struct (or the cell already built from one) for ref.
 */
export type FieldValue = bigint | boolean | TonAddress | Buffer | Cell | StructValue;
export interface StructValue {
  [field: string]: FieldValue;
}

const MAX_COINS = (1n << 120n) - 1n;

function def(schema: Schema, name: string): StructDef {
  const d = schema.structs[name];
  if (d === undefined) throw new EncodingError(`the TON schema has no struct ${name}`);
  return d;
}

function width(kind: string, prefix: string): number {
  return Number(kind.slice(prefix.length));
}

function storeField(b: Builder, schema: Schema, path: string, kind: string, v: FieldValue | undefined): void {
  const bad = (why: string): never => {
    throw new EncodingError(`cannot encode ${path}: ${why}`, { field: path, kind });
  };
  if (v === undefined) bad('missing');
  if (kind.startsWith('ref:')) {
    if (v instanceof Cell) {
      decodeStruct(schema, kind.slice(4), v, path);
      b.storeRef(v);
      return;
    }
    if (typeof v !== 'object' || v instanceof TonAddress || Buffer.isBuffer(v)) bad('expected a struct');
    b.storeRef(encodeStruct(schema, kind.slice(4), v as StructValue, path));
  } else if (kind.startsWith('uint')) {
    const n = width(kind, 'uint');
    if (typeof v !== 'bigint' || v < 0n || v >= 1n << BigInt(n)) bad(`expected an unsigned ${n}-bit integer`);
    b.storeUint(v as bigint, n);
  } else if (kind.startsWith('int')) {
    const n = width(kind, 'int');
    const half = 1n << BigInt(n - 1);
    if (typeof v !== 'bigint' || v < -half || v >= half) bad(`expected a signed ${n}-bit integer`);
    b.storeInt(v as bigint, n);
  } else if (kind === 'bool') {
    if (typeof v !== 'boolean') bad('expected a boolean');
    b.storeBit(v as boolean);
  } else if (kind === 'coins') {
    if (typeof v !== 'bigint' || v < 0n || v > MAX_COINS) bad('expected coins (0 ≤ v < 2^120)');
    b.storeCoins(v as bigint);
  } else if (kind === 'address') {
    if (!(v instanceof TonAddress)) bad('expected a TON address');
    b.storeAddress(v as TonAddress);
  } else if (kind.startsWith('bits')) {
    const n = width(kind, 'bits');
    if (!Buffer.isBuffer(v) || v.length * 8 !== n) bad(`expected ${n / 8} bytes`);
    b.storeBuffer(v as Buffer);
  } else {
    bad('unknown kind');
  }
}

function loadField(s: Slice, schema: Schema, kind: string, path: string): FieldValue {
  if (kind.startsWith('ref:')) return decodeStruct(schema, kind.slice(4), s.loadRef(), path);
  if (kind.startsWith('uint')) return s.loadUintBig(width(kind, 'uint'));
  if (kind.startsWith('int')) return s.loadIntBig(width(kind, 'int'));
  if (kind === 'bool') return s.loadBit();
  if (kind === 'coins') return s.loadCoins();
  if (kind === 'address') return s.loadAddress();
  if (kind.startsWith('bits')) return s.loadBuffer(width(kind, 'bits') / 8);
  throw new EncodingError(`unknown field kind ${kind}`, { field: path });
}

/** The cell of struct `name` holding `value`. */
export function encodeStruct(schema: Schema, name: string, value: StructValue, path = name): Cell {
  const d = def(schema, name);
  const b = beginCell();
  if (d.op !== undefined) b.storeUint(BigInt(d.op), 32);
  for (const [field, kind] of d.fields) storeField(b, schema, `${path}.${field}`, kind, value[field]);
  return b.endCell();
}

/** Reads struct `name` from `cell`; refuses a wrong opcode and anything left over. */
export function decodeStruct(schema: Schema, name: string, cell: Cell, path = name): StructValue {
  const d = def(schema, name);
  const s = cell.beginParse();
  try {
    if (d.op !== undefined && s.loadUintBig(32) !== BigInt(d.op)) {
      throw new EncodingError(`not a ${name} cell: wrong opcode`, { field: path });
    }
    const out: StructValue = {};
    for (const [field, kind] of d.fields) out[field] = loadField(s, schema, kind, `${path}.${field}`);
    if (s.remainingBits !== 0 || s.remainingRefs !== 0) {
      throw new EncodingError(`${name} cell has data left over`, { field: path });
    }
    return out;
  } catch (err) {
    if (err instanceof EncodingError) throw err;
    throw new EncodingError(`malformed ${name} cell`, { field: path }, { cause: err });
  }
}

/** The struct whose opcode starts `cell`, if the schema has one. */
export function structOf(schema: Schema, cell: Cell): string | undefined {
  const s = cell.beginParse();
  if (s.remainingBits < 32) return undefined;
  const op = s.loadUintBig(32);
  return Object.entries(schema.structs).find(([, d]) => d.op !== undefined && BigInt(d.op) === op)?.[0];
}
