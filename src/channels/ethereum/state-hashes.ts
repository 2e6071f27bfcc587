// The hashes of the last few states hashed, found again by the state's content: each side of an
// update hashes the same state two or three times (signing it, checking the peer's signature on
// it and on the staged copy), and the ABI encoding and keccak are most of that cost. A state is
// compared field by field with a private copy taken when it was hashed (the hash is of that copy),
// so a hit is the hash of exactly the content asked for, whatever object holds it and whether or
// not it was changed since: comparing costs far less than encoding.

import { copyState } from '../copy.js';
import type { Allocation, State } from '../types.js';

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

export class RecentStateHashes {
  readonly #entries: { copy: State; hash: Uint8Array }[] = [];

  constructor(private readonly capacity: number) {}

  /** `compute(state)`'s value for a state of the same content as one seen lately, else computed now. */
  get(state: State, compute: (s: State) => Uint8Array): Uint8Array {
    for (const e of this.#entries) if (sameStateContent(e.copy, state)) return e.hash;
    let copy: State | undefined;
    try {
      copy = copyState(state);
    } catch {
      copy = undefined;
    }
    // Not a state's shape (the copy failed or reads differently): the encoding says what is wrong.
    if (copy === undefined || !sameStateContent(copy, state)) return compute(state);
    const hash = compute(copy);
    if (this.#entries.length >= this.capacity) this.#entries.pop();
    this.#entries.unshift({ copy, hash });
    return hash;
  }
}
