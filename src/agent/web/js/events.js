// The event stream (GET /events) read with fetch, so that it carries the token in a header and
// asks for history: the first connection sends Last-Event-ID 0 and gets the agent's newest
// buffered events (up to 256), which fill the event log; a reconnection sends the last ID seen
// and gets what it missed. Every (re)connection also refetches everything, so nothing missed
// stays missing. Live events are applied to the page; replayed history only goes to the log.
import { $, clock, el } from './dom.js';
import { authHeaders, describe, errorOf, setStatus } from './api.js';
import { withdrawn } from './actions.js';
import { applyPayment } from './channels.js';
import { onMessage } from './messages.js';
import { onPayment } from './payments.js';
import {
  channelPeer,
  connectionName,
  peerName,
  putChannel,
  refresh,
  refreshAll,
  render,
  state,
} from './state.js';

const LOG_LIMIT = 500;
const RECONNECT_MS = 2000;

/** The newest event ID seen; undefined until the first stream. */
let lastId;
/** The stream was live once and broke since. */
let streamLost = false;

export function streamState(s, text) {
  const badge = $('stream-status');
  badge.dataset.state = s;
  badge.textContent = text;
}

/** "with Bob", or the channel's ID while the page does not know the channel yet. */
const on = (channelId) =>
  state.channels.has(channelId) ? `with ${channelPeer(channelId)}` : `channel ${channelId.slice(0, 10)}…`;

function summary(e) {
  switch (e.type) {
    case 'connection':
      return `${connectionName(e.connection)}: ${e.connection.state}`;
    case 'message-received':
    case 'message-sent': {
      const c = state.connections.get(e.message.connectionId);
      const who =
        c === undefined ? '' : `${e.type === 'message-sent' ? 'to' : 'from'} ${connectionName(c)}: `;
      const text = e.message.content.length > 80 ? `${e.message.content.slice(0, 80)}…` : e.message.content;
      return who + text;
    }
    case 'credential-received':
      return `${e.credential.claims.name ?? ''} from ${e.credential.issuer}`;
    case 'proposal':
      return `${peerName(e.proposal)}: ${e.proposal.status}`;
    case 'channel-opened':
      return `${on(e.channel.id)}: ours ${e.channel.ourBalance}, theirs ${e.channel.theirBalance}`;
    case 'channel-phase':
      return `${on(e.channelId)}: ${e.from} → ${e.to}`;
    case 'payment-sent':
    case 'payment-received': {
      const p = e.payment;
      const sent = e.type === 'payment-sent';
      return `${sent ? '−' : '+'}${p.amount} ${p.asset} ${sent ? 'to' : 'from'} ${channelPeer(p.channelId)}, ours ${p.ourBalance}`;
    }
    case 'dispute':
      return `${on(e.channelId)}: version ${e.version} registered by ${e.by}`;
    case 'settled':
      return `${on(e.settlement.channelId)}: withdrawn ${withdrawn(e.settlement)}`;
    case 'credential-sale':
      return `${e.sale.role}, ${e.sale.price} ETH: ${e.sale.status}`;
    case 'warning':
      return `${e.context}: ${e.message}`;
    default:
      return '';
  }
}

/** Adds an event to the log, newest first (by ID: history may come after live events). */
function logEvent(e, history) {
  const log = $('event-log');
  const item = el(
    'li',
    { 'data-type': e.type, 'data-id': e.id, class: history ? 'history' : undefined },
    el('time', { datetime: e.at, title: new Date(e.at).toLocaleString() }, clock(e.at)),
    el('span', { class: 'type' }, e.type),
    el('span', {}, summary(e)),
  );
  const older = [...log.children].find((li) => Number(li.dataset.id) < e.id);
  log.insertBefore(item, older ?? null);
  while (log.children.length > LOG_LIMIT) log.lastElementChild.remove();
}

function apply(e) {
  switch (e.type) {
    case 'connection':
      state.connections.set(e.connection.id, e.connection);
      render.connections();
      break;
    case 'message-received':
    case 'message-sent':
      onMessage(e.message, true);
      break;
    case 'credential-received':
      state.credentials.set(e.credential.id, e.credential);
      render.credentials();
      break;
    case 'proposal':
      state.proposals.set(e.proposal.id, e.proposal);
      render.proposals();
      if (e.proposal.status === 'pending')
        setStatus('A channel proposal waits for your decision (Channel proposals)', 'info');
      break;
    case 'channel-opened':
      putChannel(e.channel);
      render.channels();
      refresh.balance();
      break;
    case 'payment-sent':
    case 'payment-received':
      applyPayment(e.payment);
      onPayment(e.payment);
      break;
    case 'channel-phase':
    case 'dispute':
    case 'settled':
      refresh.channels();
      refresh.balance();
      break;
    case 'warning':
      setStatus(`Warning (${e.context}): ${e.message}`, 'warn');
      if (e.channelId !== undefined) refresh.channels();
      break;
  }
}

/** Splits server-sent events out of a text stream; `onEvent(type, data, id)` for each. */
function sseParser(onEvent) {
  let buffer = '';
  let data = [];
  let type = 'message';
  let id;
  return (chunk) => {
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) onEvent(type, data.join('\n'), id);
        [data, type, id] = [[], 'message', undefined];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') type = value;
      else if (field === 'id') id = value;
    }
  };
}

function lost(wasLive, retryMs = RECONNECT_MS) {
  streamState('connecting', 'reconnecting…');
  if (wasLive) {
    streamLost = true;
    setStatus('Lost the event stream; reconnecting…', 'warn');
  }
  setTimeout(connectEvents, retryMs);
}

/** Opens the event stream; reconnects when it breaks, unless the agent refuses the token. */
export async function connectEvents() {
  let res;
  try {
    res = await fetch('/events', {
      headers: { ...authHeaders(), Accept: 'text/event-stream', 'Last-Event-ID': String(lastId ?? 0) },
      cache: 'no-store',
    });
  } catch {
    return lost(false);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401) {
      streamState('closed', 'not connected');
      return setStatus(`The agent refused the API token: ${describe(err)}`, 'error');
    }
    setStatus(`The event stream was refused: ${describe(err)}`, 'warn');
    return lost(false, Math.max(RECONNECT_MS, 1000 * Number(res.headers.get('retry-after') ?? 0)));
  }
  // On the first connection, the replayed events are history (log only); the agent names the last.
  const historyUntil = lastId === undefined ? Number(res.headers.get('x-perun-replayed-until') ?? NaN) : NaN;
  streamState('live', 'live');
  if (streamLost) setStatus('Event stream back', 'ok');
  streamLost = false;
  // History waits for the first fetches, so that its log lines name the peers.
  let history = [];
  const parse = sseParser((_type, data) => {
    let e;
    try {
      e = JSON.parse(data);
    } catch (err) {
      return setStatus(`An unreadable event: ${describe(err)}`, 'error');
    }
    if (lastId !== undefined && e.id <= lastId) return;
    lastId = e.id;
    if (e.id <= historyUntil) {
      if (history !== undefined) history.push(e);
      else logEvent(e, true);
      return;
    }
    logEvent(e, false);
    apply(e);
  });
  lastId ??= 0;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let refreshed = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parse(value);
      // After the replay's first part (sent at once with the stream's head): the fetches answer
      // with what the events so far made.
      if (!refreshed) {
        refreshed = true;
        void refreshAll().then(() => {
          for (const e of history) logEvent(e, true);
          history = undefined;
        });
      }
    }
  } catch {
    // The connection broke: reconnect below.
  }
  lost(true);
}
