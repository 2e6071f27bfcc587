// The credential payment app's data read without an error (credentialPaymentDataOf, which the
// agent's credential sales ask of every update of every channel): undefined exactly where
// decodeCredentialPaymentData throws, the same fields where it decodes.
import fc from 'fast-check';
import {
  credentialPaymentDataOf,
  decodeCredentialPaymentData,
  encodeDelivery,
  encodeOffer,
} from '../../src/channels/ethereum/apps/credential-payment.js';
import { ValidationError } from '../../src/channels/errors.js';
import type { Hex } from '../../src/channels/types.js';

const HASH = `0x${'ab'.repeat(32)}` as Hex;
const SIG = `0x${'cd'.repeat(65)}` as Hex;

function decoded(data: Hex): unknown {
  try {
    return decodeCredentialPaymentData(data);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return undefined;
  }
}

describe('credentialPaymentDataOf', () => {
  it.each<[string, Hex]>([
    ['a payment channel (no app data)', '0x'],
    ['an offer one byte short', encodeOffer({ credentialHash: HASH, price: 5n }).slice(0, -2) as Hex],
    [
      'an offer with the delivery stage',
      `${encodeOffer({ credentialHash: HASH, price: 5n }).slice(0, -2)}01` as Hex,
    ],
    ['not hex', '0xzz' as Hex],
  ])('%s: undefined, where decoding throws', (_, data) => {
    expect(credentialPaymentDataOf(data)).toBeUndefined();
    expect(() => decodeCredentialPaymentData(data)).toThrow(ValidationError);
  });

  it('reads an offer and a delivery as decoding does', () => {
    const offer = encodeOffer({ credentialHash: HASH, price: 7n });
    expect(credentialPaymentDataOf(offer)).toEqual({ stage: 'OFFERED', credentialHash: HASH, price: 7n });
    const delivery = encodeDelivery({ credentialHash: HASH, price: 7n, issuerSig: SIG });
    expect(credentialPaymentDataOf(delivery)).toEqual(decodeCredentialPaymentData(delivery));
    expect(credentialPaymentDataOf(delivery)).toMatchObject({ stage: 'DELIVERED', issuerSig: SIG });
  });

  it('agrees with decoding on any data of the two lengths and around them', () => {
    const data = fc
      .oneof(fc.constant(65), fc.constant(130), fc.integer({ min: 0, max: 140 }))
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      .map((b) => {
        // The stage byte 0 or 1 half of the time, so both stages and both outcomes occur.
        if (b.length > 64 && b[0]! % 2 === 0) b[64] = b[1]! % 2;
        return `0x${Buffer.from(b).toString('hex')}` as Hex;
      });
    let read = 0;
    fc.assert(
      fc.property(data, (d) => {
        const got = credentialPaymentDataOf(d);
        if (got !== undefined) read++;
        expect(got).toEqual(decoded(d));
      }),
      { numRuns: 500 },
    );
    expect(read).toBeGreaterThan(0);
  });
});
