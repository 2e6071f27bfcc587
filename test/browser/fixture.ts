// What the browser tests share: a chain and agents started in the test process (an Issuer that
// certifies Alice and Bob, Bob invited by Alice), Debian's chromium through playwright-core, pages
// whose errors are collected, waiting for text without fixed sleeps, and screenshots kept as test
// artefacts in test-results/screenshots/ (git-ignored).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { faucet, runChain, type RunningChain } from '../../src/agent/node/chain.js';
import { initAgent, loadAgentConfig } from '../../src/agent/node/config.js';
import { startAgent, type RunningAgent } from '../../src/agent/node/start.js';
import type { ChannelView, NodeEventWithId } from '../../src/agent/node/types.js';

/** Where the tests' screenshots go, relative to the repository root. */
export const SCREENSHOT_DIR = join('test-results', 'screenshots');

export interface CertifiedPair {
  issuer: RunningAgent;
  alice: RunningAgent;
  bob: RunningAgent;
  /** Alice's connection with Bob and his with her. */
  aliceToBob: string;
  bobToAlice: string;
}

export class BrowserWorld {
  readonly agents: RunningAgent[] = [];
  /** Everything the pages log as an error, to show when a test fails. */
  readonly pageErrors: string[] = [];
  readonly #contexts: BrowserContext[] = [];
  #browser: Browser | undefined;

  private constructor(
    readonly dir: string,
    readonly chainFile: string,
    private readonly chain: RunningChain,
  ) {}

  static async start(): Promise<BrowserWorld> {
    const dir = mkdtempSync(join(tmpdir(), 'perun-web-'));
    const chainFile = join(dir, 'chain.json');
    return new BrowserWorld(dir, chainFile, await runChain({ out: chainFile }));
  }

  /** A new agent on the chain with 50 ETH. */
  async agent(label: string, overrides: Record<string, unknown> = {}): Promise<RunningAgent> {
    const dataDir = join(this.dir, label);
    const passphrase = `${label} passphrase`;
    await initAgent({
      dataDir,
      label,
      passphrase,
      scrypt: { N: 2 ** 12 },
      overrides: { chain: this.chainFile, ...overrides },
    });
    const a = await startAgent(loadAgentConfig({ dataDir }), passphrase, { chainPollMs: 20 });
    this.agents.push(a);
    await faucet({ chain: this.chainFile, address: a.info.address, amount: parseEther('50') });
    return a;
  }

  /**
   * An Issuer, and Alice and Bob who trust it: it certifies Alice on its initiative, Bob asks for
   * his; Bob invites Alice. `overrides` go to Alice's and Bob's configurations.
   */
  async certifiedPair(overrides: Record<string, unknown> = {}): Promise<CertifiedPair> {
    const issuer = await this.agent('Issuer', { autoIssueSpendingLimit: '20' });
    const trusted = { trustedIssuers: [issuer.info.issuerDid], autoAcceptMaxFund: '10', ...overrides };
    const alice = await this.agent('Alice', trusted);
    const bob = await this.agent('Bob', trusted);
    await issuer.node.acceptInvitation((await alice.node.createInvitation()).url);
    const issuerToAlice = (await issuer.node.connections())[0]!;
    await issuer.node.issueCredential({ connectionId: issuerToAlice.id, name: 'Alice', spendingLimit: '10' });
    const bobToIssuer = await bob.node.acceptInvitation((await issuer.node.createInvitation()).url);
    await bob.node.requestCredential(bobToIssuer.id, 'Bob');
    const ab = await alice.node.acceptInvitation((await bob.node.createInvitation()).url);
    // Connections have pairwise DIDs: Bob's side is the one whose peer DID is Alice's DID on it.
    const bobToAlice = (await bob.node.connections()).find((c) => c.theirDid === ab.ourDid)!.id;
    return { issuer, alice, bob, aliceToBob: ab.id, bobToAlice };
  }

  /** The certified pair, with a channel Alice opened with Bob (5 ETH hers, 1 his), open on both sides. */
  async pairWithChannel(): Promise<CertifiedPair & { channel: ChannelView }> {
    const pair = await this.certifiedPair();
    const opened = next(pair.bob, (e) => e.type === 'channel-opened');
    const channel = await pair.alice.node.openChannel({
      connectionId: pair.aliceToBob,
      fund: '5',
      peerFund: '1',
    });
    await opened;
    return { ...pair, channel };
  }

  /** A new browser context's page at `url` (a phone-sized one with `viewport`). */
  async open(url: string, viewport?: { width: number; height: number }): Promise<Page> {
    this.#browser ??= await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox'],
    });
    const context = await this.#browser.newContext({
      permissions: ['clipboard-read', 'clipboard-write'],
      ...(viewport === undefined ? {} : { viewport, isMobile: true, hasTouch: true }),
    });
    this.#contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => this.pageErrors.push(`pageerror: ${err.message}`));
    page.on('console', (m) => {
      // Refused requests (the tests provoke some) are in the status line; anything else is worth seeing.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        this.pageErrors.push(`console: ${m.text()}`);
    });
    await page.goto(url);
    return page;
  }

  /** Prints the pages' errors so far (call in afterEach). */
  reportPageErrors(): void {
    if (this.pageErrors.length > 0) console.log(`browser errors so far:\n${this.pageErrors.join('\n')}`);
  }

  async stop(): Promise<void> {
    for (const c of this.#contexts) await c.close().catch(() => undefined);
    await this.#browser?.close();
    for (const a of this.agents.reverse()) await a.stop();
    await this.chain.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The next event of `a` that matches. */
function next(a: RunningAgent, match: (e: NodeEventWithId) => boolean): Promise<NodeEventWithId> {
  return new Promise((resolve) => {
    const stop = a.node.subscribe((e) => {
      if (match(e)) {
        stop();
        resolve(e);
      }
    });
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Waits until the element shows exactly `text` (playwright polls the DOM; no fixed sleeps);
 * `attached` for elements never visible as such (a select's options).
 */
export async function shows(
  locator: Locator,
  text: string,
  state: 'visible' | 'attached' = 'visible',
): Promise<void> {
  await locator
    .filter({ hasText: new RegExp(`^\\s*${escape(text)}\\s*$`) })
    .waitFor({ state, timeout: 20_000 });
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  // From the top: the sticky header stays where a scrolled page would put it.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path, fullPage: true });
  return path;
}
