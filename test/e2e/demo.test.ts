// The demo as a user runs it: the built dist/src/agent/demo.js as a process with --json and 30
// payments (an embedded chain, the Issuer, Alice and Bob as agent processes, a cooperative close
// and Bob's cheat refuted by Alice's watcher). It must exit 0 within 150 s and end with one JSON
// line that reports both settlements correct, the payments made and the final balances.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

jest.setTimeout(180_000);

const DEMO = resolve('dist/src/agent/demo.js');
const TIMEOUT_MS = 150_000;

let child: ChildProcess | undefined;

afterAll(async () => {
  // Only when the test gave up on it: SIGTERM lets the demo stop its agents and chain.
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const closed = new Promise<void>((r) => child!.once('close', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(timer);
  }
});

test('npm run demo -- --json --payments 30 exits 0 and reports ok, settled, refuted and the balances', async () => {
  expect(existsSync(DEMO)).toBe(true);
  child = spawn(process.execPath, [DEMO, '--json', '--payments', '30'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolveP, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the demo did not exit within ${TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, TIMEOUT_MS);
    child!.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child!.once('close', (c) => {
      clearTimeout(timer);
      resolveP(c);
    });
  });
  if (code !== 0) throw new Error(`the demo exited ${code}\n${stdout}\n${stderr}`);

  const lines = stdout.trim().split('\n');
  const result = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  expect(result).toMatchObject({ ok: true, settled: true, refuted: true, payments: 30 });
  expect(result.payments_per_s).toEqual(expect.any(Number));
  expect(result.payments_per_s).toBeGreaterThan(0);
  for (const key of ['alice_eth', 'bob_eth']) {
    expect(result[key]).toEqual(expect.stringMatching(/^\d+(\.\d+)?$/));
  }
});
