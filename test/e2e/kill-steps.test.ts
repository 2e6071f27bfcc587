// Alice's and Bob's agent processes are killed with SIGKILL at every step of a payment: the
// payer after persisting its signed update, after sending it and on receiving the accept; the
// payee on receiving the update and after persisting its accept. Each time the dead agent starts
// again from its SQLite file, the agents sync, and the payment counts exactly once (or, when the
// payee died before signing, the payer got a peer error and nothing moved). Both agents
// sign through a journal that refuses a second state at a version already signed; at the end no
// refusal is recorded, and the chain pays exactly the last balances.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import type { RunningChain } from '../../src/agent/node/chain.js';
import { readJournal } from '../../src/agent/node/test-knobs.js';
import type {
  ChannelView,
  NodeEventWithId,
  PaymentView,
  SettlementView,
} from '../../src/agent/node/types.js';
import { AgentProcess, connectAgents, stopAllProcesses } from '../../src/agent/process/agent-process.js';
import { certifiedPair } from '../../src/agent/process/certified-pair.js';
import type { Failpoint } from '../../src/channels/client.js';

jest.setTimeout(240_000);

let root: string;
let chain: RunningChain;
const agents: Record<'Alice' | 'Bob', AgentProcess> = {} as never;
let channel: ChannelView;
/** Alice's balance in milli-ether, as both sides must see it. */
let aliceMilli = 3000;

const knobs = (name: string) => ({
  PERUN_FAILPOINTS_FILE: join(root, `${name}.failpoint`),
  PERUN_SIGNATURE_JOURNAL: join(root, `${name}.journal`),
});

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-kill-'));
  ({ alice: agents.Alice, bob: agents.Bob } = await certifiedPair({
    root,
    fundEth: '20',
    onChain: (c) => (chain = c),
    env: { alice: knobs('alice'), bob: knobs('bob') },
  }));
  const ab = await connectAgents(agents.Bob, agents.Alice);
  const opened = agents.Bob.event((e) => e.type === 'channel-opened');
  channel = await agents.Alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: '3',
    peerFund: '1',
  });
  await opened;
});

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

const view = (p: AgentProcess) => p.api<ChannelView>('GET', `/channels/${channel.id}`);

/** Polls until both agents hold one state in phase Acting (a restart's sync is asynchronous). */
async function bothAgree(): Promise<[ChannelView, ChannelView]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [a, b] = await Promise.all([view(agents.Alice), view(agents.Bob)]);
    if (a.phase === 'Acting' && b.phase === 'Acting' && a.version === b.version) return [a, b];
    if (Date.now() > deadline) throw new Error(`no agreement: ${JSON.stringify([a, b])}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Both agents' payment histories name the same payments at the same versions, each seen from its side. */
async function sameHistories(): Promise<PaymentView[]> {
  const [a, b] = await Promise.all([
    agents.Alice.api<PaymentView[]>('GET', `/payments?channelId=${channel.id}`),
    agents.Bob.api<PaymentView[]>('GET', `/payments?channelId=${channel.id}`),
  ]);
  const line = (p: PaymentView, flip: boolean) => [
    p.id,
    p.version,
    p.amount,
    flip ? (p.direction === 'sent' ? 'received' : 'sent') : p.direction,
  ];
  expect(b.map((p) => line(p, true))).toEqual(a.map((p) => line(p, false)));
  return a;
}

const PAYER_STEPS: Failpoint[] = ['update-staged', 'update-sent', 'accept-received', 'update-signed'];
const PAYEE_STEPS: Failpoint[] = ['update-received', 'accept-persisted'];

describe.each(['Alice', 'Bob'] as const)('%s pays 0.01', (payerName) => {
  const payeeName = payerName === 'Alice' ? 'Bob' : 'Alice';
  it.each([
    ...PAYER_STEPS.map((s) => [s, payerName] as const),
    ...PAYEE_STEPS.map((s) => [s, payeeName] as const),
  ])(
    '%s kills %s: it restarts, the agents sync, and the payment counts at most once',
    async (step, victimName) => {
      const victim = agents[victimName];
      const exited = new Promise((r) => victim.child.once('exit', r));
      writeFileSync(knobs(victimName.toLowerCase()).PERUN_FAILPOINTS_FILE, step);
      const before = BigInt((await view(agents.Alice)).version);
      const payment = agents[payerName]
        .api('POST', `/channels/${channel.id}/payments`, { amount: '0.01' })
        .then(
          () => 'paid',
          (err: unknown) => err,
        );
      expect(await exited).toBeNull(); // killed by a signal
      agents[victimName] = await AgentProcess.start(
        victimName,
        victim.dataDir,
        victim.passphrase,
        victim.env,
      );
      const outcome = await payment;
      if (victimName === payerName) {
        // The request dies with the payer, but its signed update was stored first: after the
        // restart it is sent again (or its accept learnt by sync) and the payment counts.
        expect(String(outcome)).toMatch(/fetch failed/); // the connection was reset
      } else if (step === 'update-received') {
        // The payee died handling the message before signing anything: the payer learns it from
        // the transport at once, drops the update (its version used up) and reports a peer error.
        expect(outcome).toMatchObject({ status: 502, body: { category: 'peer' } });
      } else {
        // The payee stored its accept and died before sending it; its restart's sync completes
        // the payer's waiting request.
        expect(outcome).toBe('paid');
      }
      const counts = victimName === payerName || outcome === 'paid';
      if (counts) aliceMilli += payerName === 'Alice' ? -10 : 10;
      const [a, b] = await bothAgree();
      if (counts) expect(BigInt(a.version)).toBeGreaterThan(before);
      expect([a.ourBalance, a.theirBalance]).toEqual([b.theirBalance, b.ourBalance]);
      expect(parseEther(a.ourBalance)).toBe(parseEther(String(aliceMilli / 1000)));
      const history = await sameHistories();
      if (counts) expect(history.at(-1)).toMatchObject({ version: a.version, amount: '0.01' });
    },
  );
});

test('Alice is killed in the middle of a batch: every payment of the batch counts once, in both histories at one version', async () => {
  const victim = agents.Alice;
  const failpoint = knobs('alice').PERUN_FAILPOINTS_FILE;
  const exited = new Promise((r) => victim.child.once('exit', r));
  // The first payment's update is held once staged, so that the next ten wait for the next update
  // together; Alice is killed when that batch has been sent.
  writeFileSync(failpoint, 'update-staged hold');
  const pay = (amount: string, id: string) =>
    agents.Alice.api('POST', `/channels/${channel.id}/payments`, { amount, id }).then(
      () => 'paid',
      (err: unknown) => err,
    );
  const first = pay('0.001', 'before-batch');
  const ids = Array.from({ length: 10 }, (_, i) => `batch-${i}`);
  const asked = ids.map((id) => pay('0.002', id));
  for (const deadline = Date.now() + 30_000; ;) {
    if ((await view(agents.Alice)).queuedPayments === ids.length) break;
    if (Date.now() > deadline) throw new Error('the payments did not queue');
    await new Promise((r) => setTimeout(r, 20));
  }
  writeFileSync(failpoint, 'update-sent 2');
  expect(await exited).toBeNull();
  agents.Alice = await AgentProcess.start('Alice', victim.dataDir, victim.passphrase, victim.env);
  await Promise.all([first, ...asked]);
  const [a, b] = await bothAgree();
  expect([a.ourBalance, a.theirBalance]).toEqual([b.theirBalance, b.ourBalance]);
  const history = await sameHistories();
  // The batch was signed and stored before the kill: after the restart it counts, each payment once,
  // all at one version, after the first payment's.
  const before = history.find((p) => p.id === 'before-batch')!;
  const batch = history.filter((p) => p.id.startsWith('batch-'));
  expect(batch.map((p) => p.id).sort()).toEqual([...ids].sort());
  expect(new Set(batch.map((p) => p.version)).size).toBe(1);
  expect(batch[0]!.batch).toBe(ids.length);
  expect(BigInt(batch[0]!.version)).toBeGreaterThan(BigInt(before.version));
  aliceMilli -= 1 + 2 * ids.length;
  expect(parseEther(a.ourBalance)).toBe(parseEther(String(aliceMilli / 1000)));
});

test('the journals hold one state per version and no refusal; the channel pays on and settles exactly', async () => {
  await agents.Alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.25' });
  await agents.Bob.api('POST', `/channels/${channel.id}/payments`, { amount: '0.5' });
  aliceMilli += 250;
  for (const name of ['alice', 'bob']) {
    const lines = readJournal(knobs(name).PERUN_SIGNATURE_JOURNAL);
    expect(lines.filter((l) => l.refused === true)).toEqual([]);
    const keys = lines.map((l) => l.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThanOrEqual(14); // version 0, ten payments, the batch, two more
  }
  const bobSettled = agents.Bob.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled');
  const closed = await agents.Alice.api<SettlementView>('POST', `/channels/${channel.id}/close`);
  expect(closed.withdrawn[0]).toMatchObject({ asset: 'ETH', amount: String(aliceMilli / 1000) });
  expect((await bobSettled).settlement.withdrawn[0]).toMatchObject({
    asset: 'ETH',
    amount: String((4000 - aliceMilli) / 1000),
  });
});
