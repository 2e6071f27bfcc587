// Connections: the table of peers, the pickers of ready connections the forms share, creating
// an invitation (URL and QR code) and accepting one.
import { $, el, short, showEmpty, time } from './dom.js';
import { api, describe, setStatus } from './api.js';
import { busy } from './actions.js';
import { drawQr } from './qr.js';
import { unreadNote } from './messages.js';
import { connectionName, render, state } from './state.js';

function renderConnections() {
  const list = [...state.connections.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  $('connection-list').replaceChildren(
    ...list.map((c) =>
      el(
        'tr',
        { testid: `connection-${c.id}` },
        el('td', {}, connectionName(c)),
        el('td', {}, el('span', { class: c.ready ? 'ok' : 'muted' }, c.ready ? 'ready' : c.state)),
        el('td', {}, short(c.theirDid)),
        el('td', {}, time(c.createdAt)),
      ),
    ),
  );
  showEmpty('connection-list', list.length === 0);
  renderPickers(list.filter((c) => c.ready));
  // Names of peers may have changed with the connections.
  render.channels?.();
  render.proposals?.();
  render.payments?.();
}

/**
 * Every connection picker offers the ready connections by peer name (the messages' picker with
 * their unread count), keeping what was chosen.
 */
export function renderPickers(ready = [...state.connections.values()].filter((c) => c.ready)) {
  for (const select of document.querySelectorAll('select[data-connections="ready"]')) {
    const chosen = select.value;
    const note = select.dataset.testid === 'message-connection' ? (c) => unreadNote(c.id) : () => '';
    select.replaceChildren(
      ...(ready.length === 0 ? [el('option', { value: '' }, 'no ready connection')] : []),
      ...ready.map((c) => el('option', { value: c.id }, connectionName(c) + note(c))),
    );
    if (ready.some((c) => c.id === chosen)) select.value = chosen;
  }
  render.messages?.();
}

export function wireConnections() {
  $('create-invitation').addEventListener('click', (e) =>
    busy(e.currentTarget, 'Creating an invitation', async () => {
      const inv = await api('POST', '/invitations');
      $('invitation').hidden = false;
      $('invitation-url').value = inv.url;
      const box = $('invitation-qr');
      box.replaceChildren();
      try {
        await drawQr(box, inv.url);
      } catch (err) {
        box.replaceChildren(el('p', { class: 'muted' }, `No QR code: ${describe(err)}`));
      }
      return 'Invitation created: give its URL or QR code to the peer';
    }),
  );

  $('invitation-copy').addEventListener('click', async () => {
    const input = $('invitation-url');
    try {
      await navigator.clipboard.writeText(input.value);
      setStatus('Invitation URL copied', 'ok');
    } catch {
      input.select();
      setStatus('Copy refused by the browser: the URL is selected, press Ctrl+C', 'info');
    }
  });

  const acceptForm = $('accept-form');
  acceptForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const invitationUrl = acceptForm.elements.invitationUrl.value.trim();
    busy(acceptForm, 'Accepting the invitation', async () => {
      const c = await api('POST', '/connections', { invitationUrl });
      state.connections.set(c.id, c);
      renderConnections();
      acceptForm.reset();
      return `Connected with ${connectionName(c)}`;
    });
  });
}

render.connections = renderConnections;
