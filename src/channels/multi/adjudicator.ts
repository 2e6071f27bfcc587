// The Adjudicator of a channel whose assets live on several chains: every call goes to the
// Adjudicator of each chain the channel has assets on. Cooperative close concludes (final
// state) and withdraws on every chain; a dispute registers the same state on every chain, a
// progression progresses every chain, and conclude concludes every chain, each skipping the
// chains that are already there. The dispute record the core sees is the least advanced chain's
// (its stage and version), so the core keeps registering, waiting or concluding until every
// chain is done. Timeouts are in each chain's own clock and never compared across chains: the
// core asks stageEnded(), which asks every chain whether its stage ended by its own clock.
import type {
  Adjudicator,
  DisputeStage,
  OnChainDispute,
  ProgressRequest,
  SignedState,
  WithdrawnAmount,
} from '../interfaces.js';
import type { Hex, Params, State } from '../types.js';
import { onEvery, type Ledger, type Ledgers } from './ledgers.js';

const ORDER: Record<DisputeStage, number> = { none: 0, dispute: 1, forceexec: 2, concluded: 3 };

/** One chain's dispute record of a channel. */
export interface LedgerDispute extends OnChainDispute {
  chainID: bigint;
  /** That chain's clock (seconds) when the record was read. */
  now: bigint;
}

export class MultiLedgerAdjudicator implements Adjudicator {
  readonly #ledgers: Ledgers;

  constructor(ledgers: Ledgers) {
    this.#ledgers = ledgers;
  }

  /** Registers the state on every chain of the channel whose record is missing or older (or equal: a no-op there that carries newer sub-channels). */
  async register(channel: SignedState, subChannels: SignedState[] = []): Promise<void> {
    const v = channel.state.version;
    await onEvery(this.#ledgers.of(channel.state), 'register', async (l) => {
      const d = await l.adjudicator.dispute(channel.state.channelID);
      if (d.stage === 'none' || (d.stage === 'dispute' && d.version <= v))
        await l.adjudicator.register(channel, subChannels);
    });
  }

  async progress(req: ProgressRequest): Promise<void> {
    await onEvery(this.#ledgers.of(req.to), 'progress', async (l) => {
      const d = await l.adjudicator.dispute(req.to.channelID);
      if (d.stage === 'concluded' || (d.stage === 'forceexec' && d.version >= req.to.version)) return;
      await l.adjudicator.progress(req);
    });
  }

  async conclude(params: Params, state: State, subStates: State[] = []): Promise<void> {
    await this.#onUnconcluded(state, 'conclude', (l) => l.adjudicator.conclude(params, state, subStates));
  }

  async concludeFinal(params: Params, state: State, sigs: Hex[]): Promise<void> {
    await this.#onUnconcluded(state, 'concludeFinal', (l) =>
      l.adjudicator.concludeFinal(params, state, sigs),
    );
  }

  /** Withdraws participant `idx`'s share on every chain; the amounts of all chains, by asset index. */
  async withdraw(params: Params, state: State, idx: number): Promise<WithdrawnAmount[]> {
    const out = await onEvery(this.#ledgers.of(state), 'withdraw', (l) =>
      l.adjudicator.withdraw(params, state, idx),
    );
    return out.flat().sort((x, y) => x.asset - y.asset);
  }

  /**
   * The least advanced chain's record: its stage, the lowest version, and as timeout the first
   * chain's clock now plus the longest time any chain has left by its own clock (informational:
   * the core decides with stageEnded()).
   */
  async dispute(channelID: Hex): Promise<OnChainDispute> {
    const all = await this.disputes(channelID);
    const least = all.reduce((x, y) => (ORDER[y.stage] < ORDER[x.stage] ? y : x));
    const left = all.reduce((m, d) => (d.timeout - d.now > m ? d.timeout - d.now : m), 0n);
    return {
      stage: least.stage,
      version: all.reduce((m, d) => (d.version < m ? d.version : m), all[0]!.version),
      timeout: all[0]!.now + left,
    };
  }

  /** Every chain's record of the channel, with that chain's clock. */
  disputes(channelID: Hex): Promise<LedgerDispute[]> {
    return onEvery(this.#ledgers.ofChannel(channelID), 'reading the dispute', async (l) => {
      const [d, now] = await Promise.all([l.adjudicator.dispute(channelID), l.adjudicator.now()]);
      return { ...d, chainID: l.chainID, now };
    });
  }

  /** The first chain's clock (informational; see dispute()). */
  now(): Promise<bigint> {
    return this.#ledgers.all[0]!.adjudicator.now();
  }

  /**
   * True when, on every chain of the channel, the current stage ended `extra` seconds ago or more
   * by that chain's own clock (a concluded chain counts as ended; a chain with nothing registered
   * does not).
   */
  async stageEnded(channelID: Hex, extra = 0n): Promise<boolean> {
    const all = await this.disputes(channelID);
    return all.every((d) => d.stage === 'concluded' || (d.stage !== 'none' && d.now >= d.timeout + extra));
  }

  async #onUnconcluded(state: State, what: string, call: (l: Ledger) => Promise<void>): Promise<void> {
    await onEvery(this.#ledgers.of(state), what, async (l) => {
      if ((await l.adjudicator.dispute(state.channelID)).stage === 'concluded') return;
      try {
        await call(l);
      } catch (err) {
        // A peer may have concluded this chain meanwhile: that is what we wanted.
        if ((await l.adjudicator.dispute(state.channelID)).stage !== 'concluded') throw err;
      }
    });
  }
}
