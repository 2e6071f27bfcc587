// The web page made easy to read, in a real browser against real agents: amounts rounded with the
// exact value on hover and when copied, peers by name and never by connection ID, an unread
// badge that viewing the messages clears, countdowns on a proposal and a dispute, balances and
// channels first on a phone with the identity folded, and a field to paste the token into.
// Screenshots go to test-results/screenshots/.
import type { Page } from 'playwright-core';
import type { RunningAgent } from '../../src/agent/node/start.js';
import type { ChannelView } from '../../src/agent/node/types.js';
import { BrowserWorld, screenshot, shows } from './fixture.js';

let world: BrowserWorld;
let alice: RunningAgent;
let bob: RunningAgent;
let channel: ChannelView;
let aliceToBob: string;
let bobToAlice: string;
let alicePage: Page;
let bobPage: Page;

/** The token in an agent's page URL (after #token=). */
const tokenOf = (a: RunningAgent) => new URLSearchParams(new URL(a.webUrl).hash.slice(1)).get('token')!;

/** What the page puts on the clipboard when the text of the element `selector` is selected and copied. */
async function copied(page: Page, selector: string): Promise<string> {
  await page.evaluate(`(() => {
    const range = document.createRange();
    range.selectNodeContents(document.querySelector(${JSON.stringify(selector)}));
    document.getSelection().removeAllRanges();
    document.getSelection().addRange(range);
    document.execCommand('copy');
  })()`);
  return page.evaluate<string>('navigator.clipboard.readText()');
}

/** The seconds a countdown shows ("… in 23 s"). */
async function secondsLeft(page: Page, testId: string): Promise<number> {
  const text = (await page.getByTestId(testId).first().textContent()) ?? '';
  const m = /in (\d+) s$/.exec(text);
  expect([text, m !== null]).toEqual([text, true]);
  return Number(m![1]);
}

beforeAll(async () => {
  world = await BrowserWorld.start();
  ({ alice, bob, aliceToBob, bobToAlice, channel } = await world.pairWithChannel());
  alicePage = await world.open(alice.webUrl);
  bobPage = await world.open(bob.webUrl);
}, 240_000);

afterAll(() => world?.stop(), 60_000);

afterEach(() => world.reportPageErrors());

test('amounts are rounded for reading, exact in the tooltip and when copied', async () => {
  const card = alicePage.getByTestId(`channel-${channel.id}`);
  await card.getByTestId('pay-amount').fill('0.123456789');
  await card.getByTestId('pay-submit').click();

  await shows(card.getByTestId('our-balance'), '4.8765');
  expect(await card.getByTestId('our-balance').getAttribute('title')).toBe('4.876543211 ETH');
  expect(alice.node.channel(channel.id).ourBalance).toBe('4.876543211');
  await shows(card.getByTestId('their-balance'), '1.1235');
  const bobs = bobPage.getByTestId(`channel-${channel.id}`);
  await shows(bobs.getByTestId('our-balance'), '1.1235');
  expect(await bobs.getByTestId('our-balance').getAttribute('title')).toBe('1.123456789 ETH');

  // Copying the rounded balance copies its exact value; copying a payment's row, its exact amount.
  expect(await copied(alicePage, `[data-testid="channel-${channel.id}"] [data-testid="our-balance"]`)).toBe(
    '4.876543211',
  );
  const row = alicePage.getByTestId('payment-list').locator('[data-testid="payment"]').first();
  await shows(row.getByTestId('payment-amount'), '0.1235');
  const rowText = await copied(alicePage, '[data-testid="payment-list"] [data-testid="payment"]');
  expect(rowText).toContain('0.123456789');
  expect(rowText).toContain('4.876543211');
  expect(rowText).not.toContain('0.1235');
  await screenshot(alicePage, 'reading-amounts');
});

test('peers are named by their connection label everywhere, never by connection ID', async () => {
  await shows(alicePage.getByTestId(`channel-${channel.id}`).getByTestId('peer'), 'Bob');
  await shows(alicePage.getByTestId('payment-list').getByTestId('payment-peer').first(), 'to Bob');
  const options = await alicePage
    .getByTestId('open-connection')
    .locator('option')
    .evaluateAll((os) => os.map((o) => o.textContent));
  expect(options.sort()).toEqual(['Bob', 'Issuer']);
  await alicePage
    .getByTestId('event-log')
    .locator('li[data-type="payment-sent"]')
    .filter({ hasText: 'to Bob' })
    .waitFor();
  const text =
    (await alicePage.locator('main').innerText()) + (await alicePage.locator('header').innerText());
  for (const c of await alice.node.connections()) expect([c.id, text.includes(c.id)]).toEqual([c.id, false]);
});

test('messages for a conversation not on screen raise the unread badge; viewing them clears it', async () => {
  // Alice's messages show her conversation with the Issuer (her first connection).
  const picker = alicePage.getByTestId('message-connection');
  expect(await picker.locator('option:checked').textContent()).toBe('Issuer');
  const badge = alicePage.getByTestId('unread-badge');
  expect(await badge.isHidden()).toBe(true);

  await bob.node.sendMessage(bobToAlice, 'Hi Alice');
  await bob.node.sendMessage(bobToAlice, 'Did the 0.12 arrive?');
  await shows(badge, '2 new messages');
  await shows(picker.locator(`option[value="${aliceToBob}"]`), 'Bob (2 new)', 'attached');
  await screenshot(alicePage, 'reading-unread');

  await picker.selectOption(aliceToBob);
  await alicePage.getByTestId('message-list').scrollIntoViewIfNeeded();
  await badge.waitFor({ state: 'hidden' });
  await shows(picker.locator(`option[value="${aliceToBob}"]`), 'Bob', 'attached');
  expect(await alicePage.getByTestId('message-list').locator('[data-direction="received"]').count()).toBe(2);

  // Read stays read across a reload (the token is kept for the tab).
  await alicePage.reload();
  await shows(alicePage.getByTestId('stream-status'), 'live');
  // The log's history comes once everything (the messages too) is loaded; the messages are in it.
  await alicePage
    .getByTestId('event-log')
    .locator('li.history[data-type="message-received"]')
    .first()
    .waitFor();
  await shows(picker.locator(`option[value="${aliceToBob}"]`), 'Bob', 'attached');
  expect(await badge.isHidden()).toBe(true);
});

test('a proposal waiting for a decision counts down to when it expires', async () => {
  // 11 ETH asked of Bob is above his auto-accept limit: the proposal waits for him.
  const opening = alice.node.openChannel({ connectionId: aliceToBob, fund: '1', peerFund: '11' });
  opening.catch(() => undefined);
  const pending = bobPage.locator('[data-testid^="proposal-"][data-status="pending"]');
  await pending.waitFor();
  await shows(pending.getByTestId('proposal-peer'), 'Alice');
  const first = await secondsLeft(bobPage, 'proposal-countdown');
  expect(first).toBeGreaterThan(15);
  expect(first).toBeLessThanOrEqual(25);
  await screenshot(bobPage, 'reading-proposal-countdown');
  // A locator waits without evaluating a string in the page, which the page's CSP forbids.
  await bobPage
    .getByTestId('proposal-countdown')
    .filter({ hasNotText: new RegExp(`in ${first} s$`) })
    .first()
    .waitFor({ timeout: 5_000 });
  expect(await secondsLeft(bobPage, 'proposal-countdown')).toBeLessThan(first);
  await pending.getByTestId('proposal-reject').click();
  await expect(opening).rejects.toMatchObject({ code: 'PROPOSAL_REJECTED' });
});

test('a disputed channel counts down to the end of its challenge, then shows it closed', async () => {
  const short = await alice.node.openChannel({
    connectionId: aliceToBob,
    fund: '0.5',
    challengeDuration: 12,
  });
  const card = alicePage.getByTestId(`channel-${short.id}`);
  await shows(card.getByTestId('phase'), 'open (Acting)');
  const disputing = alice.node.dispute(short.id);
  disputing.catch(() => undefined);
  await card.getByTestId('challenge-countdown').waitFor();
  const left = await secondsLeft(alicePage, 'challenge-countdown');
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThanOrEqual(12);
  expect(alice.node.channel(short.id).challengeEndsAt).toBe(
    await card.getByTestId('challenge').getAttribute('data-deadline'),
  );
  await screenshot(alicePage, 'reading-dispute-countdown');
  expect((await disputing).withdrawn).toEqual([expect.objectContaining({ asset: 'ETH', amount: '0.5' })]);
  await shows(card.getByTestId('phase'), 'closed (Withdrawn)');
  expect(await card.getByTestId('challenge').isHidden()).toBe(true);
});

test('on a phone-width window, balances and channels come first and the identity is folded', async () => {
  const phone = await world.open(alice.webUrl, { width: 390, height: 844 });
  await shows(phone.getByTestId('stream-status'), 'live');
  await phone.getByTestId(`channel-${channel.id}`).waitFor();
  const top = (id: string) => phone.locator(`#${id}`).evaluate((s) => s.getBoundingClientRect().top);
  const [agent, channels, payments, connections, messages] = await Promise.all(
    ['agent', 'channels', 'payments', 'connections', 'messages'].map(top),
  );
  expect(agent).toBeLessThan(channels!);
  expect(channels).toBeLessThan(payments!);
  expect(payments).toBeLessThan(connections!);
  expect(connections).toBeLessThan(messages!);
  expect(await phone.getByTestId('identity').evaluate((d) => (d as { open: boolean }).open)).toBe(false);
  expect(await phone.getByTestId('agent-did').isVisible()).toBe(false);
  expect(await phone.getByTestId('balance-onchain').isVisible()).toBe(true);
  // Nothing wider than the window.
  expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  await screenshot(phone, 'reading-phone');

  await phone.getByTestId('identity').locator('summary').click();
  await shows(phone.getByTestId('agent-did'), alice.info.did);
});

test('without a token the page offers a field; a wrong token is refused, a pasted one or URL connects', async () => {
  const page = await world.open(`${alice.apiUrl}/`);
  const form = page.getByTestId('token-form');
  await form.waitFor();
  await page
    .locator('[data-testid="status"][data-kind="error"]')
    .filter({ hasText: 'No API token' })
    .waitFor();
  await screenshot(page, 'reading-token-field');

  await page.getByTestId('token-input').fill('wrong');
  await page.getByTestId('token-submit').click();
  await page
    .locator('[data-testid="status"][data-kind="error"]')
    .filter({ hasText: 'UNAUTHORIZED' })
    .waitFor();
  expect(await form.isVisible()).toBe(true);
  expect(await page.evaluate('sessionStorage.length')).toBe(0);

  await page.getByTestId('token-input').fill(tokenOf(alice));
  await page.getByTestId('token-submit').click();
  await shows(page.getByTestId('agent-label'), 'Alice');
  await shows(page.getByTestId('stream-status'), 'live');
  expect(await form.isHidden()).toBe(true);
  await shows(page.getByTestId(`channel-${channel.id}`).getByTestId('peer'), 'Bob');

  // The whole URL that `perun-agent page` prints works as well.
  const other = await world.open(`${bob.apiUrl}/`);
  await other.getByTestId('token-input').fill(bob.webUrl);
  await other.getByTestId('token-submit').click();
  await shows(other.getByTestId('agent-label'), 'Bob');
  expect(await other.evaluate('sessionStorage.length')).toBe(1);
});
