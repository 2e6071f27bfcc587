// Our credentials (the claims each certifies, its issuer and expiry) and the form that asks an
// issuer on a connection for one.
import { $, el, short, showEmpty, time } from './dom.js';
import { api, setStatus } from './api.js';
import { busy } from './actions.js';
import { render, state } from './state.js';

function renderCredentials() {
  const list = [...state.credentials.values()].sort((a, b) => a.issuanceDate.localeCompare(b.issuanceDate));
  $('credential-list').replaceChildren(
    ...list.map((c) =>
      el(
        'tr',
        { testid: `credential-${c.id}` },
        el('td', {}, c.claims.name ?? '–'),
        el('td', {}, short(c.claims.ethereumAddress, 8)),
        el('td', {}, c.claims.spendingLimit === undefined ? 'none' : `${c.claims.spendingLimit} ETH`),
        el('td', {}, short(c.issuer)),
        el('td', {}, c.expirationDate ? time(c.expirationDate) : 'never'),
      ),
    ),
  );
  showEmpty('credential-list', list.length === 0);
}

export function wireCredentials() {
  const requestForm = $('request-form');
  requestForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = requestForm.elements;
    const req = { connectionId: f.connectionId.value, name: f.name.value.trim() };
    if (!req.connectionId) return setStatus('No ready connection to ask', 'error');
    busy(requestForm, 'Requesting a credential', async () => {
      const c = await api('POST', '/credentials/request', req);
      state.credentials.set(c.id, c);
      renderCredentials();
      requestForm.reset();
      return `Credential received from ${c.issuer}`;
    });
  });
}

render.credentials = renderCredentials;
