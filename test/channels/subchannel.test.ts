// The pure sub-channel funding rules (src/channels/subchannel.ts): locking and releasing keep the
// parent's total per asset, refuse what the parent cannot fund or does not lock, and a release
// pays the child's final balances back through the index map.
import fc from 'fast-check';
import { InvalidTransitionError } from '../../src/channels/errors.js';
import { identityMap, lockFunds, sameApartFromVersion, unlockFunds } from '../../src/channels/subchannel.js';
import type { Hex, State } from '../../src/channels/types.js';
import { totals, validateAllocation } from '../../src/channels/validation.js';

const ASSET = { chainID: 1337n, ethHolder: '0x' + '11'.repeat(20), ccHolder: '0x' + '00'.repeat(32) };
const id = (n: number): Hex => '0x' + n.toString(16).padStart(64, '0');

function parentOf(a: bigint, b: bigint): State {
  return {
    channelID: id(1),
    version: 3n,
    outcome: { assets: [ASSET], backends: [1n], balances: [[a, b]], locked: [] },
    appData: '0x',
    isFinal: false,
  };
}

const child = (n: number, balances: bigint[][]): State => ({
  channelID: id(n),
  version: 9n,
  outcome: { assets: [ASSET], backends: [1n], balances, locked: [] },
  appData: '0x',
  isFinal: true,
});

describe('lockFunds / unlockFunds', () => {
  it('moves a child’s balances into one sub-allocation with an explicit index map, and back', () => {
    const locked = lockFunds(parentOf(10n, 7n), id(2), [[4n, 1n]], identityMap(2));
    expect(locked.outcome.balances).toEqual([[6n, 6n]]);
    expect(locked.outcome.locked).toEqual([{ ID: id(2), balances: [5n], indexMap: [0, 1] }]);
    const released = unlockFunds(locked, child(2, [[0n, 5n]]));
    expect(released.outcome).toEqual({ ...parentOf(6n, 11n).outcome });
    expect(sameApartFromVersion(released, { ...released, version: 4n })).toBe(true);
    expect(sameApartFromVersion(released, { ...released, appData: '0x01' })).toBe(false);
  });

  it('refuses a lock the parent cannot fund, a second lock of one child, and releases that do not fit', () => {
    expect(() => lockFunds(parentOf(3n, 3n), id(2), [[4n, 0n]], identityMap(2))).toThrow(
      InvalidTransitionError,
    );
    const once = lockFunds(parentOf(10n, 10n), id(2), [[1n, 1n]], identityMap(2));
    expect(() => lockFunds(once, id(2), [[1n, 1n]], identityMap(2))).toThrow(/funded already/);
    expect(() => unlockFunds(once, child(3, [[1n, 1n]]))).toThrow(/does not lock/);
    expect(() => unlockFunds(once, child(2, [[1n, 2n]]))).toThrow(/other totals/);
  });

  it('property: any sequence of locks, child payments and releases conserves the parent’s total and stays well-formed', () => {
    const Op = fc.oneof(
      fc.record({ op: fc.constant('lock' as const), a: fc.bigInt(0n, 50n), b: fc.bigInt(0n, 50n) }),
      fc.record({ op: fc.constant('release' as const), pick: fc.nat(), shift: fc.bigInt(-50n, 50n) }),
    );
    fc.assert(
      fc.property(fc.bigInt(0n, 100n), fc.bigInt(0n, 100n), fc.array(Op, { maxLength: 30 }), (a, b, ops) => {
        let parent = parentOf(a, b);
        let next = 2;
        for (const o of ops) {
          if (o.op === 'lock') {
            const [x, y] = parent.outcome.balances[0]!;
            if (x! < o.a || y! < o.b) {
              expect(() => lockFunds(parent, id(next), [[o.a, o.b]], identityMap(2))).toThrow(
                InvalidTransitionError,
              );
              continue;
            }
            parent = lockFunds(parent, id(next++), [[o.a, o.b]], identityMap(2));
          } else if (parent.outcome.locked.length > 0) {
            const sub = parent.outcome.locked[o.pick % parent.outcome.locked.length]!;
            const total = sub.balances[0]!;
            // The child's final split: anything that keeps its total.
            const first = ((o.shift % (total + 1n)) + total + 1n) % (total + 1n);
            parent = unlockFunds(parent, child(Number(BigInt(sub.ID)), [[first, total - first]]));
          }
          expect(totals(parent.outcome)).toEqual([a + b]);
          validateAllocation(parent.outcome, 2);
        }
      }),
      { numRuns: 300 },
    );
  });
});
