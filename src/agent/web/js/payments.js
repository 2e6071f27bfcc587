// The payment history: a page of payments at a time from GET /payments (newest first, of every
// channel or of one), with the peer, the amount and its direction, the time and the channel;
// Newer and Older move between pages. For one channel, its balances over time as a chart (from
// the same history: the balances after each payment). Payment events keep both current.
import { $, el, short, showEmpty, time } from './dom.js';
import { api, query } from './api.js';
import { amount, sumAmounts } from './amounts.js';
import { stepChart } from './charts.js';
import { alsoRefresh, channelPeer, peerName, refresher, render, state } from './state.js';

const PAGE = 20;
/** The payments of a channel its chart shows at most (the newest). */
const CHART_PAYMENTS = 500;

const view = {
  /** The channel shown, or undefined for all. */
  channelId: undefined,
  offset: 0,
  rows: [],
  hasOlder: false,
  /** The chart's payments, oldest first. */
  chart: [],
};

const loadPage = refresher(async () => {
  const { channelId, offset } = view;
  // One more than a page: whether an older page exists without asking for it.
  const got = await api('GET', `/payments${query({ channelId, limit: PAGE + 1, offset, reversed: true })}`);
  // The view moved on meanwhile: the run its move asked for renders.
  if (channelId !== view.channelId || offset !== view.offset) return;
  view.rows = got.slice(0, PAGE);
  view.hasOlder = got.length > PAGE;
  renderPayments();
});

const loadChart = refresher(async () => {
  const { channelId } = view;
  const got =
    channelId === undefined
      ? []
      : await api('GET', `/payments${query({ channelId, limit: CHART_PAYMENTS, reversed: true })}`);
  if (channelId !== view.channelId) return;
  view.chart = got.reverse();
  renderChart();
});

const load = () => Promise.all([loadPage(), loadChart()]);

function renderPayments() {
  $('payment-list').replaceChildren(
    ...view.rows.map((p) => {
      const sent = p.direction === 'sent';
      return el(
        'tr',
        { testid: 'payment', 'data-id': p.id, 'data-direction': p.direction },
        el('td', {}, time(p.at)),
        el('td', { testid: 'payment-peer' }, `${sent ? 'to' : 'from'} ${channelPeer(p.channelId)}`),
        el(
          'td',
          { class: sent ? 'sent' : 'received' },
          sent ? '−' : '+',
          amount(p.amount, p.asset, { testid: 'payment-amount' }),
          ` ${p.asset}`,
        ),
        el('td', {}, amount(p.ourBalance, p.asset)),
        el('td', {}, short(p.channelId, 10)),
      );
    }),
  );
  showEmpty('payment-list', view.rows.length === 0);
  $('payment-newer').disabled = view.offset === 0;
  $('payment-older').disabled = !view.hasOlder;
  $('payment-page').textContent =
    view.rows.length === 0 ? '' : `${view.offset + 1}–${view.offset + view.rows.length}, newest first`;
}

/**
 * The channel's balances after each of its updates (one point per version), and before the
 * first: its balances then plus what that update sent, minus what it received.
 */
function balancePoints(payments) {
  const byVersion = new Map();
  for (const p of payments) byVersion.set(p.version, p);
  const first = payments[0];
  const firstUpdate = payments.filter((p) => p.version === first.version);
  const moved = (side) =>
    sumAmounts([
      [side === 'ours' ? first.ourBalance : first.theirBalance, 1],
      ...firstUpdate.map((p) => [p.amount, (p.direction === 'sent') === (side === 'ours') ? 1 : -1]),
    ]);
  const after = [...byVersion.values()];
  const span = Date.parse(after.at(-1).at) - Date.parse(first.at);
  const before = Date.parse(first.at) - Math.max(1000, span / 20);
  const series = (side, value) => [
    { at: before, value: moved(side) },
    ...after.map((p) => ({ at: Date.parse(p.at), value: value(p) })),
  ];
  return {
    ours: series('ours', (p) => p.ourBalance),
    theirs: series('theirs', (p) => p.theirBalance),
  };
}

function renderChart() {
  const figure = $('balance-history');
  figure.hidden = view.channelId === undefined || view.chart.length === 0;
  if (figure.hidden) return $('balance-chart').replaceChildren();
  const points = balancePoints(view.chart);
  const unit = view.chart[0].asset;
  $('balance-chart').replaceChildren(
    stepChart(
      [
        { name: 'ours', class: 'ours', label: 'Ours', points: points.ours },
        { name: 'theirs', class: 'theirs', label: 'Theirs', points: points.theirs },
      ],
      { unit },
    ),
  );
}

/** The channel picker: every channel the page knows, by peer, keeping what was chosen. */
function renderChannelPicker() {
  const select = $('payment-channel');
  const channels = [...state.channels.values()].sort((a, b) => peerName(a).localeCompare(peerName(b)));
  select.replaceChildren(
    el('option', { value: '' }, 'all channels'),
    ...channels.map((c) => el('option', { value: c.id }, `${peerName(c)} · ${c.id.slice(0, 10)}…`)),
  );
  select.value = view.channelId ?? '';
}

function show(channelId) {
  view.channelId = channelId;
  view.offset = 0;
  $('payment-channel').value = channelId ?? '';
  return load();
}

/** A payment from the event stream: the newest page reloads, an older one stays as it is. */
export function onPayment(p) {
  if (view.channelId !== undefined && p.channelId !== view.channelId) return;
  // An older page keeps its rows: their offset moved by one, so Older does not show one twice.
  if (view.offset === 0) loadPage();
  else {
    view.offset += 1;
    renderPayments();
  }
  if (view.channelId !== undefined) loadChart();
}

export function wirePayments() {
  $('payment-channel').addEventListener('change', (e) => show(e.currentTarget.value || undefined));
  $('payment-newer').addEventListener('click', () => {
    view.offset = Math.max(0, view.offset - PAGE);
    loadPage();
  });
  $('payment-older').addEventListener('click', () => {
    view.offset += PAGE;
    loadPage();
  });
  alsoRefresh(load);
}

render.payments = () => {
  renderPayments();
  renderChart();
};
render.paymentChannels = renderChannelPicker;
render.paymentsOf = (channelId) => {
  document.getElementById('payments').scrollIntoView({ block: 'start' });
  return show(channelId);
};
