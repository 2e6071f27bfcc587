// What the page knows (each resource from the REST API, kept current by the event stream), the
// refetches that load it, and peer names. Views register their render functions in `render`, so
// this module imports none of them.
import { api, showError } from './api.js';

export const state = {
  info: undefined,
  balance: undefined,
  connections: new Map(),
  messages: new Map(),
  credentials: new Map(),
  channels: new Map(),
  proposals: new Map(),
};

/** Render functions by resource, filled in by the view modules. */
export const render = {};

const rerender = (name) => render[name]?.();

export function version(v) {
  try {
    return BigInt(v);
  } catch {
    return -1n;
  }
}

/** Keeps the newer of two views of a channel (a fetch may answer after a newer event). */
export function putChannel(c) {
  const had = state.channels.get(c.id);
  if (had !== undefined && version(had.version) > version(c.version)) return;
  state.channels.set(c.id, c);
}

/**
 * A refetch that never runs twice at once: asked again while running, it runs once more after,
 * so the last answer always reflects the last request.
 */
export function refresher(load) {
  let running;
  let again = false;
  return function refresh() {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } catch (err) {
        showError(err);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
}

export const refresh = {
  info: refresher(async () => {
    state.info = await api('GET', '/info');
    rerender('info');
  }),
  balance: refresher(async () => {
    state.balance = await api('GET', '/balance');
    rerender('balance');
  }),
  connections: refresher(async () => {
    for (const c of await api('GET', '/connections')) state.connections.set(c.id, c);
    rerender('connections');
  }),
  messages: refresher(async () => {
    for (const m of await api('GET', '/messages')) state.messages.set(m.id, m);
    rerender('messages');
  }),
  credentials: refresher(async () => {
    for (const c of await api('GET', '/credentials')) state.credentials.set(c.id, c);
    rerender('credentials');
  }),
  channels: refresher(async () => {
    for (const c of await api('GET', '/channels')) putChannel(c);
    rerender('channels');
  }),
  proposals: refresher(async () => {
    for (const p of await api('GET', '/proposals')) state.proposals.set(p.id, p);
    rerender('proposals');
  }),
};

/** Every resource, and the views that are not a resource (the payment history). */
export const refreshAll = () =>
  Promise.all([...Object.values(refresh).map((r) => r()), ...extraRefreshes.map((r) => r())]);

const extraRefreshes = [];

/** Adds a view's own refetch to what every (re)connection of the event stream runs. */
export function alsoRefresh(r) {
  extraRefreshes.push(r);
}

// Peer names. One rule everywhere: the label the peer gave its connection with us (the one
// ConnectionView.theirLabel, ChannelView.peerLabel and ProposalView.peerLabel carry), else
// "unnamed peer". Two connections with the same label are told apart by their DIDs' ends.

const UNNAMED = 'unnamed peer';

function labelCounts() {
  const counts = new Map();
  for (const c of state.connections.values()) {
    const label = c.theirLabel ?? UNNAMED;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

/** The name of the peer on a connection (a ConnectionView). */
export function connectionName(c) {
  const label = c.theirLabel ?? UNNAMED;
  if ((labelCounts().get(label) ?? 0) < 2 || !c.theirDid) return label;
  return `${label} (…${c.theirDid.slice(-6)})`;
}

/** The name of a peer known by DID, label (from a view) and maybe a connection ID. */
export function peerName({ connectionId, peerDid, peerLabel }) {
  const byId = connectionId === undefined ? undefined : state.connections.get(connectionId);
  if (byId !== undefined) return connectionName(byId);
  for (const c of state.connections.values()) if (c.theirDid === peerDid) return connectionName(c);
  return peerLabel ?? UNNAMED;
}

/** The peer of a channel, by its ID ("a peer" when the page does not know the channel). */
export function channelPeer(channelId) {
  const c = state.channels.get(channelId);
  return c === undefined ? 'a peer' : peerName(c);
}
