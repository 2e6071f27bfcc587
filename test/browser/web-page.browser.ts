// The web page in a real browser (Debian's chromium through playwright-core) against real agents
// in this process on a shared chain: an Issuer certifies Alice and Bob, Bob invites Alice, Alice
// opens a channel (all through the node objects, fast). Then both pages show the channel; Alice
// pays from her page and both pages follow live; Bob messages Alice from his page; Bob decides a
// proposal and opens a channel from his page; the invitation shows a URL and a QR code; a wrong
// or missing token is refused and the page says so.
import type { Page } from 'playwright-core';
import type { RunningAgent } from '../../src/agent/node/start.js';
import type { ChannelView } from '../../src/agent/node/types.js';
import { BrowserWorld, shows } from './fixture.js';

let world: BrowserWorld;
let alice: RunningAgent;
let bob: RunningAgent;
let channel: ChannelView;
/** Bob's connection with Alice and hers with him. */
let bobToAlice: string;
let aliceToBob: string;

let alicePage: Page;
let bobPage: Page;

beforeAll(async () => {
  world = await BrowserWorld.start();
  ({ alice, bob, aliceToBob, bobToAlice, channel } = await world.pairWithChannel());
  alicePage = await world.open(alice.webUrl);
  bobPage = await world.open(bob.webUrl);
}, 240_000);

afterAll(() => world?.stop(), 60_000);

afterEach(() => world.reportPageErrors());

test('both pages show the agent and the channel with its balances; the token leaves the address bar', async () => {
  await shows(alicePage.getByTestId('agent-label'), 'Alice');
  await shows(alicePage.getByTestId('agent-address'), alice.info.address);
  await shows(bobPage.getByTestId('agent-did'), bob.info.did);
  expect(alicePage.url()).toBe(`${alice.apiUrl}/`);
  expect(await alicePage.evaluate('sessionStorage.length')).toBe(1);

  const a = alicePage.getByTestId(`channel-${channel.id}`);
  await shows(a.getByTestId('our-balance'), '5');
  await shows(a.getByTestId('their-balance'), '1');
  await shows(a.getByTestId('phase'), 'open (Acting)');
  await shows(a.getByTestId('version'), '0');
  const b = bobPage.getByTestId(`channel-${channel.id}`);
  await shows(b.getByTestId('our-balance'), '1');
  await shows(b.getByTestId('their-balance'), '5');

  // Info, connections and credentials.
  await shows(alicePage.getByTestId('balance-channels'), '5');
  await shows(alicePage.getByTestId('channel-count'), '(1 open channel)');
  await alicePage.getByTestId(`connection-${aliceToBob}`).filter({ hasText: 'Bob' }).waitFor();
  await alicePage.getByTestId('credential-list').filter({ hasText: 'Alice' }).waitFor();
  await shows(bobPage.getByTestId('stream-status'), 'live');
});

test('Alice pays 0.5 ETH from her page; both pages follow live', async () => {
  await shows(bobPage.getByTestId('stream-status'), 'live');
  const a = alicePage.getByTestId(`channel-${channel.id}`);
  await a.getByTestId('pay-amount').fill('0.5');
  await a.getByTestId('pay-submit').click();

  await shows(a.getByTestId('our-balance'), '4.5');
  await shows(a.getByTestId('their-balance'), '1.5');
  await shows(a.getByTestId('version'), '1');
  const b = bobPage.getByTestId(`channel-${channel.id}`);
  await shows(b.getByTestId('our-balance'), '1.5');
  await shows(b.getByTestId('their-balance'), '4.5');
  await shows(b.getByTestId('version'), '1');
  await bobPage.getByTestId('event-log').locator('[data-type="payment-received"]').first().waitFor();
  await shows(bobPage.getByTestId('balance-channels'), '1.5');
  expect(alice.node.channel(channel.id)).toMatchObject({ ourBalance: '4.5', version: '1' });

  // A bad amount is refused by the API and shown in the status line.
  await a.getByTestId('pay-amount').fill('1000');
  await a.getByTestId('pay-submit').click();
  await alicePage.locator('[data-testid="status"][data-kind="error"]').waitFor();
  expect(alice.node.channel(channel.id).version).toBe('1');
});

test('Bob sends Alice a message from his page; it appears on hers', async () => {
  await alicePage.getByTestId('message-connection').selectOption(aliceToBob);
  await bobPage.getByTestId('message-connection').selectOption(bobToAlice);
  await bobPage.getByTestId('message-input').fill('Hi Alice, thanks for the 0.5');
  await bobPage.getByTestId('message-send').click();

  await alicePage
    .getByTestId('message-list')
    .locator('[data-direction="received"]')
    .filter({ hasText: 'Hi Alice, thanks for the 0.5' })
    .waitFor();
  await bobPage
    .getByTestId('message-list')
    .locator('[data-direction="sent"]')
    .filter({ hasText: 'Hi Alice, thanks for the 0.5' })
    .waitFor();
  expect((await alice.node.messages(aliceToBob)).map((m) => m.content)).toContain(
    'Hi Alice, thanks for the 0.5',
  );
});

test('Bob rejects a large proposal on his page, then opens a channel from it', async () => {
  // 11 ETH asked of Bob is above his auto-accept limit: the proposal waits for him.
  const opening = alice.node.openChannel({ connectionId: aliceToBob, fund: '1', peerFund: '11' });
  opening.catch(() => undefined);
  const pending = bobPage.locator('[data-testid^="proposal-"][data-status="pending"]');
  await pending.waitFor();
  await pending.getByTestId('proposal-reject').click();
  await expect(opening).rejects.toMatchObject({ code: 'PROPOSAL_REJECTED' });
  await bobPage.locator('[data-testid^="proposal-"][data-status="rejected"]').waitFor();

  await bobPage.getByTestId('open-connection').selectOption(bobToAlice);
  await bobPage.getByTestId('open-fund').fill('2');
  await bobPage.getByTestId('open-peer-fund').fill('0.25');
  await bobPage.getByTestId('open-submit').click();
  await bobPage
    .locator('[data-testid="status"][data-kind="ok"]')
    .filter({ hasText: 'Channel open' })
    .waitFor();
  const second = bob.node.channels().find((c) => c.id !== channel.id);
  expect(second).toMatchObject({ ourBalance: '2', theirBalance: '0.25', idx: 0 });
  await shows(bobPage.getByTestId(`channel-${second!.id}`).getByTestId('our-balance'), '2');
  const onAlices = alicePage.getByTestId(`channel-${second!.id}`);
  await shows(onAlices.getByTestId('our-balance'), '0.25');
  await shows(onAlices.getByTestId('their-balance'), '2');
});

test('the invitation button shows a URL, a copy button and a QR code; another agent accepts it from its page', async () => {
  await alicePage.getByTestId('create-invitation').click();
  const url = alicePage.getByTestId('invitation-url');
  await alicePage.getByTestId('invitation-qr').locator('svg path').waitFor();
  const invitation = await url.inputValue();
  expect(invitation).toMatch(/^https?:\/\/.+\?oob=/);
  const qr = alicePage.getByTestId('invitation-qr').locator('svg');
  expect(Number(await qr.getAttribute('data-modules'))).toBeGreaterThanOrEqual(21);
  await alicePage.getByTestId('invitation-copy').click();
  await alicePage.locator('[data-testid="status"][data-kind="ok"]').filter({ hasText: 'copied' }).waitFor();
  expect(await alicePage.evaluate('navigator.clipboard.readText()')).toBe(invitation);

  // Carol (a new agent: the node does not connect one pair of agents twice) accepts it on her page.
  const carol = await world.agent('Carol');
  const carolPage = await world.open(carol.webUrl);
  await carolPage.getByTestId('accept-url').fill(invitation);
  await carolPage.getByTestId('accept-submit').click();
  await carolPage.getByTestId('connection-list').locator('tr').filter({ hasText: 'Alice' }).waitFor();
  await alicePage.getByTestId('connection-list').locator('tr').filter({ hasText: 'Carol' }).waitFor();
  expect((await carol.node.connections()).map((c) => [c.theirLabel, c.ready])).toEqual([['Alice', true]]);
});

test('without the token the API answers 401; a wrong token in the fragment shows an error', async () => {
  const res = await fetch(`${alice.apiUrl}/info`);
  expect(res.status).toBe(401);
  expect(await res.json()).toMatchObject({ category: 'client', code: 'UNAUTHORIZED' });
  const events = await fetch(`${alice.apiUrl}/events?token=wrong`);
  expect(events.status).toBe(401);

  const page = await world.open(`${alice.apiUrl}/#token=wrong`);
  const status = page.locator('[data-testid="status"][data-kind="error"]');
  await status.filter({ hasText: 'UNAUTHORIZED' }).waitFor();
  await shows(page.getByTestId('stream-status'), 'not connected');
  expect(page.url()).toBe(`${alice.apiUrl}/`);
  const none = await world.open(`${alice.apiUrl}/`);
  await none
    .locator('[data-testid="status"][data-kind="error"]')
    .filter({ hasText: 'No API token' })
    .waitFor();
});
