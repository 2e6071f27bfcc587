// Payments under an Idempotency-Key between agent processes. Alice's agent is killed (SIGKILL)
// in the middle of a payment, so its answer is lost; started again from its SQLite file, the
// same request with the same key answers the payment that was made, and the channel and both
// histories hold it once. The stored answer is the same after a clean restart, requests with one
// key at once pay once, and the key with another request is a 422.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import type { RunningChain } from '../../src/agent/node/chain.js';
import type { ChannelView, PaymentView } from '../../src/agent/node/types.js';
import { AgentProcess, connectAgents, stopAllProcesses } from '../../src/agent/process/agent-process.js';
import { certifiedPair } from '../../src/agent/process/certified-pair.js';

jest.setTimeout(240_000);

let root: string;
let chain: RunningChain;
let alice: AgentProcess;
let bob: AgentProcess;
let channel: ChannelView;
/** Alice's balance in milli-ether, as both sides must see it. */
let aliceMilli = 3000;

const failpointFile = () => join(root, 'alice.failpoint');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-idempotent-'));
  ({ alice, bob } = await certifiedPair({
    root,
    fundEth: '20',
    onChain: (c) => (chain = c),
    env: { alice: { PERUN_FAILPOINTS_FILE: join(root, 'alice.failpoint') } },
  }));
  const ab = await connectAgents(bob, alice);
  const opened = bob.event((e) => e.type === 'channel-opened');
  channel = await alice.api<ChannelView>('POST', '/channels', {
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

const pay = (key: string, body: { amount: string; id?: string } = { amount: '0.01' }) =>
  alice.api<PaymentView>('POST', `/channels/${channel.id}/payments`, body, { 'idempotency-key': key });

const view = (p: AgentProcess) => p.api<ChannelView>('GET', `/channels/${channel.id}`);

/** Polls until both agents hold one state in phase Acting, and checks Alice's balance. */
async function bothAgree(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [a, b] = await Promise.all([view(alice), view(bob)]);
    if (a.phase === 'Acting' && b.phase === 'Acting' && a.version === b.version) {
      expect([a.ourBalance, a.theirBalance]).toEqual([b.theirBalance, b.ourBalance]);
      expect(parseEther(a.ourBalance)).toBe(parseEther(String(aliceMilli / 1000)));
      return;
    }
    if (Date.now() > deadline) throw new Error(`no agreement: ${JSON.stringify([a, b])}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How often Bob received payment `id`. */
async function receivedByBob(id: string): Promise<number> {
  const history = await bob.api<PaymentView[]>('GET', `/payments?channelId=${channel.id}`);
  return history.filter((p) => p.id === id && p.direction === 'received').length;
}

it.each(['update-staged', 'accept-received'])(
  'Alice dies at %s, the answer is lost; the same key after her restart pays once',
  async (step) => {
    const key = `lost-at-${step}`;
    const exited = new Promise((r) => alice.child.once('exit', r));
    writeFileSync(failpointFile(), step);
    const lost = pay(key).then(
      () => 'answered',
      (err: unknown) => err,
    );
    expect(await exited).toBeNull(); // killed by a signal
    expect(String(await lost)).toMatch(/fetch failed/);
    alice = await AgentProcess.start(alice.name, alice.dataDir, alice.passphrase, alice.env);

    const paid = await pay(key);
    aliceMilli -= 10;
    expect(paid).toMatchObject({ amount: '0.01', direction: 'sent', channelId: channel.id });
    expect(await pay(key)).toEqual(paid);
    await bothAgree();
    expect(await receivedByBob(paid.id)).toBe(1);
  },
);

it('answers the first result again after a clean restart, and refuses the key for another request', async () => {
  const paid = await pay('order-1', { amount: '0.02', id: 'order-1-payment' });
  aliceMilli -= 20;
  alice = await alice.restart();
  expect(await pay('order-1', { amount: '0.02', id: 'order-1-payment' })).toEqual(paid);
  await expect(pay('order-1', { amount: '0.03', id: 'order-1-payment' })).rejects.toMatchObject({
    status: 422,
    body: { category: 'client', code: 'IDEMPOTENCY_KEY_REUSED', details: { differs: ['amount'] } },
  });
  await expect(pay('order-1', { amount: '0.02' })).rejects.toMatchObject({
    status: 422,
    body: { code: 'IDEMPOTENCY_KEY_REUSED', details: { differs: ['id'] } },
  });
  await bothAgree();
  expect(await receivedByBob('order-1-payment')).toBe(1);
});

it('requests with one key at once join the first and pay once', async () => {
  const answers = await Promise.all([pay('burst'), pay('burst'), pay('burst')]);
  aliceMilli -= 10;
  expect(answers[1]).toEqual(answers[0]);
  expect(answers[2]).toEqual(answers[0]);
  await bothAgree();
  expect(await receivedByBob(answers[0]!.id)).toBe(1);
});
