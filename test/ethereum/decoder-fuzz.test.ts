// Fuzzing the ABI decoders that read untrusted bytes (calldata of registrations found on chain):
// random bytes and mutations of valid encodings (flipped bytes, cut or extended data, huge
// offsets and lengths) are refused with EncodingError or decode to a value that encodes and
// decodes again to the same value, never anything else.
import fc from 'fast-check';
/* eslint-disable @typescript-eslint/no-explicit-any -- edits are generated records of several shapes */
import { hexlify } from 'ethers';
import { EncodingError } from '../../src/channels/errors.js';
import {
  decodeParams,
  decodeState,
  decodeWithdrawalAuth,
  encodeParamsBytes,
  encodeStateBytes,
  encodeWithdrawalAuthBytes,
} from '../../src/channels/ethereum/encoding.js';
import { HOLDER_A, HOLDER_B, allocation, ledgerParams, stateOf } from './fixtures.js';

const params = ledgerParams(['0x' + '11'.repeat(20), '0x' + '22'.repeat(20)]);
const state = stateOf(
  params,
  9n,
  allocation(
    31337n,
    [HOLDER_A, HOLDER_B],
    [
      [1n, 2n],
      [3n, 4n],
    ],
    [{ ID: '0x' + '77'.repeat(32), balances: [1n, 1n], indexMap: [] }],
  ),
);
const auth = {
  channelID: state.channelID,
  participant: params.participants[0]!,
  receiver: HOLDER_B,
  amount: 5n,
};

interface Codec<T> {
  encode: (value: T) => Uint8Array;
  decode: (hex: string) => T;
}
const codec = <T>(encode: (value: T) => Uint8Array, decode: (hex: string) => T): Codec<unknown> =>
  ({ encode, decode }) as Codec<unknown>;

const cases = [
  ['params', encodeParamsBytes(params), codec(encodeParamsBytes, decodeParams)],
  ['state', encodeStateBytes(state), codec(encodeStateBytes, decodeState)],
  [
    'withdrawal authorization',
    encodeWithdrawalAuthBytes(auth),
    codec(encodeWithdrawalAuthBytes, decodeWithdrawalAuth),
  ],
] as const;

/**
 * Decodes `bytes`: a refusal must be an EncodingError, a decoded value must survive encode →
 * decode. An empty sub-allocation index map is encoded as the identity map (as go-perun's Ethereum
 * backend does), so the value is compared after that one normalisation: its encoding decodes to a
 * value that encodes to the same bytes and decodes to itself. Whether the bytes decoded.
 */
function decodesOrRefuses({ encode, decode }: Codec<unknown>, bytes: Uint8Array): boolean {
  let value: unknown;
  try {
    value = decode(hexlify(bytes));
  } catch (err) {
    expect(err).toBeInstanceOf(EncodingError);
    return false;
  }
  const encoded = hexlify(encode(value));
  const normalised = decode(encoded);
  expect(withoutIndexMaps(normalised)).toEqual(withoutIndexMaps(value));
  expect(hexlify(encode(normalised))).toBe(encoded);
  expect(decode(hexlify(encode(normalised)))).toEqual(normalised);
  return true;
}

/** `v` with every `indexMap` field left out (the one field the encoding normalises). */
function withoutIndexMaps(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutIndexMaps);
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .filter(([k]) => k !== 'indexMap')
      .map(([k, x]) => [k, withoutIndexMaps(x)]),
  );
}

/** Edits of a valid encoding: overwrite a byte, write a big word at a word boundary, cut, extend. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('word' as const),
    at: fc.nat(),
    value: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 96 }) }),
);

function apply(base: Uint8Array, edits: any[]): Uint8Array {
  let b = new Uint8Array(base);
  for (const e of edits) {
    if (e.kind === 'byte' && b.length > 0) b[e.at % b.length] = e.value;
    if (e.kind === 'word' && b.length >= 32) {
      const at = (e.at % Math.floor(b.length / 32)) * 32;
      b.set(Buffer.from((e.value as bigint).toString(16).padStart(64, '0'), 'hex'), at);
    }
    if (e.kind === 'cut') b = b.subarray(0, e.at % (b.length + 1));
    if (e.kind === 'extend') b = new Uint8Array([...b, ...e.bytes]);
  }
  return b;
}

describe.each(cases)('decoding %s', (_, valid, c) => {
  it('decodes the valid encoding to a value that round-trips', () => {
    expect(decodesOrRefuses(c, valid)).toBe(true);
  });

  it('refuses random bytes with EncodingError or decodes them to a value that round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (bytes) => {
        decodesOrRefuses(c, bytes);
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses mutated encodings with EncodingError or decodes them to a value that round-trips', () => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        if (decodesOrRefuses(c, apply(valid, edits))) decoded++;
      }),
      { numRuns: 2_000 },
    );
    // Many edits (a changed amount or balance, extra bytes after the data) leave a decodable
    // encoding: the round trip above was checked on those, not only on refusals.
    expect(decoded).toBeGreaterThan(20);
  });
});
