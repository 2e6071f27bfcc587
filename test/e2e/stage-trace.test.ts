// Stage marks between agent processes (bench:didcomm --stages): Alice's and Bob's agents run with
// PERUN_STAGE_TRACE, Alice pays Bob five times in turn over her REST API, and once both agents
// have exited their trace files hold every payment's path, payer and payee, in the order the
// payment passes the stages on one clock.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paymentsOf, readMarks, stageFigures, tagOf } from '../../bench/stages.js';
import type { RunningChain } from '../../src/agent/node/chain.js';
import type { ChannelView } from '../../src/agent/node/types.js';
import { connectAgents, stopAllProcesses } from '../../src/agent/process/agent-process.js';
import { certifiedPair } from '../../src/agent/process/certified-pair.js';

jest.setTimeout(240_000);

let root: string;
let chain: RunningChain | undefined;

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

/** The stages of a payment between two agents, as Alice's and Bob's marks interleave. */
const PATH = [
  'payer api.pay',
  'payer pay.signed',
  'payer store.begin',
  'payer store.commit',
  'payer store.committed',
  'payer lean.send',
  'payer lean.write',
  'payee lean.receive',
  'payee lean.opened',
  'payee lean.deliver',
  'payee update.verified',
  'payee update.signed',
  'payee store.begin',
  'payee store.commit',
  'payee store.committed',
  'payee lean.send',
  'payee lean.write',
  'payer lean.receive',
  'payer lean.opened',
  'payer lean.deliver',
  'payer accept.verified',
  'payer api.answer',
];

it('Alice pays Bob five times; both traces hold each payment stage by stage, in order', async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-stages-'));
  const traces = { alice: join(root, 'alice.stages'), bob: join(root, 'bob.stages') };
  const { alice, bob } = await certifiedPair({
    root,
    fundEth: '20',
    onChain: (c) => (chain = c),
    env: { alice: { PERUN_STAGE_TRACE: traces.alice }, bob: { PERUN_STAGE_TRACE: traces.bob } },
  });
  const ab = await connectAgents(bob, alice);
  const opened = bob.event((e) => e.type === 'channel-opened');
  const channel = await alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: '3',
    peerFund: '1',
  });
  await opened;

  const from = process.hrtime.bigint();
  for (let i = 0; i < 5; i++) await alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.01' });
  const to = process.hrtime.bigint();
  await Promise.all([alice.stop(), bob.stop()]);

  const marks = [...readMarks(traces.alice, 'payer'), ...readMarks(traces.bob, 'payee')];
  const payments = paymentsOf(marks, from, to);
  expect(payments).toHaveLength(5);
  // Each payment passes every stage in order (a deferred state's write may add a store's marks).
  for (const p of payments) {
    const tags = p.map(tagOf);
    let at = 0;
    for (const t of tags) if (t === PATH[at]) at++;
    expect(PATH.slice(at)).toEqual([]);
  }
  const figures = stageFigures(marks, from, to);
  expect(figures.payments).toBe(5);
  expect(figures.steps.map((s) => s.step)).toEqual(PATH.slice(1).map((to, i) => `${PATH[i]} → ${to}`));
  for (const s of figures.steps) expect(s.p50_ms).toBeGreaterThanOrEqual(0);
  expect(figures.answer_to_next?.step).toBe('payer api.answer → payer api.pay (next)');
});
