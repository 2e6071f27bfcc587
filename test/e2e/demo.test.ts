// The demo as a user runs it: the built dist/demo/main.js as a process with --json. The
// payment story with 30 payments (an embedded chain, the Issuer, Alice and Bob as agent processes,
// a cooperative close and Bob's cheat refuted by Alice's watcher) and, with --app, the
// credential sale (the Issuer sells Alice a credential over a pay-for-credential app channel) and,
// with --virtual, Alice paying Bob over a virtual channel through Ingrid.
// Each must exit 0 within 150 s and end with one JSON line that reports the story correct and the
// final balances.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEther } from 'ethers';

jest.setTimeout(180_000);

const DEMO = resolve('dist/demo/main.js');
const TIMEOUT_MS = 150_000;

const children = new Set<ChildProcess>();

afterAll(async () => {
  // Only when a test gave up on its demo: SIGTERM lets the demo stop its agents and chain.
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(timer);
  }
});

/** Runs the built demo with `args`; the JSON object of its last stdout line, once it exited 0. */
async function runDemo(args: string[]): Promise<Record<string, unknown>> {
  expect(existsSync(DEMO)).toBe(true);
  const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolveP, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the demo did not exit within ${TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (c) => {
      clearTimeout(timer);
      resolveP(c);
    });
  });
  if (code !== 0) throw new Error(`the demo exited ${code}\n${stdout}\n${stderr}`);
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

const ETH = /^\d+(\.\d+)?$/;

test('npm run demo -- --json --payments 30 exits 0 and reports ok, settled, refuted and the balances', async () => {
  const result = await runDemo(['--json', '--payments', '30']);
  expect(result).toMatchObject({ ok: true, settled: true, refuted: true, payments: 30 });
  expect(result.payments_per_s).toEqual(expect.any(Number));
  expect(result.payments_per_s).toBeGreaterThan(0);
  for (const key of ['alice_eth', 'bob_eth']) {
    expect(result[key]).toEqual(expect.stringMatching(ETH));
  }
});

test('npm run demo -- --app --json exits 0: the credential verifies and the price moved on chain', async () => {
  const result = await runDemo(['--app', '--json']);
  expect(result).toMatchObject({
    ok: true,
    settled: true,
    app: 'credential-payment',
    credentialVerified: true,
  });
  expect(result.price).toEqual(expect.stringMatching(ETH));
  for (const key of ['issuer_start_eth', 'issuer_eth', 'alice_start_eth', 'alice_eth']) {
    expect(result[key]).toEqual(expect.stringMatching(ETH));
  }
  const eth = (key: string) => parseEther(result[key] as string);
  const price = parseEther(result.price as string);
  // The Issuer gained the price less the gas of its settlement transactions (far below 0.01 ETH);
  // Alice paid the price and her own gas.
  const gained = eth('issuer_eth') - eth('issuer_start_eth');
  expect(gained).toBeLessThanOrEqual(price);
  expect(gained).toBeGreaterThan(price - parseEther('0.01'));
  expect(eth('alice_start_eth') - eth('alice_eth')).toBeGreaterThanOrEqual(price);
});

test('npm run demo -- --virtual --json --payments 20 exits 0: everything settles and Ingrid ends neutral', async () => {
  const result = await runDemo(['--virtual', '--json', '--payments', '20']);
  expect(result).toMatchObject({ ok: true, settled: true, payments: 20, ingrid_neutral: true });
  expect(result.payments_per_s).toEqual(expect.any(Number));
  for (const name of ['alice', 'bob', 'ingrid']) {
    expect(result[`${name}_start_eth`]).toEqual(expect.stringMatching(ETH));
    expect(result[`${name}_eth`]).toEqual(expect.stringMatching(ETH));
  }
  // Alice paid Bob 20 × 0.01 ETH and he paid 0.1 back: 0.1 ETH moved on chain, each also paying
  // gas (far below 0.01 ETH); Ingrid got back what she put in, less her gas.
  const change = (name: string) =>
    parseEther(result[`${name}_eth`] as string) - parseEther(result[`${name}_start_eth`] as string);
  const [moved, gas] = [parseEther('0.1'), parseEther('0.01')];
  expect(-change('alice')).toBeGreaterThan(moved);
  expect(-change('alice')).toBeLessThan(moved + gas);
  expect(change('bob')).toBeLessThan(moved);
  expect(change('bob')).toBeGreaterThan(moved - gas);
  expect(-change('ingrid')).toBeGreaterThan(0n);
  expect(-change('ingrid')).toBeLessThan(gas);
});
