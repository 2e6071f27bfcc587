// The signature parser (word comparisons on the bytes) takes exactly what the rule written with
// numbers takes: 0x and 130 hex digits in either case, v 27 or 28, 0 < r < n, 0 < s ≤ n/2, at
// every boundary of r, s and v and on random input; what it takes is r ‖ s ‖ v - 27.
import fc from 'fast-check';

import { parseSig } from '../../src/channels/ethereum/signer.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;
const word = (x: bigint) => x.toString(16).padStart(64, '0');

/** The rule as numbers, as the parser was first written. */
function byNumbers(sig: string): Uint8Array | undefined {
  if (!/^0x[0-9a-fA-F]{130}$/.test(sig)) return undefined;
  const r = BigInt('0x' + sig.slice(2, 66));
  const s = BigInt('0x' + sig.slice(66, 130));
  const v = parseInt(sig.slice(130, 132), 16);
  if ((v !== 27 && v !== 28) || r === 0n || r >= N || s === 0n || s > HALF_N) return undefined;
  const out = new Uint8Array(Buffer.from(sig.slice(2), 'hex'));
  out[64] = v - 27;
  return out;
}

const same = (sig: string) => {
  const got = parseSig(sig);
  const want = byNumbers(sig);
  expect(got === undefined ? undefined : Array.from(got)).toEqual(
    want === undefined ? undefined : Array.from(want),
  );
  return got !== undefined;
};

const rs = [0n, 1n, HALF_N - 1n, HALF_N, HALF_N + 1n, N - 1n, N, N + 1n, 2n ** 256n - 1n];
const vs = [0, 1, 26, 27, 28, 29, 255];

describe('parseSig', () => {
  it('agrees with the rule in numbers at every boundary of r, s and v', () => {
    let taken = 0;
    for (const r of rs)
      for (const s of rs)
        for (const v of vs) {
          const sig = '0x' + word(r) + word(s) + v.toString(16).padStart(2, '0');
          if (same(sig)) taken++;
          same(sig.toUpperCase().replace('0X', '0x'));
        }
    // r in {1, n/2 - 1, n/2, n/2 + 1, n - 1}, s in {1, n/2 - 1, n/2}, v in {27, 28}.
    expect(taken).toBe(5 * 3 * 2);
  });

  it('agrees with the rule in numbers on random and malformed input', () => {
    const hex = fc.stringMatching(/^[0-9a-fA-F]*$/);
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.constantFrom(...rs)),
        fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.constantFrom(...rs)),
        fc.integer({ min: 0, max: 255 }),
        (r, s, v) => void same('0x' + word(r) + word(s) + v.toString(16).padStart(2, '0')),
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(hex, (h) => void same('0x' + h)),
      { numRuns: 500 },
    );
    for (const bad of ['', '0x', '0x' + 'g'.repeat(130), '0X' + '11'.repeat(65), ' 0x' + '11'.repeat(65)])
      expect(same(bad)).toBe(false);
  });
});
