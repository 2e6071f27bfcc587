// Validation scenarios: the Alice–Bob channel's states are accepted; each way of breaking an
// allocation, a state or an update (one field changed at a time) is refused with its own typed
// error and code; and, as properties, random payment sequences keep every total while random
// mutations of a valid update are refused.
import fc from 'fast-check';
import {
  InvalidAllocationError,
  InvalidParamsError,
  InvalidStateError,
  InvalidTransitionError,
  ValidationError,
} from '../../src/channels/errors.js';
import type { Allocation, State } from '../../src/channels/types.js';
import {
  MAX_UINT256,
  MAX_VERSION_STEP,
  checkUpdate,
  paymentAppRule,
  totals,
  validateAllocation,
  validateParams,
  validateState,
} from '../../src/channels/validation.js';
import { CHANNEL_ID, PARAMS, alice, edit, params, pay, state } from './fixtures.js';

/** Runs `fn` and returns what it threw. */
function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

function expectRefusal(
  fn: () => void,
  cls: new (...a: never[]) => ValidationError,
  code: string,
): ValidationError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(cls);
  expect((err as ValidationError).code).toBe(code);
  return err as ValidationError;
}

const alloc = (): Allocation => state().outcome;

describe('params', () => {
  it('accept the Alice–Bob ledger channel', () => {
    expect(() => validateParams(PARAMS)).not.toThrow();
  });

  it.each<[string, Partial<typeof PARAMS>, string]>([
    ['one participant', { participants: PARAMS.participants.slice(0, 1) }, 'TOO_FEW_PARTICIPANTS'],
    [
      'Alice twice',
      { participants: [PARAMS.participants[0]!, PARAMS.participants[0]!] },
      'DUPLICATE_PARTICIPANT',
    ],
    ['a zero challenge duration', { challengeDuration: 0n }, 'INVALID_CHALLENGE_DURATION'],
    ['a 65-bit challenge duration', { challengeDuration: 1n << 64n }, 'INVALID_CHALLENGE_DURATION'],
    ['a 257-bit nonce', { nonce: 1n << 256n }, 'INVALID_PARAMS'],
    ['a negative nonce', { nonce: -1n }, 'INVALID_PARAMS'],
    ['an app that is no address', { app: '0x1234' }, 'INVALID_PARAMS'],
    ['ledger and virtual at once', { virtualChannel: true }, 'INVALID_PARAMS'],
  ])('refuse %s', (_name, change, code) => {
    expectRefusal(() => validateParams(params(change)), InvalidParamsError, code);
  });
});

describe('allocation', () => {
  it('accepts two assets, two participants and a sub-channel', () => {
    expect(() => validateAllocation(alloc(), 2)).not.toThrow();
  });

  it('accepts an explicit index map of distinct participants', () => {
    const a = alloc();
    a.locked[0]!.indexMap = [1, 0];
    expect(() => validateAllocation(a, 2)).not.toThrow();
  });

  it('accepts the largest uint256 balance', () => {
    const a = alloc();
    a.balances[0]![0] = MAX_UINT256;
    expect(() => validateAllocation(a, 2)).not.toThrow();
  });

  const cases: Array<[string, (a: Allocation) => void, string]> = [
    ['no assets', (a) => ((a.assets = []), (a.backends = []), (a.balances = [])), 'NO_ASSETS'],
    ['a backend missing', (a) => a.backends.pop(), 'BACKENDS_MISMATCH'],
    ['an extra backend', (a) => a.backends.push(1n), 'BACKENDS_MISMATCH'],
    ['a balance row missing', (a) => a.balances.pop(), 'BALANCES_MISMATCH'],
    ['an extra balance row', (a) => a.balances.push([1n, 1n]), 'BALANCES_MISMATCH'],
    ['a balance missing in a row', (a) => a.balances[1]!.pop(), 'PARTICIPANTS_MISMATCH'],
    ['an extra balance in a row', (a) => a.balances[0]!.push(0n), 'PARTICIPANTS_MISMATCH'],
    ['a negative balance', (a) => (a.balances[0]![1] = -1n), 'NEGATIVE_BALANCE'],
    ['a balance of 2^256', (a) => (a.balances[1]![0] = MAX_UINT256 + 1n), 'VALUE_TOO_LARGE'],
    ['a number instead of a bigint', (a) => ((a.balances[0] as unknown[])[0] = 5), 'MALFORMED'],
    ['a negative backend ID', (a) => (a.backends[0] = -1n), 'NEGATIVE_BALANCE'],
    ['a malformed asset holder', (a) => (a.assets[0]!.ethHolder = '0x12'), 'MALFORMED'],
    ['a negative locked total', (a) => (a.locked[0]!.balances[0] = -5n), 'NEGATIVE_BALANCE'],
    ['a locked total of 2^256', (a) => (a.locked[0]!.balances[1] = 1n << 256n), 'VALUE_TOO_LARGE'],
    [
      'a sub-allocation with one total per participant missing an asset',
      (a) => a.locked[0]!.balances.pop(),
      'SUBALLOC_MISMATCH',
    ],
    ['a sub-allocation with an extra total', (a) => a.locked[0]!.balances.push(1n), 'SUBALLOC_MISMATCH'],
    ['a sub-allocation ID of 31 bytes', (a) => (a.locked[0]!.ID = '0x' + 'ab'.repeat(31)), 'MALFORMED'],
    [
      'the same sub-allocation twice',
      (a) => a.locked.push(structuredClone(a.locked[0]!)),
      'DUPLICATE_SUBALLOC',
    ],
    ['an index map entry out of range', (a) => (a.locked[0]!.indexMap = [0, 2]), 'INVALID_INDEX_MAP'],
    ['a repeated index map entry', (a) => (a.locked[0]!.indexMap = [1, 1]), 'INVALID_INDEX_MAP'],
    ['a negative index map entry', (a) => (a.locked[0]!.indexMap = [-1]), 'INVALID_INDEX_MAP'],
    ['a fractional index map entry', (a) => (a.locked[0]!.indexMap = [0.5]), 'INVALID_INDEX_MAP'],
  ];
  it.each(cases)('refuses %s', (_name, change, code) => {
    const a = alloc();
    change(a);
    expectRefusal(() => validateAllocation(a, 2), InvalidAllocationError, code);
  });

  it('refuses more than 1024 assets', () => {
    const a = alloc();
    const n = 1025;
    a.assets = Array.from({ length: n }, () => a.assets[0]!);
    a.backends = Array.from({ length: n }, () => 1n);
    a.balances = Array.from({ length: n }, () => [1n, 1n]);
    a.locked = [];
    expectRefusal(() => validateAllocation(a, 2), InvalidAllocationError, 'TOO_MANY_ASSETS');
  });

  it('refuses a rectangular allocation for the wrong number of participants', () => {
    expectRefusal(() => validateAllocation(alloc(), 3), InvalidAllocationError, 'PARTICIPANTS_MISMATCH');
  });

  it('sums locked funds into the totals', () => {
    expect(totals(alloc())).toEqual([160n, 12n]);
  });
});

describe('state', () => {
  it('accepts version 0 of the channel', () => {
    expect(() => validateState(PARAMS, state(), { channelID: CHANNEL_ID })).not.toThrow();
  });

  const cases: Array<[string, (s: State) => void, new (...a: never[]) => ValidationError, string]> = [
    [
      'another channel ID',
      (s) => (s.channelID = '0x' + '01'.repeat(32)),
      InvalidStateError,
      'CHANNEL_MISMATCH',
    ],
    ['a short channel ID', (s) => (s.channelID = '0x01'), InvalidStateError, 'CHANNEL_MISMATCH'],
    ['a negative version', (s) => (s.version = -1n), InvalidStateError, 'VERSION_OUT_OF_RANGE'],
    ['a 65-bit version', (s) => (s.version = 1n << 64n), InvalidStateError, 'VERSION_OUT_OF_RANGE'],
    ['app data in a channel without app', (s) => (s.appData = '0x00'), InvalidStateError, 'INVALID_APP_DATA'],
    ['app data that is not hex', (s) => (s.appData = 'zz'), InvalidStateError, 'INVALID_APP_DATA'],
    ['a final state with locked funds', (s) => (s.isFinal = true), InvalidStateError, 'FINAL_WITH_LOCKED'],
    [
      'a negative balance',
      (s) => (s.outcome.balances[0]![0] = -1n),
      InvalidAllocationError,
      'NEGATIVE_BALANCE',
    ],
  ];
  it.each(cases)('refuses %s', (_name, change, cls, code) => {
    expectRefusal(() => validateState(PARAMS, edit(state(), change), { channelID: CHANNEL_ID }), cls, code);
  });

  it('accepts a final state without locked funds, and app data in an app channel', () => {
    expect(() => validateState(PARAMS, { ...state(3n, false), isFinal: true })).not.toThrow();
    const app = params({ app: '0x3333333333333333333333333333333333333333' });
    expect(() => validateState(app, { ...state(), appData: '0xdeadbeef' })).not.toThrow();
  });
});

describe('an update', () => {
  const current = state(5n);

  it('is valid when Alice pays Bob 30 ETH at version 6', () => {
    expect(() => checkUpdate(PARAMS, current, pay(current, 0, 1, 30n), { actor: 0 })).not.toThrow();
  });

  it('may move funds into the locked sub-channel as long as the totals hold', () => {
    const next = edit(pay(current, 0, 1, 0n), (s) => {
      s.outcome.balances[0]![0]! -= 5n;
      s.outcome.locked[0]!.balances[0]! += 5n;
    });
    expect(() => checkUpdate(PARAMS, current, next)).not.toThrow();
    expectRefusal(
      () => checkUpdate(PARAMS, current, next, { lockedUnchanged: true }),
      InvalidTransitionError,
      'LOCKED_CHANGED',
    );
  });

  const valid = pay(current, 0, 1, 30n);
  const cases: Array<[string, (s: State) => void, string]> = [
    ['for another channel', (s) => (s.channelID = '0x' + '02'.repeat(32)), 'CHANNEL_MISMATCH'],
    ['replaying the current version', (s) => (s.version = 5n), 'STALE_VERSION'],
    ['with an older version', (s) => (s.version = 2n), 'STALE_VERSION'],
    [
      'skipping more than the largest version step',
      (s) => (s.version = 6n + MAX_VERSION_STEP),
      'VERSION_GAP',
    ],
    ['creating money', (s) => (s.outcome.balances[0]![1]! += 1n), 'NOT_CONSERVED'],
    ['destroying money', (s) => (s.outcome.balances[1]![0]! -= 1n), 'NOT_CONSERVED'],
    ['changing a locked total', (s) => (s.outcome.locked[0]!.balances[1]! += 1n), 'NOT_CONSERVED'],
    ['dropping the sub-allocation', (s) => (s.outcome.locked = []), 'NOT_CONSERVED'],
    [
      'overdrawing into a negative balance',
      (s) => ((s.outcome.balances[0]![0] = -1n), (s.outcome.balances[0]![1] = 131n)),
      'NEGATIVE_BALANCE',
    ],
    ['swapping the asset holder', (s) => (s.outcome.assets[1]!.ethHolder = alice.address), 'ASSET_MISMATCH'],
    ['moving the asset to another chain', (s) => (s.outcome.assets[0]!.chainID = 1n), 'ASSET_MISMATCH'],
    ['changing a backend', (s) => (s.outcome.backends[0] = 2n), 'ASSET_MISMATCH'],
    [
      'swapping the order of the assets',
      (s) => {
        s.outcome.assets.reverse();
        s.outcome.balances.reverse();
        s.outcome.locked[0]!.balances.reverse();
      },
      'ASSET_MISMATCH',
    ],
    ['dropping a balance row', (s) => s.outcome.balances.pop(), 'BALANCES_MISMATCH'],
    ['becoming final with locked funds', (s) => (s.isFinal = true), 'FINAL_WITH_LOCKED'],
  ];
  it.each(cases)('is refused %s', (_name, change, code) => {
    expectRefusal(
      () => checkUpdate(PARAMS, current, edit(valid, change), { actor: 0 }),
      InvalidTransitionError,
      code,
    );
  });

  it('keeps the refusal of an invalid next state as its cause', () => {
    const err = thrown(() =>
      checkUpdate(
        PARAMS,
        current,
        edit(valid, (s) => (s.outcome.balances[0]![0] = -1n)),
      ),
    );
    expect((err as Error).cause).toBeInstanceOf(InvalidAllocationError);
  });

  it('may skip versions a participant used up, but not one at or below its minimum', () => {
    const skipping = edit(valid, (s) => (s.version = 9n));
    expect(() => checkUpdate(PARAMS, current, skipping, { minVersion: 9n })).not.toThrow();
    expect(() => checkUpdate(PARAMS, current, skipping)).not.toThrow();
    const err = expectRefusal(
      () => checkUpdate(PARAMS, current, valid, { minVersion: 7n }),
      InvalidTransitionError,
      'VERSION_USED',
    );
    expect(err.details).toMatchObject({ next: '6', minVersion: '7' });
  });

  it('is refused after a final state', () => {
    const final = { ...state(9n, false), isFinal: true };
    expectRefusal(
      () => checkUpdate(PARAMS, final, pay(final, 0, 1, 1n)),
      InvalidTransitionError,
      'FINAL_STATE',
    );
  });

  it('is refused from an actor who is not a participant', () => {
    expectRefusal(
      () => checkUpdate(PARAMS, current, valid, { actor: 2 }),
      InvalidTransitionError,
      'INVALID_ACTOR',
    );
  });

  it('under the payment app lets the actor pay but not take', () => {
    expect(() => checkUpdate(PARAMS, current, valid, { actor: 0, app: paymentAppRule })).not.toThrow();
    expectRefusal(
      () => checkUpdate(PARAMS, current, valid, { actor: 1, app: paymentAppRule }),
      InvalidTransitionError,
      'APP_RULE',
    );
  });

  it('turns an app that throws anything into APP_RULE', () => {
    const app = () => {
      throw new Error('no');
    };
    expectRefusal(() => checkUpdate(PARAMS, current, valid, { app }), InvalidTransitionError, 'APP_RULE');
  });

  it('carries the channel and version in the details', () => {
    const err = thrown(() =>
      checkUpdate(
        PARAMS,
        current,
        edit(valid, (s) => (s.version = 5n)),
      ),
    ) as ValidationError;
    expect(err.details).toMatchObject({ channelID: CHANNEL_ID, version: '5', next: '5' });
  });
});

describe('properties', () => {
  const payment = fc.record({
    from: fc.integer({ min: 0, max: 1 }),
    asset: fc.integer({ min: 0, max: 1 }),
    amount: fc.bigInt({ min: 0n, max: 200n }),
  });

  it('random sequences of valid payments are accepted and conserve the total', () => {
    fc.assert(
      fc.property(fc.array(payment, { maxLength: 60 }), (payments) => {
        let cur = state(0n);
        const before = totals(cur.outcome);
        for (const p of payments) {
          const bal = cur.outcome.balances[p.asset]![p.from]!;
          const amount = p.amount > bal ? bal : p.amount;
          const next = pay(cur, p.from, 1 - p.from, amount, p.asset);
          checkUpdate(PARAMS, cur, next, { actor: p.from, app: paymentAppRule, lockedUnchanged: true });
          cur = next;
        }
        expect(totals(cur.outcome)).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  /** Mutations that each break a valid update. */
  const mutation = fc.oneof(
    fc.record({
      kind: fc.constant('version' as const),
      // Back to the current version or older, or beyond the largest step.
      delta: fc.oneof(
        fc.bigInt({ min: -5n, max: -1n }),
        fc.bigInt({ min: MAX_VERSION_STEP, max: MAX_VERSION_STEP + 5n }),
      ),
    }),
    fc.record({
      kind: fc.constant('balance' as const),
      asset: fc.integer({ min: 0, max: 1 }),
      part: fc.integer({ min: 0, max: 1 }),
      delta: fc.bigInt({ min: -1000n, max: 1000n }).filter((d) => d !== 0n),
    }),
    fc.record({
      kind: fc.constant('locked' as const),
      asset: fc.integer({ min: 0, max: 1 }),
      delta: fc.bigInt({ min: -1000n, max: 1000n }).filter((d) => d !== 0n),
    }),
    fc.record({ kind: fc.constant('channel' as const), byte: fc.integer({ min: 0, max: 31 }) }),
    fc.record({ kind: fc.constant('holder' as const), asset: fc.integer({ min: 0, max: 1 }) }),
  );

  it('random mutations of a valid update are refused with a typed error', () => {
    fc.assert(
      fc.property(payment, mutation, (p, m) => {
        const cur = state(4n);
        const next = pay(cur, p.from, 1 - p.from, p.amount % 4n, p.asset);
        expect(() => checkUpdate(PARAMS, cur, next)).not.toThrow();
        const bad = edit(next, (s) => {
          switch (m.kind) {
            case 'version':
              s.version += m.delta;
              break;
            case 'balance':
              s.outcome.balances[m.asset]![m.part]! += m.delta;
              break;
            case 'locked':
              s.outcome.locked[0]!.balances[m.asset]! += m.delta;
              break;
            case 'channel': {
              const i = 2 + 2 * m.byte;
              const b = (parseInt(s.channelID.slice(i, i + 2), 16) ^ 0xff).toString(16).padStart(2, '0');
              s.channelID = s.channelID.slice(0, i) + b + s.channelID.slice(i + 2);
              break;
            }
            case 'holder':
              s.outcome.assets[m.asset]!.ethHolder = '0x' + '99'.repeat(20);
          }
        });
        const err = thrown(() => checkUpdate(PARAMS, cur, bad));
        expect(err).toBeInstanceOf(InvalidTransitionError);
      }),
      { numRuns: 1000 },
    );
  });
});
