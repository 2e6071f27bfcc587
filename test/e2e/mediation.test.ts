// Mediation end to end, every agent a separate process on 127.0.0.1 sharing one chain: a Mediator
// (`mediator: true`, with a WebSocket listener), an Issuer, Bob as any agent, and Alice with her
// inbound transport off and the Mediator's invitation: nothing listens on her DIDComm port, her
// DIDs and invitations name the Mediator, and she picks up live over WebSocket. Alice accepts the
// Issuer's invitation and gets her credential (the address proof reaches her through the
// Mediator); she starts again while the Mediator is down and picks up once it is back (its queue
// on disk); Bob accepts Alice's invitation; Alice opens a gated channel with Bob, they pay each
// other and close, and the chain pays each the final balance to the wei. The Mediator's counts
// show that what Bob sends Alice went through it.
import { jest } from '@jest/globals';
import { connect } from 'node:net';
import { JsonRpcProvider, parseEther } from 'ethers';
import { loadAgentConfig } from '../../src/agent/node/config.js';
import type {
  AgentInfo,
  ChannelView,
  ConnectionView,
  CredentialView,
  InvitationView,
  MediationView,
  NodeEventWithId,
  SettlementView,
} from '../../src/agent/node/types.js';
import { settlementGains } from '../../src/agent/process/gas.js';
import { AgentProcess, connectAgents } from '../../src/agent/process/agent-process.js';
import { startWorldAgent, trustingAgents } from '../../src/agent/process/certified-pair.js';
import { e2eWorld, openFiveAndFive, type E2eWorld } from './e2e-world.js';

jest.setTimeout(180_000);

let world: E2eWorld;
let provider: JsonRpcProvider;
let mediator: AgentProcess;
let issuer: AgentProcess;
let alice: AgentProcess;
let bob: AgentProcess;
let aliceDir: string;

type MediatorView = Extract<MediationView, { role: 'mediator' }>;
const mediatorStats = async () => (await mediator.api<AgentInfo>('GET', '/info')).mediation as MediatorView;

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

beforeAll(async () => {
  world = await e2eWorld('perun-mediation-');
  provider = world.chain.chain.provider();
  [mediator, issuer] = await Promise.all([
    startWorldAgent(world, 'Mediator', { mediator: true }),
    startWorldAgent(world, 'Issuer', { autoIssueSpendingLimit: '20' }),
  ]);
  const invitation = (mediator.info.mediation as MediatorView).invitationUrl;
  const { dirs, agents } = await trustingAgents(world, issuer, {
    names: ['Alice', 'Bob'],
    fundEth: '20',
    autoAcceptMaxFund: '10',
    configOf: { Alice: { inbound: false, mediatorInvitation: invitation } },
  });
  aliceDir = dirs.Alice.dataDir;
  ({ Alice: alice, Bob: bob } = agents);
});

afterAll(async () => {
  await world?.stop();
});

test('Alice listens nowhere and is reached at the Mediator, picking up live over WebSocket', async () => {
  expect(await mediatorStats()).toMatchObject({ role: 'mediator', recipients: 1, keepDays: 7 });
  // The mediation connection keeps the DIDs it was made with (no switch to the identity DID).
  const [served] = await mediator.api<ConnectionView[]>('GET', '/connections');
  expect(served).toMatchObject({ ready: true });
  expect(served!.ourDid).not.toBe(mediator.info.did);
  expect(mediator.info.didcommEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

  expect(alice.info.mediation).toEqual({
    role: 'recipient',
    mediator: 'Mediator',
    connectionId: expect.any(String),
    endpoint: mediator.info.didcommEndpoint,
    routingKeys: [expect.any(String)],
    pickup: 'live',
    inbound: false,
  });
  expect(alice.info.didcommEndpoint).toBe(mediator.info.didcommEndpoint);
  const own = loadAgentConfig({ dataDir: aliceDir });
  expect(own.inbound).toBe(false);
  expect(await listening(own.didcommPort)).toBe(false);
  expect(await listening(Number(new URL(mediator.info.didcommEndpoint).port))).toBe(true);

  const invitation = await alice.api<InvitationView>('POST', '/invitations');
  expect(invitation.url.startsWith(`${mediator.info.didcommEndpoint}?oob=`)).toBe(true);
});

test('Alice gets her credential through the Mediator; Bob gets his', async () => {
  await connectAgents(issuer, alice);
  const credential = await alice.api<CredentialView>('POST', '/credentials/request', {
    connectionId: (await alice.api<ConnectionView[]>('GET', '/connections')).find(
      (c) => c.theirLabel === 'Issuer',
    )!.id,
    name: 'Alice',
  });
  expect(credential).toMatchObject({
    issuer: issuer.info.issuerDid,
    subject: alice.info.did,
    claims: { ethereumAddress: alice.info.address, name: 'Alice', spendingLimit: '20' },
  });
  const toIssuer = await connectAgents(issuer, bob);
  const bobs = await bob.api<CredentialView>('POST', '/credentials/request', {
    connectionId: toIssuer.id,
    name: 'Bob',
  });
  expect(bobs.claims).toMatchObject({ name: 'Bob', ethereumAddress: bob.info.address });
});

test('Alice starts while the Mediator is down, and picks up once it is back', async () => {
  await mediator.stop();
  alice = await alice.restart();
  expect(alice.info.mediation).toMatchObject({ role: 'recipient', pickup: 'live' });
  mediator = await mediator.restart();
  const [toAlice] = await issuer.api<ConnectionView[]>('GET', '/connections');
  const received = alice.event((e) => e.type === 'message-received');
  await issuer.api('POST', '/messages', { connectionId: toAlice!.id, content: 'welcome back' });
  expect(await received).toMatchObject({ message: { content: 'welcome back', direction: 'received' } });
  expect(alice.stderr).toContain('message pickup failed, trying again');
});

test('Bob accepts Alice’s invitation; a gated channel, payments both ways through the Mediator, a close to the wei', async () => {
  const toAlice = await connectAgents(alice, bob);
  expect(toAlice).toMatchObject({ ready: true, theirLabel: 'Alice' });
  const ab = (await alice.api<ConnectionView[]>('GET', '/connections')).find(
    (c) => c.theirLabel === 'Bob' && c.ready,
  )!;

  const channel = await openFiveAndFive(alice, bob, ab.id);

  const before = await mediatorStats();
  for (let i = 0; i < 10; i++) {
    await alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.3' });
    await bob.api('POST', `/channels/${channel.id}/payments`, { amount: '0.1' });
  }
  const after = await mediatorStats();
  // Each of Bob's updates and each of his answers to Alice's is forwarded to her by the Mediator.
  expect(after.forwarded - before.forwarded).toBeGreaterThanOrEqual(20);
  expect(after.delivered).toBeGreaterThanOrEqual(after.forwarded - after.queued);
  expect(await alice.api<ChannelView>('GET', `/channels/${channel.id}`)).toMatchObject({
    ourBalance: '3',
    theirBalance: '7',
    version: '20',
  });

  const gains = await settlementGains(provider, [alice.info.address, bob.info.address], async () => {
    const bobSettled = bob.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled');
    const closed = await alice.api<SettlementView>('POST', `/channels/${channel.id}/close`);
    expect(closed.withdrawn).toEqual([{ asset: 'ETH', amount: '3', receiver: alice.info.address }]);
    expect((await bobSettled).settlement.withdrawn).toEqual([
      { asset: 'ETH', amount: '7', receiver: bob.info.address },
    ]);
  });
  expect(gains).toEqual([parseEther('3'), parseEther('7')]);
});
