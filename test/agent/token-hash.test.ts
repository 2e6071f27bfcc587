// The API's token hash (scoped-tokens.ts `sha256`, Node's one-shot digest where it has one) is the
// SHA-256 of the token's UTF-8 bytes, as the token files written before it store them.
import { createHash } from 'node:crypto';
import { sha256 } from '../../src/agent/api/scoped-tokens.js';

it.each(['', 'perun_pay_0a1b2c3d', 'tök€n ✓', 'x'.repeat(5000)])(
  'hashes %j as SHA-256 of its UTF-8 bytes',
  (text) => {
    const expected = createHash('sha256').update(Buffer.from(text, 'utf8')).digest();
    expect(Buffer.isBuffer(sha256(text))).toBe(true);
    expect(sha256(text).equals(expected)).toBe(true);
  },
);

it('matches a known vector', () => {
  expect(sha256('abc').toString('hex')).toBe(
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});
