// Sub-channel funding and release as pure functions of a parent ledger channel's state
// (docs/protocol.md §6.1, §6.2, §6.4): locking moves a child's initial balances out of the parent
// participants' balances into one SubAlloc (the child's total per asset, and the index map that
// pays the child's participants back to the parent's on chain); releasing removes the SubAlloc and
// pays the child's final balances back through that map. The parent's total per asset never
// changes, so its on-chain deposit covers it at every step. The client proposes exactly these
// updates and accepts a parent update that changes locked funds only when it is exactly one of them.
import { InvalidTransitionError } from './errors.js';
import type { Hex, State, SubAlloc } from './types.js';
import { sameHex } from './validation.js';

/** The index map of a child whose participant i is parent participant i (the contract pays nothing through an empty map). */
export const identityMap = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * The index map of a two-party child whose participant `child` is parent participant `parent`,
 * its other participant the parent's other one (a virtual channel: the intermediary stands in).
 */
export function pairMap(child: number, parent: number): number[] {
  const map = [0, 0];
  map[child] = parent;
  map[1 - child] = 1 - parent;
  return map;
}

const sumRow = (row: readonly bigint[]): bigint => row.reduce((s, v) => s + v, 0n);

/**
 * The parent state that funds child `childID` with `balances` ([asset][child participant]),
 * child participant i being parent participant `indexMap[i]`. Version and signatures are the
 * caller's. Throws InvalidTransitionError: SUBALLOC_MISMATCH when the child is already funded,
 * NOT_CONSERVED when a parent participant holds less than it puts in.
 */
export function lockFunds(parent: State, childID: Hex, balances: bigint[][], indexMap: number[]): State {
  const next = structuredClone(parent);
  const alloc = next.outcome;
  if (alloc.locked.some((s) => sameHex(s.ID, childID))) {
    throw new InvalidTransitionError('SUBALLOC_MISMATCH', 'the sub-channel is funded already', {
      channelId: childID,
    });
  }
  if (balances.length !== alloc.balances.length) {
    throw new InvalidTransitionError('ASSET_MISMATCH', 'the sub-channel has other assets than its parent');
  }
  balances.forEach((row, a) => {
    row.forEach((v, i) => {
      const p = indexMap[i]!;
      const have = alloc.balances[a]![p]!;
      if (v < 0n || have < v) {
        throw new InvalidTransitionError(
          'NOT_CONSERVED',
          'the parent channel holds too little to fund the sub-channel',
          {
            asset: a,
            participant: p,
            have: have.toString(),
            need: v.toString(),
          },
        );
      }
      alloc.balances[a]![p] = have - v;
    });
  });
  alloc.locked.push({ ID: childID, balances: balances.map(sumRow), indexMap: [...indexMap] });
  return next;
}

/**
 * The parent state that releases child `final.channelID`: its SubAlloc removed and its final
 * balances paid to the parent participants through the SubAlloc's index map. Throws
 * InvalidTransitionError SUBALLOC_MISMATCH when the parent does not lock that child or the child's
 * totals differ from what is locked.
 */
export function unlockFunds(parent: State, final: State): State {
  const next = structuredClone(parent);
  const alloc = next.outcome;
  const at = alloc.locked.findIndex((s) => sameHex(s.ID, final.channelID));
  if (at < 0) {
    throw new InvalidTransitionError('SUBALLOC_MISMATCH', 'the parent does not lock this sub-channel', {
      channelId: final.channelID,
    });
  }
  const sub: SubAlloc = alloc.locked[at]!;
  const rows = final.outcome.balances;
  if (rows.length !== sub.balances.length || rows.some((row, a) => sumRow(row) !== sub.balances[a])) {
    throw new InvalidTransitionError(
      'SUBALLOC_MISMATCH',
      'the sub-channel holds other totals than its parent locks',
      {
        channelId: final.channelID,
      },
    );
  }
  rows.forEach((row, a) =>
    row.forEach((v, i) => {
      const p = sub.indexMap[i]!;
      alloc.balances[a]![p] = alloc.balances[a]![p]! + v;
    }),
  );
  alloc.locked.splice(at, 1);
  return next;
}

/** True iff `next` is `expected` at `next`'s version (a parent update is exactly the lock or release it claims to be). */
export function sameApartFromVersion(expected: State, next: State): boolean {
  return sameShape({ ...expected, version: next.version }, next);
}

function sameShape(a: State, b: State): boolean {
  return JSON.stringify(a, big) === JSON.stringify(b, big);
}

const big = (_: string, v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? v.toLowerCase() : v;
