// The /docs page in a real browser (Debian's chromium through playwright-core): it renders one
// card per operation of /openapi.json with its scope, parameters, request example and responses,
// and the schemas; the filter narrows the cards; the page loads nothing but its own files (its
// content security policy would refuse anything else, and no request leaves the agent's origin).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

import { OPENAPI_DOCUMENT } from '../../src/agent/api/openapi.js';
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import type { AgentNodeApi } from '../../src/agent/node/types.js';

const ARTEFACTS = join(process.cwd(), 'test-results', 'docs-page');

let listener: ApiListener;
let browser: Browser;
let page: Page;
const requested: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  listener = await listenApi(createApiServer({} as AgentNodeApi, { token: 'docs-browser-token' }), {
    host: '127.0.0.1',
    port: 0,
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (r) => requested.push(r.url()));
  // The browser's own favicon request gets the API's 401, as on the web page: not the page's doing.
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${listener.url}/docs`);
  await page.locator('article.operation').first().waitFor();
});

afterAll(async () => {
  await browser?.close();
  await listener?.close();
});

const operationCount = Object.values(OPENAPI_DOCUMENT.paths as Record<string, object>).reduce(
  (n, methods) => n + Object.keys(methods).length,
  0,
);

it('renders every operation and schema, loading only its own files', async () => {
  mkdirSync(ARTEFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTEFACTS, 'docs.png'), fullPage: false });
  expect(await page.locator('article.operation').count()).toBe(operationCount);
  const schemas = Object.keys((OPENAPI_DOCUMENT.components as { schemas: object }).schemas);
  expect(await page.locator('article.schema').count()).toBe(schemas.length);
  expect(problems).toEqual([]);
  expect(requested.every((url) => url.startsWith(listener.url))).toBe(true);
});

it('shows the pay route with its scope, its request example and its answer', async () => {
  const pay = page.locator('#op-pay');
  await expect(pay.locator('.scope').textContent()).resolves.toBe('payment');
  await expect(pay.locator('.path').textContent()).resolves.toBe('/channels/{id}/payments');
  const text = (await pay.textContent()) ?? '';
  expect(text).toContain('Idempotency-Key');
  expect(text).toContain('"amount": "0.25"');
  expect(text).toContain('FORBIDDEN_SCOPE');
  await pay.locator('a', { hasText: 'PaymentView' }).first().click();
  expect(new URL(page.url()).hash).toBe('#schema-PaymentView');
});

it('the filter narrows the cards', async () => {
  await page.fill('#filter', 'credential-sales');
  const visible = await page.locator('article.operation:visible').count();
  expect(visible).toBe(3);
  await page.screenshot({ path: join(ARTEFACTS, 'docs-filtered.png') });
  await page.fill('#filter', '');
  expect(await page.locator('article.operation:visible').count()).toBe(operationCount);
});
