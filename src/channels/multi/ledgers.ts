// The ledgers of a multi-ledger channel set-up (go-perun channel/multi): one entry per chain ID,
// each with that chain's own Funder, Adjudicator and event source, and which chains each channel
// has assets on. A channel's chains are read from its state (every Asset carries its chainID) and
// remembered by channel ID, so that calls naming only the ID (dispute, stageEnded) reach exactly
// the channel's chains.
import { ChainError } from '../errors.js';
import type { Adjudicator, AdjudicatorEventSource, Funder } from '../interfaces.js';
import type { Hex, State } from '../types.js';

/** One chain: the backend objects bound to it. */
export interface Ledger {
  chainID: bigint;
  funder: Funder;
  adjudicator: Adjudicator;
  events: AdjudicatorEventSource;
}

export class Ledgers {
  readonly #byChain = new Map<bigint, Ledger>();
  readonly #channels = new Map<string, bigint[]>();

  constructor(ledgers: Iterable<Ledger>) {
    for (const l of ledgers) {
      if (this.#byChain.has(l.chainID)) {
        throw new ChainError('two ledgers with one chain ID', { chainID: l.chainID.toString() });
      }
      this.#byChain.set(l.chainID, l);
    }
    if (this.#byChain.size === 0) throw new ChainError('a multi-ledger set-up needs at least one ledger');
  }

  /** Every ledger, in the order given. */
  get all(): Ledger[] {
    return [...this.#byChain.values()];
  }

  ledger(chainID: bigint): Ledger {
    const l = this.#byChain.get(chainID);
    if (l === undefined) {
      throw new ChainError('no ledger is configured for the chain of an asset', {
        chainID: chainID.toString(),
        configured: [...this.#byChain.keys()].map(String),
      });
    }
    return l;
  }

  /** The ledgers the state has assets on (in order of first appearance), remembered for its channel. */
  of(state: State): Ledger[] {
    const chains = chainsOf(state);
    const ledgers = chains.map((c) => this.ledger(c));
    this.#channels.set(state.channelID.toLowerCase(), chains);
    return ledgers;
  }

  /** The ledgers of a channel seen before; every ledger if it was never seen (a caller that knows better calls of()). */
  ofChannel(channelID: Hex): Ledger[] {
    const chains = this.#channels.get(channelID.toLowerCase());
    return chains === undefined ? this.all : chains.map((c) => this.ledger(c));
  }
}

/** Runs `call` on every ledger at once and waits for all; throws a ChainError naming each ledger that failed. */
export async function onEvery<T>(
  ledgers: Ledger[],
  what: string,
  call: (l: Ledger) => Promise<T>,
): Promise<T[]> {
  const results = await Promise.allSettled(ledgers.map(call));
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ l: ledgers[i]!, err: r.reason }] : [],
  );
  if (failed.length > 0) {
    throw new ChainError(
      `${what} failed on ${failed.length} of ${ledgers.length} chains`,
      {
        chains: failed.map((f) => ({
          chainID: f.l.chainID.toString(),
          error: f.err instanceof Error ? f.err.message : String(f.err),
        })),
      },
      { cause: failed[0]!.err },
    );
  }
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The chain IDs of a state's assets, in order of first appearance. */
export function chainsOf(state: State): bigint[] {
  const chains: bigint[] = [];
  for (const a of state.outcome.assets) if (!chains.includes(a.chainID)) chains.push(a.chainID);
  return chains;
}
