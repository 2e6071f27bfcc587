// Channels: a card per channel (peer, a bar of ours / locked / theirs, phase, a countdown to the
// challenge's end while disputed, pay, close and dispute), and the form that opens one. Cards
// are kept and updated in place, so a half-typed amount survives updates.
import { $, el, short, showEmpty } from './dom.js';
import { api, enc, setStatus } from './api.js';
import { amount, setAmount } from './amounts.js';
import { busy, confirmable, withdrawn } from './actions.js';
import { shareBar } from './charts.js';
import { countdown } from './countdown.js';
import { peerName, putChannel, refresh, render, state, version } from './state.js';

/** Phases in which a channel takes payments and can be closed, and those in which it can be disputed. */
const ACTIVE_PHASES = new Set(['Acting', 'Signing']);
const DISPUTABLE_PHASES = new Set(['Funding', 'Acting', 'Signing', 'Final']);

const channelCards = new Map();

function payForm(id) {
  const payAmount = el('input', {
    name: 'amount',
    required: true,
    inputmode: 'decimal',
    pattern: '[0-9]+(\\.[0-9]+)?',
    placeholder: 'ETH',
    autocomplete: 'off',
    'aria-label': 'Amount in ETH',
    testid: 'pay-amount',
  });
  const form = el(
    'form',
    { class: 'row', testid: 'pay-form' },
    payAmount,
    el('button', { type: 'submit', testid: 'pay-submit' }, 'Pay'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = payAmount.value.trim();
    busy(form, `Paying ${value} ETH`, async () => {
      const p = await api('POST', `/channels/${enc(id)}/payments`, { amount: value });
      applyPayment(p);
      payAmount.value = '';
      return `Paid ${p.amount} ETH; ours now ${p.ourBalance} ETH`;
    });
  });
  return form;
}

function settleButton(id, { label, confirm, testid, doing, path, done, danger }) {
  const button = el('button', { type: 'button', testid, class: danger ? 'danger' : undefined }, label);
  confirmable(button, confirm, () =>
    busy(button, doing, async () => {
      const s = await api('POST', `/channels/${enc(id)}/${path}`);
      refresh.channels();
      refresh.balance();
      return s.alreadySettled
        ? `Already settled earlier; it withdrew ${withdrawn(s)}`
        : `${done} ${withdrawn(s)}`;
    }),
  );
  return button;
}

function channelCard(id) {
  let card = channelCards.get(id);
  if (card) return card;
  const field = (label, testid) => [
    el('dt', {}, label),
    el('dd', {}, amount('0', 'ETH', { testid }), ' ETH'),
  ];
  const history = el('button', { type: 'button', class: 'quiet', testid: 'channel-history' }, 'Payments');
  history.addEventListener('click', () => render.paymentsOf?.(id));
  card = {
    root: el(
      'article',
      { class: 'channel', testid: `channel-${id}` },
      el(
        'h3',
        {},
        el('span', { testid: 'peer' }),
        ' ',
        short(id, 10),
        el('span', { class: 'kind', testid: 'kind' }),
      ),
      el('div', { class: 'picture', testid: 'channel-bar' }),
      el(
        'dl',
        { class: 'facts' },
        ...field('Ours', 'our-balance'),
        ...field('Theirs', 'their-balance'),
        el('dt', { testid: 'locked-label' }, 'Locked'),
        el('dd', { testid: 'locked-value' }, amount('0', 'ETH', { testid: 'locked' }), ' ETH'),
        el('dt', { testid: 'assets-label' }, 'Assets'),
        el('dd', { testid: 'assets' }),
        el('dt', {}, 'Phase'),
        el('dd', {}, el('span', { testid: 'phase' })),
        el('dt', {}, 'Version'),
        el('dd', {}, el('span', { testid: 'version' })),
      ),
      el('p', { class: 'challenge', testid: 'challenge' }),
      payForm(id),
      el(
        'div',
        { class: 'row' },
        settleButton(id, {
          label: 'Close',
          confirm: 'Confirm close',
          testid: 'close-channel',
          doing: 'Closing the channel (final state, on-chain settlement)',
          path: 'close',
          done: 'Closed; withdrawn',
        }),
        settleButton(id, {
          label: 'Dispute',
          confirm: 'Confirm dispute',
          testid: 'dispute-channel',
          doing: 'Disputing (register on chain, wait out the challenge duration)',
          path: 'dispute',
          done: 'Dispute settled; withdrawn',
          danger: true,
        }),
        history,
      ),
    ),
  };
  channelCards.set(id, card);
  return card;
}

/** "virtual, via Ingrid" / "sub-channel of 0x12…" / nothing for a ledger channel. */
function kind(c) {
  if (c.parentId === undefined) return '';
  const parent = state.channels.get(c.parentId);
  if (c.virtual) return parent ? ` virtual, via ${peerName(parent)}` : ' virtual';
  return ` sub-channel of ${c.parentId.slice(0, 10)}…`;
}

/** The countdown to the end of a registered state's challenge, while the channel is disputed. */
function challenge(c) {
  if (c.challengeEndsAt === undefined || c.phase === 'Withdrawn' || c.phase === 'Withdrawing') return [];
  return [
    'Disputed on chain: ',
    countdown(c.challengeEndsAt, {
      before: 'the challenge ends in',
      after: 'the challenge is over; withdrawing',
      testid: 'challenge-countdown',
    }),
  ];
}

function updateCard(c) {
  const card = channelCard(c.id);
  const q = (t) => $(t, card.root);
  q('peer').textContent = peerName(c);
  q('kind').textContent = kind(c);
  setAmount(q('our-balance'), c.ourBalance, c.asset);
  setAmount(q('their-balance'), c.theirBalance, c.asset);
  setAmount(q('locked'), c.locked, c.asset);
  // A channel of several assets (a cross-chain channel): each with its chain.
  const several = (c.assets ?? []).length > 1;
  q('assets-label').hidden = !several;
  q('assets').hidden = !several;
  q('assets').textContent = several
    ? c.assets
        .map((a) => `${a.asset} on chain ${a.chainId}: ours ${a.ourBalance}, theirs ${a.theirBalance}`)
        .join('; ')
    : '';
  const locked = Number(c.locked) > 0;
  q('locked-label').hidden = !locked;
  q('locked-value').hidden = !locked;
  q('channel-bar').replaceChildren(
    shareBar(
      [
        { name: 'ours', class: 'ours', label: 'Ours', value: c.ourBalance },
        { name: 'locked', class: 'locked', label: 'Locked in sub- or virtual channels', value: c.locked },
        { name: 'theirs', class: 'theirs', label: 'Theirs', value: c.theirBalance },
      ],
      { unit: c.asset },
    ),
  );
  q('phase').textContent =
    `${c.status ?? c.phase} (${c.phase})` + (c.isFinal && c.phase !== 'Final' ? ', final' : '');
  q('version').textContent = c.version;
  const dispute = challenge(c);
  const line = q('challenge');
  if (dispute.length === 0) line.replaceChildren();
  else if (line.dataset.deadline !== c.challengeEndsAt) line.replaceChildren(...dispute);
  line.dataset.deadline = c.challengeEndsAt ?? '';
  line.hidden = dispute.length === 0;
  card.root.dataset.phase = c.phase;
  const active = ACTIVE_PHASES.has(c.phase) && !c.isFinal;
  q('pay-form').hidden = !active;
  q('close-channel').hidden = !active;
  q('dispute-channel').hidden = !DISPUTABLE_PHASES.has(c.phase);
  return card.root;
}

function renderChannels() {
  const list = [...state.channels.values()].sort((a, b) => {
    const live = (c) => (c.phase === 'Withdrawn' ? 1 : 0);
    return live(a) - live(b) || a.id.localeCompare(b.id);
  });
  const box = $('channel-list');
  const cards = list.map(updateCard);
  // Reorder only when needed: moving a node would take the focus from its input.
  if (cards.length !== box.children.length || cards.some((c, i) => box.children[i] !== c)) {
    box.replaceChildren(...cards);
  }
  showEmpty('channel-list', list.length === 0);
  render.paymentChannels?.();
}

/** A payment (ours or the stream's) moves the channel's balances if it is newer than what we show. */
export function applyPayment(p) {
  const c = state.channels.get(p.channelId);
  if (c === undefined) {
    refresh.channels();
  } else if (version(p.version) >= version(c.version)) {
    state.channels.set(c.id, {
      ...c,
      version: p.version,
      ourBalance: p.ourBalance,
      theirBalance: p.theirBalance,
    });
    renderChannels();
  }
  refresh.balance();
}

export function wireChannels() {
  const openForm = $('open-form');
  openForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = openForm.elements;
    const req = { connectionId: f.connectionId.value, fund: f.fund.value.trim() };
    if (f.peerFund.value.trim() !== '') req.peerFund = f.peerFund.value.trim();
    if (!req.connectionId) return setStatus('No ready connection to open a channel with', 'error');
    busy(openForm, 'Opening the channel (checking credentials, funding on chain)', async () => {
      const c = await api('POST', '/channels', req);
      putChannel(c);
      renderChannels();
      refresh.balance();
      openForm.reset();
      return `Channel open: ours ${c.ourBalance} ETH, theirs ${c.theirBalance} ETH`;
    });
  });
}

render.channels = renderChannels;
