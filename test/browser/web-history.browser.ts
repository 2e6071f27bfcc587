// The web page's history and pictures in a real browser against real agents: Alice and Bob pay
// each other 27 times before Alice opens her page; the page then shows the event log filled from
// the agent's history, the payment history in pages (newest first, by peer name) that follows
// live payments, a channel's balances over time, a bar per channel (ours, locked in a
// sub-channel, theirs) and on chain against in channels. Screenshots go to
// test-results/screenshots/.
import type { Page } from 'playwright-core';
import type { RunningAgent } from '../../src/agent/node/start.js';
import type { ChannelView, PaymentView } from '../../src/agent/node/types.js';
import { BrowserWorld, screenshot, shows } from './fixture.js';

let world: BrowserWorld;
let alice: RunningAgent;
let bob: RunningAgent;
let channel: ChannelView;
let aliceToBob: string;
let page: Page;
/** The IDs of Alice's events before her page opened, oldest first. */
let eventsBefore: number[];

const ALICE_PAYS = 24;
const BOB_PAYS = 3;

/** Alice's payments, newest first. */
async function newestFirst(): Promise<PaymentView[]> {
  return (await alice.node.payments()).reverse();
}

async function rowIds(): Promise<string[]> {
  return page
    .getByTestId('payment-list')
    .locator('[data-testid="payment"]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')!));
}

beforeAll(async () => {
  world = await BrowserWorld.start();
  ({ alice, bob, aliceToBob, channel } = await world.pairWithChannel());
  for (let i = 0; i < ALICE_PAYS; i++) await alice.node.pay(channel.id, '0.01');
  for (let i = 0; i < BOB_PAYS; i++) await bob.node.pay(channel.id, '0.05');
  // Every event Alice's node still buffers (subscribing from ID 0 replays them at once).
  eventsBefore = [];
  alice.node.subscribe((e) => eventsBefore.push(e.id), 0)();
  page = await world.open(alice.webUrl);
}, 240_000);

afterAll(() => world?.stop(), 60_000);

afterEach(() => world.reportPageErrors());

test('the event log fills from the agent’s history on load, newest first; live events go above it', async () => {
  expect(eventsBefore.length).toBeGreaterThan(ALICE_PAYS + BOB_PAYS);
  expect(eventsBefore.length).toBeLessThanOrEqual(256);
  const log = page.getByTestId('event-log');
  await log.locator(`li[data-id="${eventsBefore[0]}"]`).waitFor({ state: 'attached' });
  const shown = await log
    .locator('li')
    .evaluateAll((items) => items.map((i) => Number(i.getAttribute('data-id'))));
  expect(shown.slice(-eventsBefore.length)).toEqual([...eventsBefore].reverse());
  expect(await log.locator('li.history[data-type="payment-sent"]').count()).toBe(ALICE_PAYS);
  expect(await log.locator('li[data-type="payment-received"]').first().textContent()).toContain('from Bob');

  await shows(page.getByTestId('stream-status'), 'live');
  const paid = await bob.node.pay(channel.id, '0.01');
  const top = log.locator('li').first();
  await top.and(page.locator('li[data-type="payment-received"]:not(.history)')).waitFor();
  expect(await top.textContent()).toContain(`+${paid.amount} ETH from Bob`);
  await screenshot(page, 'history-event-log');
});

test('the payment history shows pages of payments newest first, by peer name, and follows live payments', async () => {
  const all = await newestFirst();
  expect(all).toHaveLength(ALICE_PAYS + BOB_PAYS + 1);
  const list = page.getByTestId('payment-list');
  await list.locator(`[data-id="${all[0]!.id}"]`).waitFor();
  expect(await rowIds()).toEqual(all.slice(0, 20).map((p) => p.id));
  await shows(page.getByTestId('payment-page'), '1–20, newest first');
  expect(await page.getByTestId('payment-newer').isDisabled()).toBe(true);

  // The newest row: Bob's payment of the first test, received.
  const newest = list.locator('[data-testid="payment"]').first();
  expect(await newest.getAttribute('data-direction')).toBe('received');
  await shows(newest.getByTestId('payment-peer'), 'from Bob');
  await shows(newest.getByTestId('payment-amount'), '0.01');
  expect(await newest.textContent()).toContain(channel.id.slice(0, 10));
  const sent = list.locator('[data-direction="sent"]').first();
  await shows(sent.getByTestId('payment-peer'), 'to Bob');
  expect(await list.textContent()).not.toContain(aliceToBob);

  await page.getByTestId('payment-older').click();
  await shows(page.getByTestId('payment-page'), `21–${all.length}, newest first`);
  expect(await rowIds()).toEqual(all.slice(20).map((p) => p.id));
  expect(await page.getByTestId('payment-older').isDisabled()).toBe(true);
  await screenshot(page, 'history-payments-older');

  // A payment while an older page is shown keeps that page's rows (one further from the newest
  // now); Newer then shows the 20 before them, and again the newest 20, with the payment.
  const live = await alice.node.pay(channel.id, '0.02');
  await shows(page.getByTestId('payment-page'), `22–${all.length + 1}, newest first`);
  expect(await rowIds()).toEqual(all.slice(20).map((p) => p.id));
  await page.getByTestId('payment-newer').click();
  await shows(page.getByTestId('payment-page'), '2–21, newest first');
  expect(await rowIds()).toEqual(all.slice(0, 20).map((p) => p.id));
  await page.getByTestId('payment-newer').click();
  await list.locator(`[data-id="${live.id}"]`).waitFor();
  expect(await rowIds()).toEqual((await newestFirst()).slice(0, 20).map((p) => p.id));
  const bobs = await bob.node.pay(channel.id, '0.03');
  await list
    .locator('[data-testid="payment"]')
    .first()
    .and(list.locator(`[data-id="${bobs.id}"]`))
    .waitFor();
  await shows(page.getByTestId('payment-page'), '1–20, newest first');
  await screenshot(page, 'history-payments');
});

test('a channel’s balances over time come from its payment history and follow payments', async () => {
  const card = page.getByTestId(`channel-${channel.id}`);
  await card.getByTestId('channel-history').click();
  expect(await page.getByTestId('payment-channel').inputValue()).toBe(channel.id);
  const chart = page.getByTestId('balance-chart');
  const ours = chart.locator('[data-series="ours"] circle');
  const payments = await alice.node.payments(channel.id);
  const versions = new Set(payments.map((p) => p.version)).size;
  // One point per update, and the balances before the first.
  await ours.nth(versions).waitFor({ state: 'attached' });
  expect(await ours.count()).toBe(versions + 1);
  expect(await ours.first().locator('title').textContent()).toMatch(/^Ours 5 ETH/);
  const now = alice.node.channel(channel.id);
  expect(await ours.last().locator('title').textContent()).toMatch(new RegExp(`^Ours ${now.ourBalance} ETH`));
  expect(await chart.locator('[data-series="theirs"] circle').first().locator('title').textContent()).toMatch(
    /^Theirs 1 ETH/,
  );

  await alice.node.pay(channel.id, '0.5');
  await ours.nth(versions + 1).waitFor({ state: 'attached' });
  const after = alice.node.channel(channel.id).ourBalance;
  expect(await ours.last().locator('title').textContent()).toMatch(new RegExp(`^Ours ${after} ETH`));
  // The table shows that channel only.
  expect(await rowIds()).toEqual((await newestFirst()).slice(0, 20).map((p) => p.id));
  await screenshot(page, 'history-balance-chart');
});

test('bars show ours and theirs per channel, what a sub-channel locks, and on chain against in channels', async () => {
  const card = page.getByTestId(`channel-${channel.id}`);
  const share = (segment: string) =>
    card.locator(`[data-testid="channel-bar"] rect[data-segment="${segment}"]`).getAttribute('data-share');
  const c = alice.node.channel(channel.id);
  const total = Number(c.ourBalance) + Number(c.theirBalance);
  await card.locator('rect[data-segment="ours"]').waitFor({ state: 'attached' });
  expect(Number(await share('ours'))).toBeCloseTo(Number(c.ourBalance) / total, 3);
  expect(Number(await share('theirs'))).toBeCloseTo(Number(c.theirBalance) / total, 3);
  expect(await card.locator('rect[data-segment="locked"]').count()).toBe(0);
  expect(await card.getByTestId('locked').isVisible()).toBe(false);

  // A sub-channel of 1 ETH of ours: the parent shows it locked.
  const sub = await alice.node.openSubChannel(channel.id, { fund: '1' });
  expect(alice.node.channel(channel.id).locked).toBe('1');
  await shows(card.getByTestId('locked'), '1');
  const parent = alice.node.channel(channel.id);
  const withLocked = Number(parent.ourBalance) + Number(parent.theirBalance) + 1;
  expect(Number(await share('locked'))).toBeCloseTo(1 / withLocked, 3);
  expect(Number(await share('ours'))).toBeCloseTo(Number(parent.ourBalance) / withLocked, 3);
  const subCard = page.getByTestId(`channel-${sub.id}`);
  await subCard
    .getByTestId('kind')
    .filter({ hasText: `sub-channel of ${channel.id.slice(0, 10)}` })
    .waitFor();

  // On chain against in channels, from GET /balance.
  const balance = await alice.node.balance();
  const bar = page.getByTestId('balance-bar');
  await shows(page.getByTestId('balance-channels'), balance.inChannels);
  const onChain = Number(balance.onChain);
  const inChannels = Number(balance.inChannels);
  expect(Number(await bar.locator('rect[data-segment="onchain"]').getAttribute('data-share'))).toBeCloseTo(
    onChain / (onChain + inChannels),
    3,
  );
  await screenshot(page, 'pictures-bars');
});
