// The hashes of the last few states hashed, found again by the state's content: each side of an
// update hashes the same state two or three times (signing it, checking the peer's signature on
// it and on the staged copy), and the ABI encoding and keccak are most of that cost. A state is
// compared field by field with a private copy taken when it was hashed (the hash is of that copy),
// so a hit is the hash of exactly the content asked for, whatever object holds it and whether or
// not it was changed since: comparing costs far less than encoding.

import { contentCopy, sameStateContent } from '../state-content.js';
import type { State } from '../types.js';

export class RecentStateHashes {
  readonly #entries: { copy: State; hash: Uint8Array }[] = [];

  constructor(private readonly capacity: number) {}

  /** `compute(state)`'s value for a state of the same content as one seen lately, else computed now. */
  get(state: State, compute: (s: State) => Uint8Array): Uint8Array {
    for (const e of this.#entries) if (sameStateContent(e.copy, state)) return e.hash;
    const copy = contentCopy(state);
    // Not a state's shape (the copy failed or reads differently): the encoding says what is wrong.
    if (copy === undefined) return compute(state);
    const hash = compute(copy);
    if (this.#entries.length >= this.capacity) this.#entries.pop();
    this.#entries.unshift({ copy, hash });
    return hash;
  }
}
