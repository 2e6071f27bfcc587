// Sub-channels between two agent processes over DIDComm: Bob opens a channel with Alice (each
// checks the other's credential), then Alice opens two sub-channels inside it through her REST API
// (her peer's agent checks her credential again and signs the parent updates that lock the funds),
// they pay inside one sub-channel and in the parent, Alice's close of a sub-channel returns its
// balances to the parent, a parent with an open sub-channel refuses to close (409), Bob's agent
// restarts with a sub-channel open and resumes it, and the parent settles on chain to the wei.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningChain } from '../../src/agent/node/chain.js';
import type { ChannelView, SettlementView } from '../../src/agent/node/types.js';
import {
  AgentProcess,
  connectAgents,
  stopAllProcesses,
  type ApiFailure,
} from '../../src/agent/process/agent-process.js';
import { certifiedPair } from '../../src/agent/process/certified-pair.js';

jest.setTimeout(180_000);

let root: string;
let chain: RunningChain;
let alice: AgentProcess;
let bob: AgentProcess;
let parent: ChannelView;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-sub-'));
  ({ alice, bob } = await certifiedPair({ root, fundEth: '20', onChain: (c) => (chain = c) }));
  const ba = await connectAgents(alice, bob);
  // Bob proposes: in the parent Alice is participant 1, and so in her sub-channels.
  await alice.event(
    (e) => e.type === 'channel-opened',
    async () => {
      parent = await bob.api<ChannelView>('POST', '/channels', {
        connectionId: ba.id,
        fund: '2',
        peerFund: '3',
      });
    },
  );
});

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

const view = (p: AgentProcess, id: string) => p.api<ChannelView>('GET', `/channels/${id}`);

test('Alice opens two sub-channels, pays in one and releases both into the parent, which settles exactly', async () => {
  let sub: ChannelView | undefined;
  await bob.event(
    (e) => e.type === 'channel-opened' && e.channel.parentId === parent.id,
    async () => {
      sub = await alice.api<ChannelView>('POST', `/channels/${parent.id}/sub-channels`, {
        fund: '1',
        peerFund: '0.5',
      });
    },
  );
  expect(sub).toMatchObject({
    parentId: parent.id,
    phase: 'Acting',
    ourBalance: '1',
    theirBalance: '0.5',
    idx: 1,
  });
  expect(await view(bob, sub!.id)).toMatchObject({
    parentId: parent.id,
    ourBalance: '0.5',
    theirBalance: '1',
  });
  expect(await view(alice, parent.id)).toMatchObject({ ourBalance: '2', theirBalance: '1.5', locked: '1.5' });

  const second = await alice.api<ChannelView>('POST', `/channels/${parent.id}/sub-channels`, {
    fund: '0.25',
  });
  expect(await view(bob, parent.id)).toMatchObject({
    ourBalance: '1.5',
    theirBalance: '1.75',
    locked: '1.75',
  });

  await alice.api('POST', `/channels/${sub!.id}/payments`, { amount: '0.4' });
  await bob.api('POST', `/channels/${sub!.id}/payments`, { amount: '0.1' });
  await bob.api('POST', `/channels/${parent.id}/payments`, { amount: '0.5' });
  expect(await view(alice, sub!.id)).toMatchObject({ ourBalance: '0.7', theirBalance: '0.8' });

  const refused = (await alice.api('POST', `/channels/${parent.id}/close`).then(
    () => undefined,
    (e: unknown) => e,
  )) as ApiFailure | undefined;
  expect(refused).toMatchObject({ status: 409, body: { code: 'SUBCHANNELS_OPEN' } });

  // Bob's agent restarts with both sub-channels open; they resume with the parent.
  bob = await bob.restart();
  expect(await view(bob, sub!.id)).toMatchObject({ parentId: parent.id, phase: 'Acting', ourBalance: '0.8' });

  await alice.api<SettlementView>('POST', `/channels/${sub!.id}/close`);
  await alice.api<SettlementView>('POST', `/channels/${second.id}/close`);
  expect(await view(alice, sub!.id)).toMatchObject({ phase: 'Withdrawn' });
  // Alice: 1.75 + 0.5 (Bob's payment in the parent) + 0.7 + 0.25; Bob: 1.5 - 0.5 + 0.8.
  expect(await view(bob, parent.id)).toMatchObject({ ourBalance: '1.8', theirBalance: '3.2', locked: '0' });

  let mine: SettlementView | undefined;
  const theirs = await bob.event(
    (e) => e.type === 'settled' && e.settlement.channelId === parent.id,
    async () => {
      mine = await alice.api<SettlementView>('POST', `/channels/${parent.id}/close`);
    },
  );
  expect(mine!.withdrawn).toEqual([expect.objectContaining({ asset: 'ETH', amount: '3.2' })]);
  expect(theirs).toMatchObject({ settlement: { withdrawn: [{ asset: 'ETH', amount: '1.8' }] } });
});
