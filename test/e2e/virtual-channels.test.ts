// A virtual channel between three agent processes over DIDComm: Alice and Bob each open a ledger
// channel with Ingrid (an intermediary by her config; every channel gated by credentials), then
// Alice opens a virtual channel with Bob through Ingrid (Alice checks Bob's credential, Bob's agent
// checks Alice's, Ingrid signs both fundings once they match), they pay each other directly, the
// virtual channel settles back into both ledger channels with Ingrid neutral, and both ledger
// channels settle on chain to the wei. Then Bob's agent is killed with a virtual channel open:
// Alice disputes it on chain and Ingrid's agent settles both of her ledger channels.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningChain } from '../../src/agent/node/chain.js';
import type { ChannelView, ConnectionView, SettlementView } from '../../src/agent/node/types.js';
import { AgentProcess, connectAgents, stopAllProcesses } from '../../src/agent/process/agent-process.js';
import { certifiedAgents } from '../../src/agent/process/certified-pair.js';

jest.setTimeout(240_000);

let root: string;
let chain: RunningChain;
let alice: AgentProcess;
let bob: AgentProcess;
let ingrid: AgentProcess;
/** Each agent's side of its one connection with the other (an agent pair connects once). */
const connections = new Map<string, ConnectionView>();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-virtual-'));
  const { agents } = await certifiedAgents({
    root,
    names: ['Alice', 'Bob', 'Ingrid'] as const,
    fundEth: '10',
    configOf: { Ingrid: { intermediary: true } },
    onChain: (c) => (chain = c),
  });
  ({ Alice: alice, Bob: bob, Ingrid: ingrid } = agents);
  connections.set('Alice-Ingrid', await connectAgents(ingrid, alice));
  connections.set('Bob-Ingrid', await connectAgents(ingrid, bob));
  connections.set('Alice-Bob', await connectAgents(bob, alice));
});

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

/** `p` opens a ledger channel with Ingrid; resolves once Ingrid has it open too. */
async function ledgerWithIngrid(p: AgentProcess, fund: string, peerFund: string): Promise<ChannelView> {
  const withIngrid = connections.get(`${p.name}-Ingrid`)!;
  let channel: ChannelView | undefined;
  await ingrid.event(
    (e) => e.type === 'channel-opened',
    async () => {
      channel = await p.api<ChannelView>('POST', '/channels', {
        connectionId: withIngrid.id,
        fund,
        peerFund,
      });
    },
  );
  return channel!;
}

/**
 * Alice (2) and Bob (1) each open a ledger channel with Ingrid (2 each), then Alice opens a virtual
 * channel with Bob through her (Alice 1, Bob 0.2); resolves once Bob has it open.
 */
async function virtualThroughIngrid(): Promise<{ ai: ChannelView; bi: ChannelView; virtual: ChannelView }> {
  const ai = await ledgerWithIngrid(alice, '2', '2');
  const bi = await ledgerWithIngrid(bob, '1', '2');
  let virtual: ChannelView | undefined;
  await bob.event(
    (e) => e.type === 'channel-opened' && e.channel.virtual,
    async () => {
      virtual = await alice.api<ChannelView>('POST', '/virtual-channels', {
        connectionId: connections.get('Alice-Bob')!.id,
        via: ai.id,
        fund: '1',
        peerFund: '0.2',
      });
    },
  );
  return { ai, bi, virtual: virtual! };
}

const view = (p: AgentProcess, id: string) => p.api<ChannelView>('GET', `/channels/${id}`);

test('Alice pays Bob over a virtual channel through Ingrid; everything settles and Ingrid ends neutral', async () => {
  const { ai, bi, virtual } = await virtualThroughIngrid();
  const vid = virtual.id;
  expect(virtual).toMatchObject({
    virtual: true,
    parentId: ai.id,
    phase: 'Acting',
    ourBalance: '1',
    theirBalance: '0.2',
  });
  expect(await view(bob, vid)).toMatchObject({ virtual: true, parentId: bi.id, ourBalance: '0.2' });
  // Ingrid stands in for Bob with Alice and for Alice with Bob; she lists only her ledger channels.
  expect(await view(alice, ai.id)).toMatchObject({ ourBalance: '1', theirBalance: '1.8', locked: '1.2' });
  expect(await view(bob, bi.id)).toMatchObject({ ourBalance: '0.8', theirBalance: '1', locked: '1.2' });
  expect((await ingrid.api<ChannelView[]>('GET', '/channels')).map((c) => c.id).sort()).toEqual(
    [ai.id, bi.id].sort(),
  );

  for (let i = 0; i < 10; i++) await alice.api('POST', `/channels/${vid}/payments`, { amount: '0.05' });
  await bob.api('POST', `/channels/${vid}/payments`, { amount: '0.1' });
  expect(await view(bob, vid)).toMatchObject({ ourBalance: '0.6', theirBalance: '0.6', version: '11' });

  await bob.event(
    (e) => e.type === 'settled' && e.settlement.channelId === vid,
    () => alice.api<SettlementView>('POST', `/channels/${vid}/close`),
  );
  expect(await view(alice, ai.id)).toMatchObject({ ourBalance: '1.6', theirBalance: '2.4', locked: '0' });
  expect(await view(bob, bi.id)).toMatchObject({ ourBalance: '1.4', theirBalance: '1.6', locked: '0' });
  // Ingrid: 2.4 + 1.6 = the 2 + 2 she put in.
  expect(await view(ingrid, ai.id)).toMatchObject({ ourBalance: '2.4' });
  expect(await view(ingrid, bi.id)).toMatchObject({ ourBalance: '1.6' });

  for (const [p, id, amount, theirs] of [
    [alice, ai.id, '1.6', '2.4'],
    [bob, bi.id, '1.4', '1.6'],
  ] as const) {
    const settled = await ingrid.event(
      (e) => e.type === 'settled' && e.settlement.channelId === id,
      async () => {
        const mine = await p.api<SettlementView>('POST', `/channels/${id}/close`);
        expect(mine.withdrawn).toEqual([expect.objectContaining({ asset: 'ETH', amount })]);
      },
    );
    expect(settled).toMatchObject({ settlement: { withdrawn: [{ amount: theirs }] } });
  }
});

test('Bob’s agent is killed mid-channel: Alice disputes the virtual channel on chain, Ingrid settles both of her channels, nobody loses', async () => {
  const { ai, bi, virtual } = await virtualThroughIngrid();
  const vid = virtual.id;
  for (let i = 0; i < 4; i++) await alice.api('POST', `/channels/${vid}/payments`, { amount: '0.1' });
  // Virtual: Alice 0.6, Bob 0.6. Bob's agent dies.
  const exited = new Promise((r) => bob.child.once('exit', r));
  bob.child.kill('SIGKILL');
  await exited;

  const ingridSettled = (id: string) =>
    ingrid.event((e) => e.type === 'settled' && e.settlement.channelId === id);
  const [ingridAi, ingridBi] = [ingridSettled(ai.id), ingridSettled(bi.id)];
  const disputed = alice.api<SettlementView>('POST', `/channels/${vid}/dispute`);
  await alice.event((e) => e.type === 'dispute' && e.channelId === ai.id && e.by === 'us');
  await ingrid.event((e) => e.type === 'dispute' && e.channelId === bi.id && e.by === 'us');
  await chain.chain.increaseTime(61);
  // Alice: 1 left in her ledger channel + 0.6 from the virtual one.
  expect((await disputed).withdrawn).toEqual([expect.objectContaining({ asset: 'ETH', amount: '1.6' })]);
  const got = [await ingridAi, await ingridBi].map((e) =>
    e.type === 'settled' ? e.settlement.withdrawn[0]!.amount : '',
  );
  // Ingrid: 1.8 + Bob's 0.6 with Alice, 1 + Alice's 0.6 with Bob: the 2 + 2 she put in.
  expect(got).toEqual(['2.4', '1.6']);
});
