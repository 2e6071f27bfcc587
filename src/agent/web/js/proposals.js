// Channel proposals peers sent us: who (by peer name, with the claims of its verified
// credential), what it puts in and asks of us, and for a pending one the accept and reject
// buttons and a countdown to when it expires undecided.
import { $, el, short, showEmpty } from './dom.js';
import { api, enc } from './api.js';
import { amount } from './amounts.js';
import { busy } from './actions.js';
import { countdown } from './countdown.js';
import { peerName, render, state } from './state.js';

function decisionButtons(p) {
  const accept = el('button', { type: 'button', testid: 'proposal-accept' }, 'Accept');
  const reject = el('button', { type: 'button', class: 'danger', testid: 'proposal-reject' }, 'Reject');
  const row = el('div', { class: 'row' }, accept, reject);
  const decide = (verb) =>
    busy(row, `${verb === 'accept' ? 'Accepting' : 'Rejecting'} the proposal`, async () => {
      const body = verb === 'reject' ? { reason: 'declined by the user' } : undefined;
      const done = await api('POST', `/proposals/${enc(p.id)}/${verb}`, body);
      state.proposals.set(done.id, done);
      renderProposals();
      return `Proposal ${done.status}`;
    });
  accept.addEventListener('click', () => decide('accept'));
  reject.addEventListener('click', () => decide('reject'));
  if (p.expiresAt !== undefined) {
    row.append(
      countdown(p.expiresAt, {
        before: 'expires in',
        after: 'expiring undecided…',
        testid: 'proposal-countdown',
      }),
    );
  }
  return row;
}

function renderProposals() {
  const list = [...state.proposals.values()].sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
  $('proposal-list').replaceChildren(
    ...list.map((p) =>
      el(
        'li',
        { testid: `proposal-${p.id}`, 'data-status': p.status },
        el(
          'p',
          {},
          el('strong', { testid: 'proposal-peer' }, peerName(p)),
          ' proposes a channel: they put in ',
          amount(p.peerFund, p.asset),
          ` ${p.asset}, we put in `,
          amount(p.ourFund, p.asset),
          ` ${p.asset} (challenge ${p.challengeDuration} s). `,
          el(
            'span',
            { class: 'muted' },
            `Their credential: name ${p.claims.name ?? '–'}, address `,
            short(p.claims.ethereumAddress, 8),
            `, spending limit ${p.claims.spendingLimit ?? 'none'}, issuer `,
            short(p.claims.issuer),
          ),
        ),
        el('span', { class: `badge ${p.status}`, testid: 'proposal-status' }, p.status),
        p.status === 'pending' ? decisionButtons(p) : undefined,
      ),
    ),
  );
  showEmpty('proposal-list', list.length === 0);
}

render.proposals = renderProposals;
