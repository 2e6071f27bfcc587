// The agent's web page: reads the API token from the URL fragment once (then keeps it in
// sessionStorage and removes it from the address bar), loads every resource from the REST API on
// this origin, and keeps it current from the event stream (/events): each event is applied to the
// page's state or makes it refetch the resource it touched. Everything is rendered with DOM calls
// and textContent, never HTML from data. API errors go to the status line.

const TOKEN_KEY = 'perun-agent-token';
const LOG_LIMIT = 200;
const EVENT_TYPES = [
  'connection',
  'message-received',
  'message-sent',
  'credential-received',
  'proposal',
  'channel-opened',
  'channel-phase',
  'payment-sent',
  'payment-received',
  'dispute',
  'settled',
  'warning',
];
/** Phases in which a channel takes payments and can be closed, and those in which it can be disputed. */
const ACTIVE_PHASES = new Set(['Acting', 'Signing']);
const DISPUTABLE_PHASES = new Set(['Funding', 'Acting', 'Signing', 'Final']);

// ------------------------------------------------------------------------------------ helpers

const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'testid') node.dataset.testid = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

/**
 * A long ID shortened to its start and end (the whole in a tooltip). DIDs keep a longer start and
 * no end: did:peer:2 DIDs differ early and end alike (their service part).
 */
function short(text, head = 14, tail = 6) {
  if (text === undefined || text === null) return el('span', { class: 'muted' }, '–');
  const s = String(text);
  if (s.startsWith('did:')) [head, tail] = [Math.max(head, 26), 0];
  if (s.length <= head + tail + 1) return el('code', {}, s);
  return el('code', { title: s }, `${s.slice(0, head)}…${tail > 0 ? s.slice(-tail) : ''}`);
}

const time = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
};
const clock = (iso) => {
  const d = iso ? new Date(iso) : new Date();
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
};

function version(v) {
  try {
    return BigInt(v);
  } catch {
    return -1n;
  }
}

// ------------------------------------------------------------------------------------ status

const statusLine = () => $('status');

function setStatus(text, kind = 'info') {
  const s = statusLine();
  s.textContent = text;
  s.dataset.kind = kind;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.category = body.category;
    this.code = body.code;
    this.details = body.details;
  }
}

/** An API error (or a network failure) in words: "message (CODE, field x)". */
function describe(err) {
  if (err instanceof ApiError) {
    const field = err.details && typeof err.details.field === 'string' ? `, field ${err.details.field}` : '';
    return `${err.message} (${err.code}${field})`;
  }
  if (err instanceof TypeError) return `cannot reach the agent (${err.message})`;
  return err instanceof Error ? err.message : String(err);
}

function showError(err, doing) {
  setStatus(doing ? `${doing} failed: ${describe(err)}` : describe(err), 'error');
}

// ------------------------------------------------------------------------------------ token and API

/** The token from #token=... (then removed from the address bar), else from this tab's storage. */
function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl !== null && fromUrl !== '') {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const token = takeToken();

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const known = json && typeof json.code === 'string' && typeof json.message === 'string';
    throw new ApiError(
      res.status,
      known
        ? json
        : { category: 'http', code: `HTTP_${res.status}`, message: res.statusText || 'request failed' },
    );
  }
  return json;
}

const enc = encodeURIComponent;

// ------------------------------------------------------------------------------------ state

const state = {
  info: undefined,
  balance: undefined,
  connections: new Map(),
  messages: new Map(),
  credentials: new Map(),
  channels: new Map(),
  proposals: new Map(),
  /** The connection whose messages are shown. */
  selectedConnection: undefined,
};

/** Keeps the newer of two views of a channel (a fetch may answer after a newer event). */
function putChannel(c) {
  const had = state.channels.get(c.id);
  if (had !== undefined && version(had.version) > version(c.version)) return;
  state.channels.set(c.id, c);
}

/**
 * A refetch that never runs twice at once: asked again while running, it runs once more after,
 * so the last answer always reflects the last request.
 */
function refresher(load) {
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

const refresh = {
  info: refresher(async () => {
    state.info = await api('GET', '/info');
    renderInfo();
  }),
  balance: refresher(async () => {
    state.balance = await api('GET', '/balance');
    renderBalance();
  }),
  connections: refresher(async () => {
    for (const c of await api('GET', '/connections')) state.connections.set(c.id, c);
    renderConnections();
  }),
  messages: refresher(async () => {
    for (const m of await api('GET', '/messages')) state.messages.set(m.id, m);
    renderMessages();
  }),
  credentials: refresher(async () => {
    for (const c of await api('GET', '/credentials')) state.credentials.set(c.id, c);
    renderCredentials();
  }),
  channels: refresher(async () => {
    for (const c of await api('GET', '/channels')) putChannel(c);
    renderChannels();
  }),
  proposals: refresher(async () => {
    for (const p of await api('GET', '/proposals')) state.proposals.set(p.id, p);
    renderProposals();
  }),
};

const refreshAll = () => Promise.all(Object.values(refresh).map((r) => r()));

// ------------------------------------------------------------------------------------ rendering

function showEmpty(listTestId, empty) {
  const p = document.querySelector(`[data-empty-for="${listTestId}"]`);
  if (p) p.hidden = !empty;
}

function renderInfo() {
  const i = state.info;
  if (!i) return;
  document.title = `${i.label} · perun-agent`;
  $('agent-label').textContent = i.label;
  $('agent-did').textContent = i.did;
  $('agent-issuer-did').textContent = i.issuerDid;
  $('agent-address').textContent = i.address;
  $('agent-chain').textContent = `chain ${i.chainId}, adjudicator ${i.adjudicator}`;
  $('agent-signer').textContent = `secp256k1 ${i.signer}`;
}

function renderBalance() {
  const b = state.balance;
  if (!b) return;
  $('balance-onchain').textContent = b.onChain;
  $('balance-channels').textContent = b.inChannels;
  $('channel-count').textContent = `(${b.channels} open channel${b.channels === 1 ? '' : 's'})`;
}

const peerName = (c) => c.theirLabel ?? 'unnamed peer';

function renderConnections() {
  const list = [...state.connections.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const body = $('connection-list');
  body.replaceChildren(
    ...list.map((c) =>
      el(
        'tr',
        { testid: `connection-${c.id}` },
        el('td', {}, peerName(c)),
        el('td', {}, el('span', { class: c.ready ? 'ok' : 'muted' }, c.ready ? 'ready' : c.state)),
        el('td', {}, short(c.theirDid)),
        el('td', {}, time(c.createdAt)),
      ),
    ),
  );
  showEmpty('connection-list', list.length === 0);

  // Every connection picker offers the ready connections, keeping what was chosen.
  const ready = list.filter((c) => c.ready);
  for (const select of document.querySelectorAll('select[data-connections="ready"]')) {
    const chosen = select.value;
    select.replaceChildren(
      ...(ready.length === 0 ? [el('option', { value: '' }, 'no ready connection')] : []),
      ...ready.map((c) => el('option', { value: c.id }, `${peerName(c)} · ${c.id.slice(0, 8)}`)),
    );
    if (ready.some((c) => c.id === chosen)) select.value = chosen;
  }
  const picker = $('message-connection');
  if (state.selectedConnection !== picker.value) {
    state.selectedConnection = picker.value || undefined;
    renderMessages();
  }
}

function renderMessages() {
  const id = state.selectedConnection;
  const list = [...state.messages.values()]
    .filter((m) => m.connectionId === id)
    .sort((a, b) => a.sentTime.localeCompare(b.sentTime));
  $('message-list').replaceChildren(
    ...list.map((m) =>
      el(
        'li',
        { class: m.direction, testid: 'message', 'data-direction': m.direction },
        el('span', { class: 'when' }, `${m.direction === 'sent' ? 'you' : 'them'}, ${clock(m.sentTime)}`),
        el('span', { class: 'content' }, m.content),
      ),
    ),
  );
  const box = $('message-list');
  box.scrollTop = box.scrollHeight;
}

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

/** Channel cards are kept and updated in place, so a half-typed amount survives updates. */
const channelCards = new Map();

function channelCard(id) {
  let card = channelCards.get(id);
  if (card) return card;
  const field = (label, testid) => [el('dt', {}, label), el('dd', {}, el('span', { testid }), ' ETH')];
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
  const payForm = el(
    'form',
    { class: 'row', testid: 'pay-form' },
    payAmount,
    el('button', { type: 'submit', testid: 'pay-submit' }, 'Pay'),
  );
  payForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const amount = payAmount.value.trim();
    busy(payForm, `Paying ${amount} ETH`, async () => {
      const p = await api('POST', `/channels/${enc(id)}/payments`, { amount });
      applyPayment(p);
      payAmount.value = '';
      return `Paid ${p.amount} ETH; ours now ${p.ourBalance} ETH`;
    });
  });
  const closeButton = el('button', { type: 'button', testid: 'close-channel' }, 'Close');
  const disputeButton = el(
    'button',
    { type: 'button', class: 'danger', testid: 'dispute-channel' },
    'Dispute',
  );
  confirmable(closeButton, 'Confirm close', () =>
    busy(closeButton, 'Closing the channel (final state, on-chain settlement)', async () => {
      const s = await api('POST', `/channels/${enc(id)}/close`);
      refresh.channels();
      refresh.balance();
      return `Closed; withdrawn ${withdrawn(s)}`;
    }),
  );
  confirmable(disputeButton, 'Confirm dispute', () =>
    busy(disputeButton, 'Disputing (register on chain, wait out the challenge duration)', async () => {
      const s = await api('POST', `/channels/${enc(id)}/dispute`);
      refresh.channels();
      refresh.balance();
      return `Dispute settled; withdrawn ${withdrawn(s)}`;
    }),
  );
  card = {
    root: el(
      'article',
      { class: 'channel', testid: `channel-${id}` },
      el('h3', {}, el('span', { testid: 'peer' }), ' ', short(id, 10)),
      el(
        'dl',
        { class: 'facts' },
        ...field('Ours', 'our-balance'),
        ...field('Theirs', 'their-balance'),
        el('dt', {}, 'Phase'),
        el('dd', {}, el('span', { testid: 'phase' })),
        el('dt', {}, 'Version'),
        el('dd', {}, el('span', { testid: 'version' })),
      ),
      payForm,
      el('div', { class: 'row' }, closeButton, disputeButton),
    ),
    payForm,
    closeButton,
    disputeButton,
  };
  channelCards.set(id, card);
  return card;
}

function renderChannels() {
  const list = [...state.channels.values()].sort((a, b) => {
    const live = (c) => (c.phase === 'Withdrawn' ? 1 : 0);
    return live(a) - live(b) || a.id.localeCompare(b.id);
  });
  const box = $('channel-list');
  const cards = list.map((c) => {
    const card = channelCard(c.id);
    const q = (t) => card.root.querySelector(`[data-testid="${t}"]`);
    q('peer').textContent = c.peerLabel ?? 'unnamed peer';
    q('our-balance').textContent = c.ourBalance;
    q('their-balance').textContent = c.theirBalance;
    q('phase').textContent =
      `${c.status ?? c.phase} (${c.phase})` + (c.isFinal && c.phase !== 'Final' ? ', final' : '');
    q('version').textContent = c.version;
    card.root.dataset.phase = c.phase;
    const active = ACTIVE_PHASES.has(c.phase) && !c.isFinal;
    card.payForm.hidden = !active;
    card.closeButton.hidden = !active;
    card.disputeButton.hidden = !DISPUTABLE_PHASES.has(c.phase);
    return card.root;
  });
  // Reorder only when needed: moving a node would take the focus from its input.
  if (cards.length !== box.children.length || cards.some((c, i) => box.children[i] !== c)) {
    box.replaceChildren(...cards);
  }
  showEmpty('channel-list', list.length === 0);
}

function renderProposals() {
  const list = [...state.proposals.values()].sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
  $('proposal-list').replaceChildren(
    ...list.map((p) => {
      const item = el(
        'li',
        { testid: `proposal-${p.id}`, 'data-status': p.status },
        el(
          'p',
          {},
          el('strong', {}, p.claims.name ?? p.peerLabel ?? 'unnamed peer'),
          ` proposes a channel: they put in ${p.peerFund} ETH, we put in ${p.ourFund} ETH `,
          `(challenge ${p.challengeDuration} s). `,
          el('span', { class: 'muted' }, `Address `),
          short(p.claims.ethereumAddress, 8),
          el('span', { class: 'muted' }, `, spending limit ${p.claims.spendingLimit ?? 'none'}, issuer `),
          short(p.claims.issuer),
        ),
        el('span', { class: `badge ${p.status}`, testid: 'proposal-status' }, p.status),
      );
      if (p.status === 'pending') {
        const accept = el('button', { type: 'button', testid: 'proposal-accept' }, 'Accept');
        const reject = el('button', { type: 'button', class: 'danger', testid: 'proposal-reject' }, 'Reject');
        const decide = (button, verb) =>
          busy(
            button.parentElement,
            `${verb === 'accept' ? 'Accepting' : 'Rejecting'} the proposal`,
            async () => {
              const body = verb === 'reject' ? { reason: 'declined by the user' } : undefined;
              const done = await api('POST', `/proposals/${enc(p.id)}/${verb}`, body);
              state.proposals.set(done.id, done);
              renderProposals();
              return `Proposal ${done.status}`;
            },
          );
        accept.addEventListener('click', () => decide(accept, 'accept'));
        reject.addEventListener('click', () => decide(reject, 'reject'));
        item.append(el('div', { class: 'row' }, accept, reject));
      }
      return item;
    }),
  );
  showEmpty('proposal-list', list.length === 0);
}

// ------------------------------------------------------------------------------------ actions

const withdrawn = (s) => s.withdrawn.map((w) => `${w.amount} ${w.asset}`).join(', ') || 'nothing';

/**
 * Runs an action with its form or button disabled and the progress and outcome (the text the
 * action returns) or the error in the status line.
 */
async function busy(target, doing, action) {
  const controls = target.matches('button')
    ? [target]
    : [...target.querySelectorAll('button, input, select')];
  for (const c of controls) c.disabled = true;
  target.setAttribute('aria-busy', 'true');
  setStatus(`${doing}…`, 'info');
  try {
    setStatus(await action(), 'ok');
  } catch (err) {
    showError(err, doing);
  } finally {
    for (const c of controls) c.disabled = false;
    target.removeAttribute('aria-busy');
  }
}

/** A button that acts on a second click within 4 s (no dialog box). */
function confirmable(button, confirmLabel, action) {
  const label = button.textContent;
  let timer;
  button.addEventListener('click', () => {
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.textContent = confirmLabel;
      timer = setTimeout(() => {
        delete button.dataset.armed;
        button.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(timer);
    delete button.dataset.armed;
    button.textContent = label;
    action();
  });
}

function applyPayment(p) {
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

let qrModule;

/**
 * Draws the QR code of `text` as an SVG of one path (no HTML strings). Error correction level L:
 * the least dense code, and a screen does not smudge.
 */
async function drawQr(box, text) {
  qrModule ??= import('/vendor/qrcode.mjs');
  const qrcode = (await qrModule).default;
  const qr = qrcode(0, 'L');
  qr.addData(text);
  try {
    qr.make();
  } catch (err) {
    throw new Error(`the invitation is too long for a QR code (${err})`);
  }
  const n = qr.getModuleCount();
  const margin = 4;
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + margin} ${r + margin}h1v1h-1z`;
  }
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const size = n + 2 * margin;
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.dataset.modules = String(n);
  const bg = document.createElementNS(ns, 'rect');
  bg.setAttribute('width', String(size));
  bg.setAttribute('height', String(size));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  box.replaceChildren(svg);
}

function wireForms() {
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
      return `Connected with ${peerName(c)}`;
    });
  });

  $('message-connection').addEventListener('change', (e) => {
    state.selectedConnection = e.currentTarget.value || undefined;
    renderMessages();
  });

  const messageForm = $('message-form');
  messageForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const connectionId = $('message-connection').value;
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

// ------------------------------------------------------------------------------------ events

function summary(e) {
  switch (e.type) {
    case 'connection':
      return `${peerName(e.connection)}: ${e.connection.state}`;
    case 'message-received':
    case 'message-sent':
      return e.message.content.length > 80 ? `${e.message.content.slice(0, 80)}…` : e.message.content;
    case 'credential-received':
      return `${e.credential.claims.name ?? ''} from ${e.credential.issuer}`;
    case 'proposal':
      return `${e.proposal.claims.name ?? e.proposal.peerLabel ?? e.proposal.peerDid}: ${e.proposal.status}`;
    case 'channel-opened':
      return `${e.channel.id.slice(0, 10)}… ours ${e.channel.ourBalance}, theirs ${e.channel.theirBalance}`;
    case 'channel-phase':
      return `${e.channelId.slice(0, 10)}… ${e.from} → ${e.to}`;
    case 'payment-sent':
    case 'payment-received':
      return `${e.type === 'payment-sent' ? '−' : '+'}${e.payment.amount} ETH on ${e.payment.channelId.slice(0, 10)}…, ours ${e.payment.ourBalance}`;
    case 'dispute':
      return `${e.channelId.slice(0, 10)}… version ${e.version} registered by ${e.by}`;
    case 'settled':
      return `${e.settlement.channelId.slice(0, 10)}… withdrawn ${withdrawn(e.settlement)}`;
    case 'warning':
      return `${e.context}: ${e.message}`;
    default:
      return '';
  }
}

function logEvent(e) {
  const log = $('event-log');
  log.prepend(
    el(
      'li',
      { 'data-type': e.type, 'data-id': e.id },
      el('time', { datetime: e.at }, clock(e.at)),
      el('span', { class: 'type' }, e.type),
      el('span', {}, summary(e)),
    ),
  );
  while (log.children.length > LOG_LIMIT) log.lastElementChild.remove();
}

function onEvent(e) {
  logEvent(e);
  switch (e.type) {
    case 'connection':
      state.connections.set(e.connection.id, e.connection);
      renderConnections();
      break;
    case 'message-received':
    case 'message-sent':
      state.messages.set(e.message.id, e.message);
      if (e.message.connectionId === state.selectedConnection) renderMessages();
      else if (e.type === 'message-received') {
        const from = state.connections.get(e.message.connectionId);
        setStatus(`New message from ${from ? peerName(from) : 'a peer'} (pick it under Messages)`, 'info');
      }
      break;
    case 'credential-received':
      state.credentials.set(e.credential.id, e.credential);
      renderCredentials();
      break;
    case 'proposal':
      state.proposals.set(e.proposal.id, e.proposal);
      renderProposals();
      if (e.proposal.status === 'pending')
        setStatus('A channel proposal waits for your decision (Channel proposals)', 'info');
      break;
    case 'channel-opened':
      putChannel(e.channel);
      renderChannels();
      refresh.balance();
      break;
    case 'payment-sent':
    case 'payment-received':
      applyPayment(e.payment);
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

const RECONNECT_MS = 2000;
/** The stream was live once and broke since. */
let streamLost = false;

function streamState(s, text) {
  const badge = $('stream-status');
  badge.dataset.state = s;
  badge.textContent = text;
}

/**
 * The event stream. Every (re)connection refetches everything, so nothing missed while
 * disconnected stays missing; a broken stream is replaced by a fresh one (not the browser's
 * reconnect with Last-Event-ID, whose IDs mean nothing to a restarted agent) unless the agent now
 * refuses the token.
 */
function connectEvents() {
  const source = new EventSource(`/events?token=${enc(token)}`);
  let live = false;
  source.addEventListener('open', () => {
    live = true;
    streamState('live', 'live');
    if (streamLost) setStatus('Event stream back', 'ok');
    streamLost = false;
    refreshAll();
  });
  source.addEventListener('error', async () => {
    source.close();
    streamState('connecting', 'reconnecting…');
    if (live) {
      streamLost = true;
      setStatus('Lost the event stream; reconnecting…', 'warn');
    }
    try {
      await api('GET', '/info');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        streamState('closed', 'not connected');
        return setStatus(`The agent refused the API token: ${describe(err)}`, 'error');
      }
    }
    setTimeout(connectEvents, RECONNECT_MS);
  });
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (m) => {
      let e;
      try {
        e = JSON.parse(m.data);
      } catch (err) {
        return setStatus(`An unreadable event: ${describe(err)}`, 'error');
      }
      onEvent(e);
    });
  }
}

// ------------------------------------------------------------------------------------ start

async function main() {
  wireForms();
  if (!token) {
    streamState('closed', 'no token');
    setStatus('No API token: open the URL that `perun-agent page` prints (it ends in #token=…)', 'error');
    return;
  }
  try {
    state.info = await api('GET', '/info');
  } catch (err) {
    streamState('closed', 'not connected');
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      setStatus(
        `The agent refused the API token: ${describe(err)}. Open the URL that \`perun-agent start\` prints.`,
        'error',
      );
    } else showError(err, 'Loading the agent');
    return;
  }
  renderInfo();
  setStatus('Connected', 'ok');
  connectEvents();
}

main();
