// The API while the node starts: Alice's agent restarts with a channel it opened and paid on,
// held at the start gate (PERUN_START_GATE_FILE) once its API listens. Until the gate opens it
// lists the channel from its store (right balances, `synced: false`), answers a write and GET
// /info with 503 NODE_STARTING and Retry-After; once the node runs, the same listener lists the
// same channel synced with Bob, and a payment goes through.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEther, parseEther } from 'ethers';
import type { RunningChain } from '../../src/agent/node/chain.js';
import type { ChannelView, PaymentView } from '../../src/agent/node/types.js';
import {
  AgentProcess,
  connectAgents,
  stopAllProcesses,
  type ApiFailure,
} from '../../src/agent/process/agent-process.js';
import { certifiedPair } from '../../src/agent/process/certified-pair.js';

jest.setTimeout(120_000);

const FUND = parseEther('0.01');
const PAID = parseEther('0.001');

let root: string;
let chain: RunningChain | undefined;
let alice: AgentProcess;
let bob: AgentProcess;
let channelId: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-starting-'));
  ({ alice, bob } = await certifiedPair({ root, fundEth: '10', onChain: (c) => (chain = c) }));
  const ab = await connectAgents(bob, alice);
  const opened = bob.event((e) => e.type === 'channel-opened');
  const c = await alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: formatEther(FUND),
    peerFund: '0',
  });
  await opened;
  await alice.api<PaymentView>('POST', `/channels/${c.id}/payments`, { amount: formatEther(PAID) });
  channelId = c.id;
  await alice.stop();
});

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

it('lists the stored channels while the node starts, refuses the rest, then serves the node', async () => {
  const gate = join(root, 'start-gate');
  writeFileSync(gate, 'hold');
  const starting = await AgentProcess.startEarly(alice.name, alice.dataDir, alice.passphrase, {
    PERUN_START_GATE_FILE: gate,
  });

  const listed = await starting.api<ChannelView[]>('GET', '/channels');
  expect(listed).toHaveLength(1);
  expect(listed[0]).toMatchObject({
    id: channelId,
    phase: 'Acting',
    status: 'open',
    ourBalance: formatEther(FUND - PAID),
    theirBalance: formatEther(PAID),
    synced: false,
    idx: 0,
  });
  expect(await starting.api<ChannelView>('GET', `/channels/${channelId}`)).toEqual(listed[0]);

  const refusals = await Promise.all(
    [
      starting.api('POST', `/channels/${channelId}/payments`, { amount: '0.000001' }),
      starting.api('GET', '/info'),
      starting.api('GET', '/connections'),
    ].map((call) =>
      call.then(
        () => undefined,
        (err: unknown) => err as ApiFailure,
      ),
    ),
  );
  for (const refusal of refusals) {
    expect(refusal?.status).toBe(503);
    expect(refusal?.body.code).toBe('NODE_STARTING');
    expect(refusal?.retryAfter).toBe('1');
  }

  rmSync(gate);
  alice = await starting.ready;
  expect(alice.apiUrl).toBe(starting.apiUrl);
  expect((await alice.api<{ address: string }>('GET', '/info')).address).toMatch(/^0x/);
  // The node syncs in the background: asked again until it says so (the restart test's way).
  const deadline = Date.now() + 30_000;
  let view = await alice.api<ChannelView>('GET', `/channels/${channelId}`);
  while (!view.synced && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    view = await alice.api<ChannelView>('GET', `/channels/${channelId}`);
  }
  expect(view).toMatchObject({ id: channelId, ourBalance: formatEther(FUND - PAID), synced: true });
  const paid = await alice.api<PaymentView>('POST', `/channels/${channelId}/payments`, {
    amount: formatEther(PAID),
  });
  expect(paid.ourBalance).toBe(formatEther(FUND - 2n * PAID));
});
