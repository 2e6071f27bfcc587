// Webhook delivery is tunable: attempts, the receiver's time to answer, the longest backoff and the
// queue's size come from config.json, PERUN_WEBHOOK_* or flags, are checked like every setting, and
// reach the dispatcher `start` builds (webhookTuningOf). A receiver that always fails shows it:
// the configured number of attempts, backoffs capped at the configured delay.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { WebhookDispatcher } from '../../src/agent/api/webhooks.js';
import { configFlags } from '../../src/agent/cli/args.js';
import { AgentConfigError, loadAgentConfig, webhookTuningOf } from '../../src/agent/node/config.js';
import type { NodeEventWithId } from '../../src/agent/node/types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'perun-webhook-tuning-'));
  writeFileSync(path.join(dir, 'config.json'), '{}');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('unset, the dispatcher keeps its defaults', () => {
  expect(webhookTuningOf(loadAgentConfig({ dataDir: dir }))).toEqual({
    maxAttempts: undefined,
    attemptTimeoutMs: undefined,
    maxDelayMs: undefined,
    maxQueued: undefined,
  });
});

it('config.json < environment < flags; seconds become milliseconds', () => {
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ webhookMaxAttempts: 3, webhookTimeout: 2, webhookMaxDelay: 30, webhookMaxQueued: 50 }),
  );
  const env = { PERUN_WEBHOOK_MAX_ATTEMPTS: '4', PERUN_WEBHOOK_TIMEOUT: '5' };
  const flags = configFlags({ webhookMaxAttempts: '6' }, dir);
  expect(webhookTuningOf(loadAgentConfig({ dataDir: dir, env, flags }))).toEqual({
    maxAttempts: 6,
    attemptTimeoutMs: 5_000,
    maxDelayMs: 30_000,
    maxQueued: 50,
  });
});

it.each([
  ['PERUN_WEBHOOK_MAX_ATTEMPTS', '0'],
  ['PERUN_WEBHOOK_MAX_QUEUED', 'many'],
  ['PERUN_WEBHOOK_TIMEOUT', '1.5'],
  ['PERUN_WEBHOOK_MAX_DELAY', '-1'],
])('%s=%s is refused with INVALID_CONFIG', (name, value) => {
  let error: unknown;
  try {
    loadAgentConfig({ dataDir: dir, env: { [name]: value } });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(AgentConfigError);
  expect(error).toMatchObject({ code: 'INVALID_CONFIG' });
});

it('a failing receiver gets the configured attempts, with backoffs capped at the configured delay', async () => {
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ webhookMaxAttempts: 5, webhookMaxDelay: 3, webhookMaxQueued: 10 }),
  );
  const config = loadAgentConfig({ dataDir: dir });
  let listener: (e: NodeEventWithId) => void = () => {};
  const attempts: string[] = [];
  const waits: number[] = [];
  const log: string[] = [];
  const dispatcher = new WebhookDispatcher(
    { subscribe: (l) => ((listener = l), () => {}) },
    {
      urls: ['http://127.0.0.1:9/hook'],
      secret: 'whsec-tuning',
      ...webhookTuningOf(config),
      firstDelayMs: 1_000,
      fetch: async (_url, init) => {
        attempts.push(String((init?.headers as Record<string, string>)['x-perun-delivery-attempt']));
        return new Response(null, { status: 500 });
      },
      wait: async (ms) => {
        waits.push(ms);
      },
      random: () => 1,
      log: (line) => log.push(line),
    },
  );
  dispatcher.start();
  listener({ type: 'warning', context: 'test', message: 'hello', id: 1, at: new Date().toISOString() });
  await dispatcher.idle();
  await dispatcher.stop();
  expect(attempts).toEqual(['1', '2', '3', '4', '5']);
  expect(waits).toEqual([1_000, 2_000, 3_000, 3_000]);
  expect(log.at(-1)).toContain('attempt 5/5 failed (HTTP 500); gave up, event dropped');
});
