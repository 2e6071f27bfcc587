// Bob's agent process is killed (SIGKILL) in the middle of a channel with Alice. Alice's payment
// fails at once with a typed peer error and moves nothing; Bob starts again from his SQLite file,
// the two agents sync, and the channel goes on with every balance where it was. Both sides then
// close it and the chain pays exactly the last balances.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningChain } from '../../src/agent/node/chain.js';
import type { ChannelView, NodeEventWithId, SettlementView } from '../../src/agent/node/types.js';
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
let channel: ChannelView;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-faults-'));
  ({ alice, bob } = await certifiedPair({ root, fundEth: '20', onChain: (c) => (chain = c) }));
  const ab = await connectAgents(bob, alice);
  const opened = bob.event((e) => e.type === 'channel-opened');
  channel = await alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: '3',
    peerFund: '1',
  });
  await opened;
  for (let n = 0; n < 3; n++) await alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.5' });
});

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

test('with Bob killed, Alice’s payment fails with a typed peer error and moves nothing', async () => {
  const exited = new Promise((r) => bob.child.once('exit', r));
  bob.child.kill('SIGKILL');
  await exited;
  const failure = (await alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.25' }).then(
    () => undefined,
    (err: unknown) => err,
  )) as ApiFailure | undefined;
  expect(failure).toMatchObject({ status: 502, body: { category: 'peer' } });
  expect(await alice.api<ChannelView>('GET', `/channels/${channel.id}`)).toMatchObject({
    version: '3',
    ourBalance: '1.5',
    theirBalance: '2.5',
    phase: 'Acting',
  });
});

test('Bob restarts from his file, the agents sync, and the channel goes on and settles exactly', async () => {
  bob = await AgentProcess.start('Bob', bob.dataDir, bob.passphrase);
  expect(await bob.api<ChannelView>('GET', `/channels/${channel.id}`)).toMatchObject({
    version: '3',
    ourBalance: '2.5',
    theirBalance: '1.5',
  });
  await alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.25' });
  await bob.api('POST', `/channels/${channel.id}/payments`, { amount: '1' });
  const [a, b] = await Promise.all(
    [alice, bob].map((p) => p.api<ChannelView>('GET', `/channels/${channel.id}`)),
  );
  expect([a!.version, a!.ourBalance, a!.theirBalance]).toEqual([b!.version, b!.theirBalance, b!.ourBalance]);
  expect([a!.ourBalance, a!.theirBalance]).toEqual(['2.25', '1.75']);

  const bobSettled = bob.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled');
  const closed = await alice.api<SettlementView>('POST', `/channels/${channel.id}/close`);
  expect(closed.withdrawn[0]).toMatchObject({ asset: 'ETH', amount: '2.25' });
  expect((await bobSettled).settlement.withdrawn[0]).toMatchObject({ asset: 'ETH', amount: '1.75' });
});
