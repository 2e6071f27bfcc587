// Deep copies of the channel data model (Params, State) made field by field: several times faster
// than structuredClone, which matters on the path of every update (staging, answers, events) and
// in listings of every channel. They copy exactly the shapes of types.ts.
import type { Params, State } from './types.js';

export const copyParams = (p: Params): Params => ({
  ...p,
  participants: p.participants.map((x) => ({ ...x })),
});

export const copyState = (s: State): State => ({
  ...s,
  outcome: {
    assets: s.outcome.assets.map((a) => ({ ...a })),
    backends: [...s.outcome.backends],
    balances: s.outcome.balances.map((b) => [...b]),
    locked: s.outcome.locked.map((l) => ({ ...l, balances: [...l.balances], indexMap: [...l.indexMap] })),
  },
});
