// What users type and read: amounts in ETH or token units convert exactly to base units and back,
// anything else is a 400 with INVALID_AMOUNT; every error the agent raises becomes
// { category, code, message, details } with the right HTTP status, and internal faults leak nothing.
import fc from 'fast-check';
import { ApiRequestError, toApiError } from '../../src/agent/api/api-error.js';
import { formatAmount, parseAmount } from '../../src/agent/api/amounts.js';
import { WrongPassphraseError } from '../../src/agent/kms/errors.js';
import {
  ChainError,
  ChannelClientError,
  FundingTimeoutError,
  InvalidTransitionError,
  MalformedMessageError,
  PeerUnreachableError,
  SignatureError,
} from '../../src/channels/errors.js';
import { StaleStateError } from '../../src/channels/persistence/errors.js';
import { PeerNotAuthorizedError } from '../../src/protocols/identity/errors.js';

describe('amounts', () => {
  it.each([
    ['1', 18, 10n ** 18n],
    ['1.5', 18, 15n * 10n ** 17n],
    ['0.000000000000000001', 18, 1n],
    ['42', 0, 42n],
    ['12.34', 2, 1234n],
    [' 7 ', 6, 7_000_000n],
  ])('%s with %d decimals is %s base units', (text, decimals, units) => {
    expect(parseAmount(text, decimals)).toBe(units);
  });

  it.each([
    '',
    '-1',
    '1e18',
    '0x10',
    '1.',
    '.5',
    '1.2.3',
    'one',
    '1,5',
    '0.0000000000000000001',
    '9'.repeat(80),
  ])('refuses %j', (text) => {
    expect(() => parseAmount(text)).toThrow(ApiRequestError);
  });

  it('formats and parses back every amount exactly', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
        fc.integer({ min: 0, max: 30 }),
        (units, d) => {
          expect(parseAmount(formatAmount(units, d), d)).toBe(units);
        },
      ),
      { numRuns: 2_000 },
    );
    expect(formatAmount(15n * 10n ** 17n)).toBe('1.5');
    expect(formatAmount(0n)).toBe('0');
    expect(formatAmount(-25n, 1)).toBe('-2.5');
  });
});

describe('errors as users see them', () => {
  it.each<[string, unknown, number, string, string]>([
    [
      'a rejected update',
      new ChannelClientError('UPDATE_REJECTED', 'no', { reason: 'no' }),
      502,
      'peer',
      'UPDATE_REJECTED',
    ],
    ['a silent peer', new ChannelClientError('PEER_TIMEOUT', 'late'), 504, 'peer', 'PEER_TIMEOUT'],
    ['an unknown channel', new ChannelClientError('UNKNOWN_CHANNEL', '?'), 404, 'client', 'UNKNOWN_CHANNEL'],
    ['a busy channel', new ChannelClientError('CHANNEL_BUSY', 'busy'), 409, 'client', 'CHANNEL_BUSY'],
    [
      'an overdraft',
      new InvalidTransitionError('NEGATIVE_BALANCE', 'neg'),
      400,
      'client',
      'NEGATIVE_BALANCE',
    ],
    ['an unreachable peer', new PeerUnreachableError('gone'), 502, 'peer', 'PEER_UNREACHABLE'],
    [
      'a peer without credential',
      new PeerNotAuthorizedError('no-credential', 'none'),
      403,
      'peer',
      'PEER_NO_CREDENTIAL',
    ],
    ['a malformed message', new MalformedMessageError('bad'), 422, 'protocol', 'MALFORMED_MESSAGE'],
    ['a bad signature', new SignatureError('bad sig'), 422, 'protocol', 'INVALID_SIGNATURE'],
    ['a failed transaction', new ChainError('reverted', { reason: 'x' }), 502, 'chain', 'CHAIN'],
    [
      'a funding timeout',
      new FundingTimeoutError('late', { missing: [{ held: 5n }] }),
      502,
      'chain',
      'FUNDING_TIMEOUT',
    ],
    ['a wrong passphrase', new WrongPassphraseError(), 401, 'client', 'WRONG_PASSPHRASE'],
    [
      'a bad request body',
      new ApiRequestError(400, 'INVALID_BODY', 'amount missing'),
      400,
      'client',
      'INVALID_BODY',
    ],
  ])('%s', (_, err, status, category, code) => {
    const out = toApiError(err);
    expect(out.status).toBe(status);
    expect(out.body).toMatchObject({ category, code });
    expect(JSON.parse(JSON.stringify(out.body))).toEqual(out.body);
  });

  it('an internal fault says only that, whatever it carried', () => {
    for (const err of [
      new Error('db password is hunter2'),
      new StaleStateError('an older state'),
      'a string',
      undefined,
    ]) {
      const out = toApiError(err);
      expect(out).toEqual({
        status: 500,
        body: { category: 'internal', code: 'INTERNAL', message: 'internal error', details: {} },
      });
    }
  });
});
