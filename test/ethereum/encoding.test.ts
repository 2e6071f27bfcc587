// The hand-written encoder agrees with ethers' AbiCoder on every tuple, byte for byte.
import fc from 'fast-check';
import { AbiCoder, getAddress, hexlify, keccak256 } from 'ethers';
import {
  PARAMS_TYPE,
  STATE_TYPE,
  WITHDRAWAL_AUTH_TYPE,
  channelId,
  decodeParams,
  decodeState,
  decodeWithdrawalAuth,
  effectiveIndexMap,
  encodeParams,
  encodeState,
  encodeWithdrawalAuth,
  fundingId,
  hashState,
  type Params,
  type State,
  type WithdrawalAuth,
} from '../../src/channels/ethereum/encoding.js';
import { EncodingError } from '../../src/channels/errors.js';
import { HOLDER_A, HOLDER_B, allocation, ledgerParams, stateOf } from './fixtures.js';

const coder = AbiCoder.defaultAbiCoder();
const hexOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => hexlify(b));
const addr = hexOf(20).map((h) => getAddress(h));
const u256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const bytesArb = fc.uint8Array({ maxLength: 70 }).map((b) => hexlify(b));

const paramsArb: fc.Arbitrary<Params> = fc.record({
  challengeDuration: u256,
  nonce: u256,
  participants: fc.array(fc.record({ ethAddress: addr, ccAddress: bytesArb }), { maxLength: 4 }),
  app: addr,
  ledgerChannel: fc.boolean(),
  virtualChannel: fc.boolean(),
});

const stateArb: fc.Arbitrary<State> = fc
  .record({ nAssets: fc.integer({ min: 0, max: 3 }), nParts: fc.integer({ min: 1, max: 3 }) })
  .chain(({ nAssets, nParts }) =>
    fc.record({
      channelID: hexOf(32),
      version: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      outcome: fc.record({
        assets: fc.array(fc.record({ chainID: u256, ethHolder: addr, ccHolder: bytesArb }), {
          minLength: nAssets,
          maxLength: nAssets,
        }),
        backends: fc.array(u256, { minLength: nAssets, maxLength: nAssets }),
        balances: fc.array(fc.array(u256, { minLength: nParts, maxLength: nParts }), {
          minLength: nAssets,
          maxLength: nAssets,
        }),
        locked: fc.array(
          fc.record({
            ID: hexOf(32),
            balances: fc.array(u256, { minLength: nAssets, maxLength: nAssets }),
            indexMap: fc.oneof(
              fc.constant([] as number[]),
              fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 3 }),
            ),
          }),
          { maxLength: 2 },
        ),
      }),
      appData: bytesArb,
      isFinal: fc.boolean(),
    }),
  );

/** What ethers encodes, after the one documented rewrite: empty index maps become the identity. */
function asSigned(s: State): State {
  const n = s.outcome.balances[0]?.length ?? 0;
  return {
    ...s,
    outcome: {
      ...s.outcome,
      locked: s.outcome.locked.map((l) => ({ ...l, indexMap: effectiveIndexMap(l.indexMap, n) })),
    },
  };
}

describe('ABI encoding of the Perun tuples', () => {
  it('encodes Params exactly as abi.encode does', () => {
    fc.assert(
      fc.property(paramsArb, (p) => {
        expect(encodeParams(p)).toBe(coder.encode([PARAMS_TYPE], [p]));
        expect(channelId(p)).toBe(keccak256(coder.encode([PARAMS_TYPE], [p])));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes State exactly as abi.encode does, with empty index maps as the identity', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        const expected = coder.encode([STATE_TYPE], [asSigned(s)]);
        expect(encodeState(s)).toBe(expected);
        expect(hashState(s)).toBe(keccak256(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes WithdrawalAuth exactly as abi.encode does', () => {
    const authArb: fc.Arbitrary<WithdrawalAuth> = fc.record({
      channelID: hexOf(32),
      participant: fc.record({ ethAddress: addr, ccAddress: bytesArb }),
      receiver: addr,
      amount: u256,
    });
    fc.assert(
      fc.property(authArb, (w) => {
        expect(encodeWithdrawalAuth(w)).toBe(coder.encode([WITHDRAWAL_AUTH_TYPE], [w]));
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips through the decoders', () => {
    fc.assert(
      fc.property(paramsArb, stateArb, (p, s) => {
        const dp = decodeParams(encodeParams(p));
        expect(encodeParams(dp)).toBe(encodeParams(p));
        const ds = decodeState(encodeState(s));
        expect(encodeState(ds)).toBe(encodeState(s));
      }),
      { numRuns: 100 },
    );
    const w: WithdrawalAuth = {
      channelID: '0x' + '11'.repeat(32),
      participant: { ethAddress: HOLDER_A, ccAddress: '0x' + '00'.repeat(32) },
      receiver: HOLDER_B,
      amount: 5n,
    };
    expect(decodeWithdrawalAuth(encodeWithdrawalAuth(w))).toEqual(w);
  });

  it('computes the funding ID as keccak256(abi.encode(channelID, participant))', () => {
    const id = '0x' + 'ab'.repeat(32);
    expect(fundingId(id, HOLDER_A)).toBe(keccak256(coder.encode(['bytes32', 'address'], [id, HOLDER_A])));
  });

  it('gives a participant with only an Ethereum address 32 zero bytes of ccAddress', () => {
    const p = ledgerParams([HOLDER_A, HOLDER_B]);
    expect(p.participants[0]!.ccAddress).toBe('0x' + '00'.repeat(32));
    const s = stateOf(p, 0n, allocation(1n, [HOLDER_A], [[1n, 2n]]));
    expect(s.outcome.assets[0]!.ccHolder).toBe('0x' + '00'.repeat(32));
  });

  it('refuses values that do not fit their ABI type with a typed error', () => {
    const p = ledgerParams([HOLDER_A, HOLDER_B]);
    const s = stateOf(p, 0n, allocation(1n, [HOLDER_A], [[1n, 2n]]));
    const bad: Array<[string, () => unknown]> = [
      ['negative balance', () => encodeState({ ...s, outcome: { ...s.outcome, balances: [[-1n, 2n]] } })],
      ['version over uint64', () => encodeState({ ...s, version: 1n << 64n })],
      ['short channel ID', () => encodeState({ ...s, channelID: '0x1234' })],
      ['bad address', () => encodeParams({ ...p, app: '0x12' })],
      ['odd hex', () => encodeState({ ...s, appData: '0x123' })],
      [
        'index over uint16',
        () =>
          encodeState({
            ...s,
            outcome: { ...s.outcome, locked: [{ ID: s.channelID, balances: [1n], indexMap: [70000] }] },
          }),
      ],
      ['nonce over uint256', () => encodeParams({ ...p, nonce: 1n << 256n })],
    ];
    for (const [what, f] of bad) {
      expect({
        what,
        error: (() => {
          try {
            f();
            return undefined;
          } catch (e) {
            return e;
          }
        })(),
      }).toEqual({
        what,
        error: expect.any(EncodingError),
      });
    }
    expect(() => decodeState('0x1234')).toThrow(EncodingError);
  });
});
