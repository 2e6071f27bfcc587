// Fuzzing the first reader of every inbound DIDComm body (src/agent/transport/common.ts, shared by
// the HTTP and WebSocket transports): random bytes, text, JSON values and mutated envelopes are
// either an envelope whose four JWE fields are strings or a MalformedEnvelopeError, never anything
// else; the Content-Type reader takes any header.
import fc from 'fast-check';
import { isValidJweStructure } from '@credo-ts/didcomm';
import { MalformedEnvelopeError, mediaType, parseEnvelope } from '../../src/agent/transport/common.js';
import { applyEdits, edit, toText } from '../protocols/didcomm-fuzz-support.js';

const ENVELOPE = {
  protected: 'eyJlbmMiOiJ4Y2hhY2hhMjBwb2x5MTMwNV9pZXRmIiwidHlwIjoiSldNLzEuMCIsImFsZyI6IkF1dGhjcnlwdCJ9',
  iv: 'q1x9hJ4zXx0Kqk1bq6v0zQ2cK6xQe3nW',
  ciphertext: 'b3BhcXVlIGNpcGhlcnRleHQ',
  tag: 'dGFnIG9mIDE2IGJ5dGVz',
};

function envelopeOrRefusal(body: Buffer | string): void {
  let envelope;
  try {
    envelope = parseEnvelope(body);
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedEnvelopeError);
    return;
  }
  expect(isValidJweStructure(envelope)).toBe(true);
  for (const k of ['protected', 'iv', 'ciphertext', 'tag'] as const)
    expect(typeof envelope[k]).toBe('string');
}

describe('the envelope reader under fuzzing', () => {
  it('reads a valid envelope', () => {
    expect(parseEnvelope(JSON.stringify(ENVELOPE))).toEqual(ENVELOPE);
  });

  it('refuses random bytes and text with MalformedEnvelopeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 100 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        envelopeOrRefusal,
      ),
      { numRuns: 5_000 },
    );
  });

  it('reads mutated envelopes as envelopes with string fields or refuses them', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) =>
        envelopeOrRefusal(toText(applyEdits(ENVELOPE, edits))),
      ),
      { numRuns: 5_000 },
    );
  });

  it('reads any Content-Type header without throwing', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 100 }), { nil: undefined }), (header) => {
        const type = mediaType(header);
        if (type !== undefined) {
          expect(type).toBe(type.trim().toLowerCase());
          expect(type).not.toContain(';');
          expect(type).not.toBe('');
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
