// Three agents as separate processes on 127.0.0.1, sharing an embedded chain: the Issuer, Alice
// and Bob. The Issuer certifies Alice (it asks her to prove her address) and Bob (who asks for
// his credential). Alice accepts Bob's invitation and opens a gated channel; they make 100
// payments each way over DIDComm and close cooperatively; the chain pays each exactly the final
// balance. Both restart from their SQLite files and still list the closed channel and their
// credentials.
import { jest } from '@jest/globals';
import { JsonRpcProvider, parseEther } from 'ethers';
import type {
  ChannelView,
  ConnectionView,
  CredentialView,
  NodeEventWithId,
  PaymentView,
  SettlementView,
} from '../../src/agent/node/types.js';
import { gasSpent } from '../../src/agent/process/gas.js';
import { AgentProcess, connectAgents } from '../../src/agent/process/agent-process.js';
import { startWorldAgent, trustingAgents } from '../../src/agent/process/certified-pair.js';
import { e2eWorld, openFiveAndFive, type E2eWorld } from './e2e-world.js';

jest.setTimeout(180_000);

let world: E2eWorld;
let provider: JsonRpcProvider;
let issuer: AgentProcess;
let alice: AgentProcess;
let bob: AgentProcess;

beforeAll(async () => {
  world = await e2eWorld('perun-e2e-');
  provider = world.chain.chain.provider();
  issuer = await startWorldAgent(world, 'Issuer', { autoIssueSpendingLimit: '20' });
  ({
    agents: { Alice: alice, Bob: bob },
  } = await trustingAgents(world, issuer, {
    names: ['Alice', 'Bob'],
    fundEth: '20',
    autoAcceptMaxFund: '10',
  }));
});

afterAll(async () => {
  await world?.stop();
});

test('the Issuer certifies Alice, and Bob on his request', async () => {
  await connectAgents(issuer, alice);
  const [toAlice] = await issuer.api<ConnectionView[]>('GET', '/connections');
  const issued = await issuer.api<CredentialView>('POST', '/credentials/issue', {
    connectionId: toAlice!.id,
    name: 'Alice',
    spendingLimit: '10',
  });
  expect(issued.claims).toEqual({ ethereumAddress: alice.info.address, name: 'Alice', spendingLimit: '10' });

  const toIssuer = await connectAgents(issuer, bob);
  const bobs = await bob.api<CredentialView>('POST', '/credentials/request', {
    connectionId: toIssuer.id,
    name: 'Bob',
  });
  expect(bobs).toMatchObject({
    issuer: issuer.info.issuerDid,
    subject: bob.info.did,
    claims: { ethereumAddress: bob.info.address, name: 'Bob', spendingLimit: '20' },
  });
  expect((await alice.api<CredentialView[]>('GET', '/credentials')).map((c) => c.claims.name)).toEqual([
    'Alice',
  ]);
});

test('Alice opens a gated channel with Bob, they pay 100 times each way and close to the wei', async () => {
  const ab = await connectAgents(bob, alice);
  // A pairwise DID of Bob's on this connection; his identity DID is what the channel names.
  expect(ab.ready).toBe(true);
  expect(ab.theirDid).not.toBe(bob.info.did);

  const channel = await openFiveAndFive(alice, bob, ab.id);

  for (let i = 0; i < 100; i++) {
    await alice.api<PaymentView>('POST', `/channels/${channel.id}/payments`, { amount: '0.03' });
    await bob.api<PaymentView>('POST', `/channels/${channel.id}/payments`, { amount: '0.01' });
  }
  const bobsView = await bob.api<ChannelView>('GET', `/channels/${channel.id}`);
  expect(bobsView).toMatchObject({ ourBalance: '7', theirBalance: '3', version: '200' });
  const received = await bob.api<PaymentView[]>('GET', `/payments?channelId=${channel.id}`);
  expect(received.filter((p) => p.direction === 'received')).toHaveLength(100);

  const start = await provider.getBlockNumber();
  const [aliceBefore, bobBefore] = await Promise.all(
    [alice, bob].map((p) => provider.getBalance(p.info.address, start)),
  );
  const bobSettled = bob.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled');
  const closed = await alice.api<SettlementView>('POST', `/channels/${channel.id}/close`);
  expect(closed.withdrawn).toEqual([{ asset: 'ETH', amount: '3', receiver: alice.info.address }]);
  expect((await bobSettled).settlement.withdrawn).toEqual([
    { asset: 'ETH', amount: '7', receiver: bob.info.address },
  ]);
  const end = await provider.getBlockNumber();
  for (const [p, before, share] of [
    [alice, aliceBefore!, parseEther('3')],
    [bob, bobBefore!, parseEther('7')],
  ] as const) {
    const after = await provider.getBalance(p.info.address, end);
    expect(after).toBe(before + share - (await gasSpent(provider, p.info.address, start, end)));
  }
});

test('both restart from their SQLite files and still list the closed channel and their credentials', async () => {
  [alice, bob] = await Promise.all([alice.restart(), bob.restart()]);
  for (const [p, name, balance] of [
    [alice, 'Alice', '3'],
    [bob, 'Bob', '7'],
  ] as const) {
    const [channel] = await p.api<ChannelView[]>('GET', '/channels');
    expect(channel).toMatchObject({ phase: 'Withdrawn', ourBalance: balance, isFinal: true });
    const credentials = await p.api<CredentialView[]>('GET', '/credentials');
    expect(credentials.map((c) => c.claims.name)).toEqual([name]);
    const connections = await p.api<ConnectionView[]>('GET', '/connections');
    expect(connections.filter((c) => c.ready)).toHaveLength(2);
    const history = await p.api<PaymentView[]>('GET', '/payments');
    expect(history.map((x) => x.direction).sort()).toEqual([
      ...Array<string>(100).fill('received'),
      ...Array<string>(100).fill('sent'),
    ]);
    expect(history.at(-1)).toMatchObject({ version: '200', ourBalance: balance });
  }
});
