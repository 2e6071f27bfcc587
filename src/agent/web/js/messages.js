// Messages: the conversation with the connection picked, the send form, and what is unread. A
// received message is read once its conversation was on screen (picked, the list in view, the
// tab visible); the IDs of read messages are kept in localStorage per agent DID, so a reload
// does not bring old messages back as new. The header's badge counts the unread ones, the picker
// counts them per connection.
import { $, clock, el } from './dom.js';
import { api, setStatus } from './api.js';
import { busy } from './actions.js';
import { connectionName, render, state } from './state.js';

/** The read IDs kept at most (the oldest are forgotten first). */
const READ_KEPT = 5000;

let read = new Set();
let readOf;
let listVisible = false;

const readKey = () => `perun-agent-read:${state.info?.did ?? ''}`;

function readSet() {
  if (readOf !== readKey()) {
    readOf = readKey();
    try {
      read = new Set(JSON.parse(localStorage.getItem(readOf) ?? '[]'));
    } catch {
      read = new Set();
    }
  }
  return read;
}

const unread = (m) => m.direction === 'received' && !readSet().has(m.id);

export function unreadCount(connectionId) {
  let n = 0;
  for (const m of state.messages.values()) if (m.connectionId === connectionId && unread(m)) n++;
  return n;
}

/** What the picker adds to a connection's name: " (2 new)", or nothing. */
export function unreadNote(connectionId) {
  const n = unreadCount(connectionId);
  return n > 0 ? ` (${n} new)` : '';
}

const selected = () => $('message-connection').value || undefined;

/** Marks the shown conversation read if the user can see it. */
function markViewed() {
  const id = selected();
  if (id === undefined || !listVisible || document.visibilityState !== 'visible') return;
  const ids = readSet();
  let changed = false;
  for (const m of state.messages.values()) {
    if (m.connectionId === id && unread(m)) {
      ids.add(m.id);
      changed = true;
    }
  }
  if (!changed) return;
  const kept = [...ids].slice(-READ_KEPT);
  try {
    localStorage.setItem(readOf, JSON.stringify(kept));
  } catch {
    // Storage full or refused: the marks hold for this page's life.
  }
}

function renderUnread() {
  let total = 0;
  for (const m of state.messages.values()) if (unread(m)) total++;
  const badge = $('unread-badge');
  badge.hidden = total === 0;
  badge.textContent = `${total} new message${total === 1 ? '' : 's'}`;
  for (const option of $('message-connection').options) {
    const c = state.connections.get(option.value);
    if (c !== undefined) option.textContent = connectionName(c) + unreadNote(c.id);
  }
}

function renderMessages() {
  const id = selected();
  const list = [...state.messages.values()]
    .filter((m) => m.connectionId === id)
    .sort((a, b) => a.sentTime.localeCompare(b.sentTime));
  const box = $('message-list');
  box.replaceChildren(
    ...list.map((m) =>
      el(
        'li',
        { class: m.direction, testid: 'message', 'data-direction': m.direction },
        el('span', { class: 'when' }, `${m.direction === 'sent' ? 'you' : 'them'}, ${clock(m.sentTime)}`),
        el('span', { class: 'content' }, m.content),
      ),
    ),
  );
  box.scrollTop = box.scrollHeight;
  markViewed();
  renderUnread();
}

/** A message from the event stream; `live`: it happened now (not replayed history). */
export function onMessage(m, live) {
  state.messages.set(m.id, m);
  renderMessages();
  if (live && m.direction === 'received' && m.connectionId !== selected()) {
    const from = state.connections.get(m.connectionId);
    setStatus(`New message from ${from ? connectionName(from) : 'a peer'} (pick it under Messages)`, 'info');
  }
}

export function wireMessages() {
  $('message-connection').addEventListener('change', renderMessages);
  new IntersectionObserver((entries) => {
    listVisible = entries.some((e) => e.isIntersecting);
    if (listVisible) renderMessages();
  }).observe($('message-list'));
  document.addEventListener('visibilitychange', renderMessages);

  const messageForm = $('message-form');
  messageForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const connectionId = selected();
    const content = messageForm.elements.content.value;
    if (!connectionId) return setStatus('No ready connection to send to', 'error');
    busy(messageForm, 'Sending the message', async () => {
      const m = await api('POST', '/messages', { connectionId, content });
      state.messages.set(m.id, m);
      renderMessages();
      messageForm.reset();
      messageForm.elements.content.focus();
      return 'Message sent';
    });
  });
}

render.messages = renderMessages;
