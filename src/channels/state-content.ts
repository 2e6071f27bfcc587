// Whether a state has exactly the content of a private copy taken earlier, compared field by field
// (a few string, bigint and boolean comparisons, far cheaper than encoding either), and the list
// of the last few values kept that way (RecentStates): the caches of work done on a state (its
// hash, a signature found valid on it) find it again by content, so a hit is for exactly the
// content asked about, whatever object holds it and whether or not it was changed since.
import { copyState } from './copy.js';
import type { Allocation, State } from './types.js';

/** Equal primitives (objects never count as equal: a copy would share them). */
const leaf = (a: unknown, b: unknown): boolean =>
  a === b && (typeof a !== 'object' || a === null) && typeof a !== 'function';

function sameList<T>(a: readonly T[], b: unknown, same: (x: T, y: T) => boolean): boolean {
  if (!Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i] as T)) return false;
  return true;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const leaves = (a: readonly unknown[], b: unknown) => sameList(a, b, leaf);

function sameOutcome(a: Allocation, b: unknown): boolean {
  if (!isObject(b)) return false;
  return (
    sameList(
      a.assets,
      b.assets,
      (x, y) =>
        isObject(y) &&
        leaf(x.chainID, y.chainID) &&
        leaf(x.ethHolder, y.ethHolder) &&
        leaf(x.ccHolder, y.ccHolder),
    ) &&
    leaves(a.backends, b.backends) &&
    sameList(a.balances, b.balances, leaves) &&
    sameList(
      a.locked,
      b.locked,
      (x, y) =>
        isObject(y) && leaf(x.ID, y.ID) && leaves(x.balances, y.balances) && leaves(x.indexMap, y.indexMap),
    )
  );
}

/**
 * Whether `s` has exactly the content of `copy` in every field the state's encoding reads; the
 * version first, the field in which the states of one channel differ.
 */
export function sameStateContent(copy: State, s: State): boolean {
  return (
    isObject(s) &&
    leaf(copy.version, s.version) &&
    leaf(copy.channelID, s.channelID) &&
    leaf(copy.isFinal, s.isFinal) &&
    leaf(copy.appData, s.appData) &&
    sameOutcome(copy.outcome, s.outcome)
  );
}

/** A private copy of `s` with the same content, or undefined if `s` is not a state's shape. */
export function contentCopy(s: State): State | undefined {
  let copy: State;
  try {
    copy = copyState(s);
  } catch {
    return undefined;
  }
  return sameStateContent(copy, s) ? copy : undefined;
}

const always = (): boolean => true;

/** The values of the last few states kept, each found again by its state's content, newest first. */
export class RecentStates<V> {
  readonly #entries: { copy: State; value: V }[] = [];

  constructor(private readonly capacity: number) {}

  /** The newest value kept for a state of exactly `state`'s content that `match` takes. */
  find(state: State, match: (value: V) => boolean = always): V | undefined {
    for (const e of this.#entries) if (match(e.value) && sameStateContent(e.copy, state)) return e.value;
    return undefined;
  }

  /**
   * `compute`'s value on a private copy of `state`, kept for that copy if `keep` takes it (the
   * value is then of exactly the content kept); a value that is not a state's shape is computed
   * on itself and never kept.
   */
  add(state: State, compute: (s: State) => V, keep: (value: V) => boolean = always): V {
    const copy = contentCopy(state);
    if (copy === undefined) return compute(state);
    const value = compute(copy);
    if (keep(value)) {
      this.#entries.unshift({ copy, value });
      if (this.#entries.length > this.capacity) this.#entries.pop();
    }
    return value;
  }
}
