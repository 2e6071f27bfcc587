// The two ledgers of an Ethereum–TON channel, for the multi-ledger core (../multi/): each wraps
// that chain's own Funder, Adjudicator and event source and hands it what its contract checks.
// Ethereum gets the whole state (its Adjudicator pays out only the assets of its own chain ID
// with an Ethereum holder) with the 65-byte ECDSA parts of the signatures; TON gets the
// projection (TON channel ID, the TON asset only, the 64-byte Ed25519 parts; funding IDs of the
// TON keys), and its events come back under the core's channel ID. Events carry no state or
// signatures here: each chain's copy is in its own form, and the core acts on its latest state.
import { ChainError, FundingTimeoutError } from '../errors.js';
import type {
  Adjudicator,
  AdjudicatorEvent,
  AdjudicatorEventSource,
  EventSubscription,
  EventSubscriptionOptions,
  FundingRequest,
  SignedState,
} from '../interfaces.js';
import type { Ledger } from '../multi/ledgers.js';
import type { Hex, Params, State } from '../types.js';
import type { CrossBackend } from './backend.js';
import { crossAssets, sigParts, tonParams, tonState } from './projection.js';

const noSubChannels = (count: number): void => {
  if (count > 0) throw new ChainError('an Ethereum–TON channel has no sub-channels', { count });
};

const noProgress = (): Promise<never> =>
  Promise.reject(new ChainError('an Ethereum–TON channel has no app: nothing to progress'));

/** An event as the core takes it from one chain: its channel ID, kind, version and timeout only. */
function bare(ev: AdjudicatorEvent, channelID: Hex): AdjudicatorEvent {
  const { kind, version, timeout, blockNumber } = ev;
  return { kind, channelID, version, timeout, blockNumber };
}

/** A subscription whose channel IDs are translated by `toChain` on the way in. */
class MappedSubscription implements EventSubscription {
  constructor(
    readonly inner: EventSubscription,
    readonly toChain: (id: Hex) => Hex,
  ) {}

  get cursor(): number {
    return this.inner.cursor;
  }
  watch(channelID: Hex): void {
    this.inner.watch(this.toChain(channelID));
  }
  unwatch(channelID: Hex): void {
    this.inner.unwatch(this.toChain(channelID));
  }
  start(): void {
    this.inner.start();
  }
  poll(): Promise<void> {
    return this.inner.poll();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
}

function mappedEvents(
  inner: AdjudicatorEventSource,
  toChain: (id: Hex) => Hex,
  fromChain: (id: Hex) => Hex | undefined,
): AdjudicatorEventSource {
  return {
    subscribe(o: EventSubscriptionOptions): EventSubscription {
      const sub = inner.subscribe({
        ...o,
        channelIDs: o.channelIDs === undefined ? undefined : [...o.channelIDs].map(toChain),
        onEvent: (ev) => {
          const id = fromChain(ev.channelID);
          return id === undefined ? undefined : o.onEvent(bare(ev, id));
        },
      });
      return new MappedSubscription(sub, toChain);
    },
    ...(inner.head === undefined ? {} : { head: () => inner.head!() }),
  };
}

/** The Ethereum ledger of Ethereum–TON channels: `ledger` (e.g. ethereumLedger()) with the ECDSA parts. */
export function crossEthereumLedger(ledger: Ledger): Ledger {
  const a = ledger.adjudicator;
  const ethSigs = (sigs: Hex[]) => sigs.map((s) => sigParts(s).eth);
  const adjudicator: Adjudicator = {
    register: (ch: SignedState, subs: SignedState[] = []) => {
      noSubChannels(subs.length);
      crossAssets(ch.state);
      return a.register({ ...ch, sigs: ethSigs(ch.sigs) });
    },
    progress: noProgress,
    conclude: (params: Params, state: State, subs: State[] = []) => {
      noSubChannels(subs.length);
      return a.conclude(params, state);
    },
    concludeFinal: (params, state, sigs) => a.concludeFinal(params, state, ethSigs(sigs)),
    withdraw: (params, state, idx) => a.withdraw(params, state, idx),
    dispute: (id) => a.dispute(id),
    now: () => a.now(),
  };
  return {
    chainID: ledger.chainID,
    funder: {
      fund: (req, o) => {
        crossAssets(req.state);
        return ledger.funder.fund(req, o);
      },
    },
    adjudicator,
    events: mappedEvents(
      ledger.events,
      (id) => id,
      (id) => id,
    ),
  };
}

/** The TON ledger of Ethereum–TON channels: `ledger` (TON's funder, adjudicator, events) given the projection. */
export function crossTonLedger(backend: CrossBackend, ledger: Ledger): Ledger {
  const a = ledger.adjudicator;
  const project = (params: Params, state: State) => {
    backend.track(params);
    return { params: tonParams(params), state: tonState(params, state), ton: crossAssets(state).ton };
  };
  const tonSigs = (sigs: Hex[]) => sigs.map((s) => sigParts(s).ton);
  const adjudicator: Adjudicator = {
    register: async (ch: SignedState, subs: SignedState[] = []) => {
      noSubChannels(subs.length);
      const p = project(ch.params, ch.state);
      await a.register({ params: p.params, state: p.state, sigs: tonSigs(ch.sigs) });
    },
    progress: noProgress,
    conclude: async (params: Params, state: State, subs: State[] = []) => {
      noSubChannels(subs.length);
      const p = project(params, state);
      await a.conclude(p.params, p.state);
    },
    concludeFinal: async (params, state, sigs) => {
      const p = project(params, state);
      await a.concludeFinal(p.params, p.state, tonSigs(sigs));
    },
    withdraw: async (params, state, idx) => {
      const p = project(params, state);
      const out = await a.withdraw(p.params, p.state, idx);
      return out.map((w) => ({ ...w, asset: p.ton }));
    },
    dispute: (id) => a.dispute(backend.tonId(id)),
    now: () => a.now(),
  };
  return {
    chainID: ledger.chainID,
    funder: { fund: (req, o) => fundTon(ledger, req, o, project(req.params, req.state)) },
    adjudicator,
    events: mappedEvents(
      ledger.events,
      (id) => backend.tonId(id),
      (id) => backend.fromTon(id),
    ),
  };
}

async function fundTon(
  ledger: Ledger,
  req: FundingRequest,
  o: { timeoutMs?: number; signal?: AbortSignal } | undefined,
  p: { params: Params; state: State; ton: number },
): Promise<void> {
  const agreement = req.agreement === undefined ? undefined : [req.agreement[p.ton]!];
  try {
    await ledger.funder.fund({ params: p.params, state: p.state, idx: req.idx, agreement }, o);
  } catch (err) {
    if (!(err instanceof FundingTimeoutError)) throw err;
    const missing = Array.isArray(err.details.missing) ? (err.details.missing as object[]) : [];
    throw new FundingTimeoutError(
      err.message,
      {
        ...err.details,
        channelID: req.state.channelID,
        missing: missing.map((m) => ({ ...m, asset: p.ton })),
      },
      { cause: err },
    );
  }
}
