// The usage examples (examples/*.ts), run as a user runs them: compiled into dist/ by the build
// and started with node, their imports resolved through the package's `exports`. Each must finish
// and print what it promises; an example without a test here fails the first test.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiServer, listenApi } from '../../src/agent/api/server.js';
import type { AgentInfo, AgentNodeApi, ChannelView, PaymentView } from '../../src/agent/node/types.js';
import { ChannelClientError } from '../../src/channels/errors.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const TESTED = ['agent', 'client', 'credo', 'ethereum', 'ton'];

async function example(name: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'dist/examples', `${name}.js`)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return stdout;
}

it('every example has a test here', () => {
  const examples = readdirSync(join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3));
  expect(examples.sort()).toEqual(TESTED);
});

it.each([
  ['ethereum', 'ETH'],
  ['ton', 'TON'],
])('%s: two channel clients on the in-memory wire open, pay each other and settle', async (name, unit) => {
  const out = await example(name);
  expect(out).toMatch(new RegExp(`channel 0x[0-9a-f]{64} open: alice 2 ${unit}, bob 1 ${unit}`));
  expect(out).toContain(`after two payments: alice 1.7 ${unit}, bob 1.3 ${unit}`);
  expect(out).toContain(`settled: alice withdrew 1.7 ${unit}`);
});

it('credo: two Credo agents with the PerunModule connect, pay over DIDComm and settle', async () => {
  const out = await example('credo');
  expect(out).toMatch(/Alice connected to Bob \(connection [0-9a-f-]{36}\)/);
  expect(out).toMatch(/channel 0x[0-9a-f]{64} open over DIDComm/);
  expect(out).toContain('settled: alice withdrew 0.8 ETH');
});

it('agent: an agent started in-process answers its REST API through the typed client', async () => {
  const out = await example('agent');
  expect(out).toMatch(/agent Alice at http:\/\/127\.0\.0\.1:\d+, address 0x[0-9a-fA-F]{40}, chain 31337/);
  expect(out).toContain('on chain 0 ETH, in 0 channels 0 ETH');
});

it('client: reads an agent through its REST API and reports a refusal with its code', async () => {
  const node = {
    info: () => ({ label: 'Alice', address: '0xA11CE' }) as unknown as AgentInfo,
    channels: () => [{ id: '0xc1', peerLabel: 'Bob', ourBalance: '4.5', theirBalance: '0.5' } as ChannelView],
    channel: (id: string) => {
      throw new ChannelClientError('UNKNOWN_CHANNEL', `no channel ${id}`);
    },
    payments: async () => [{ id: 'p1', direction: 'sent', amount: '0.5', channelId: '0xc1' } as PaymentView],
  } as unknown as AgentNodeApi;
  const token = 'tok-example-client-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
  const listener = await listenApi(createApiServer(node, { token }), { host: '127.0.0.1', port: 0 });
  try {
    const out = await example('client', { PERUN_API_URL: listener.url, PERUN_API_TOKEN: token });
    expect(out.trim().split('\n')).toEqual([
      'agent Alice (0xA11CE)',
      'channel 0xc1 with Bob: ours 4.5, theirs 0.5',
      'payment p1: sent 0.5 on 0xc1',
      'refused: client UNKNOWN_CHANNEL: no channel 0xunknown',
    ]);
  } finally {
    await listener.close();
  }
});
