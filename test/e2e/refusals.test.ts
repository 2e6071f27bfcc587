// Bob's agent, a separate process, refuses what it must and goes on serving Alice (another
// process). Mallory runs in this test's process so that she can also send raw DIDComm. She asks
// Bob for a channel with no credential, with an expired one, with one from an issuer Bob does not
// trust (Alice's), and with one naming Alice's address; she replays Alice's latest update over her
// own connection; she sends malformed JSON to Bob's endpoint and a message of an unknown @type.
// Each is refused, Bob stores nothing of it, and Alice and Bob keep paying each other.
import { jest } from '@jest/globals';
import {
  DidCommMessage,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  IsValidMessageType,
  parseMessageType,
} from '@credo-ts/didcomm';
import { loadAgentConfig } from '../../src/agent/node/config.js';
import { PerunNode } from '../../src/agent/node/node.js';
import type {
  ChannelView,
  ConnectionView,
  InvitationView,
  SignedStateView,
} from '../../src/agent/node/types.js';
import { AgentProcess, connectAgents } from '../../src/agent/process/agent-process.js';
import { startWorldAgent, trustingAgents } from '../../src/agent/process/certified-pair.js';
import { stateFromJson } from '../../src/channels/json.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import { e2eWorld, type E2eWorld } from './e2e-world.js';

jest.setTimeout(180_000);

let world: E2eWorld;
let issuer: AgentProcess;
let alice: AgentProcess;
let bob: AgentProcess;
let mallory: PerunNode;
let toMallory: ConnectionView; // the Issuer's connection with Mallory
let mb: ConnectionView; // Mallory's connection with Bob
let channel: ChannelView; // Alice's channel with Bob

/** The Issuer's side of the connection `theirs` is the other side of (their DID on it is our peer's). */
async function issuerConnection(theirs: ConnectionView): Promise<ConnectionView> {
  const all = await issuer.api<ConnectionView[]>('GET', '/connections');
  return all.find((c) => c.theirDid === theirs.ourDid)!;
}

/** Mallory asks Bob for a channel; resolves with Bob's refusal as Mallory's node reports it. */
async function malloryProposes(): Promise<unknown> {
  const bobsBefore = await bob.api<ChannelView[]>('GET', '/channels');
  const error = await mallory.openChannel({ connectionId: mb.id, fund: '1', peerFund: '0' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(await bob.api<ChannelView[]>('GET', '/channels')).toEqual(bobsBefore);
  return error;
}

beforeAll(async () => {
  world = await e2eWorld('perun-e2e-refusals-');
  issuer = await startWorldAgent(world, 'Issuer');
  const { dirs, agents } = await trustingAgents(world, issuer, {
    names: ['Alice', 'Bob', 'Mallory'],
    fundEth: '20',
    autoAcceptMaxFund: '10',
    start: ['Alice', 'Bob'],
  });
  ({ Alice: alice, Bob: bob } = agents);
  mallory = await PerunNode.start({
    config: loadAgentConfig({ dataDir: dirs.Mallory.dataDir }),
    passphrase: dirs.Mallory.passphrase,
    chain: world.config,
    chainPollMs: 50,
  });

  for (const [holder, name] of [
    [alice, 'Alice'],
    [bob, 'Bob'],
  ] as const) {
    const c = await issuerConnection(await connectAgents(issuer, holder));
    await issuer.api('POST', '/credentials/issue', { connectionId: c.id, name, spendingLimit: '10' });
  }
  const invitation = await issuer.api<InvitationView>('POST', '/invitations');
  toMallory = await issuerConnection(await mallory.acceptInvitation(invitation.url));

  const ab = await connectAgents(bob, alice);
  const opened = bob.event((e) => e.type === 'channel-opened');
  channel = await alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: '2',
    peerFund: '2',
  });
  await opened;
  await alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.5' });
  mb = await mallory.acceptInvitation((await bob.api<InvitationView>('POST', '/invitations')).url);
});

afterAll(async () => {
  await mallory?.stop();
  await world?.stop();
});

test('Mallory without a credential is refused: no-credential', async () => {
  expect(await malloryProposes()).toMatchObject({
    code: 'PROPOSAL_REJECTED',
    details: { reason: expect.stringContaining('not-authorized: no-credential') },
  });
});

test('Mallory with an expired credential is refused: expired', async () => {
  // Credo's holder refuses an expired credential over issue-credential: the Issuer signs one
  // that ran out in 2020 and Mallory imports it, as if it had expired in her wallet.
  const { credential } = await issuer.api<{ credential: string }>('POST', '/credentials/sign', {
    subject: mallory.info().did,
    name: 'Mallory',
    spendingLimit: '10',
    ethereumAddress: mallory.signer.address,
    issuanceDate: '2019-01-01T00:00:00Z',
    expirationDate: '2020-01-01T00:00:00Z',
  });
  const imported = await mallory.importCredential(credential);
  expect(imported).toMatchObject({ issuer: issuer.info.issuerDid, expirationDate: '2020-01-01T00:00:00Z' });
  expect(await malloryProposes()).toMatchObject({
    details: { reason: expect.stringContaining('not-authorized: expired') },
  });
});

test('Mallory with a credential from an issuer Bob does not trust (Alice) is refused: untrusted-issuer', async () => {
  const invitation = await alice.api<InvitationView>('POST', '/invitations');
  const toAlice = await mallory.acceptInvitation(invitation.url);
  const aliceSide = (await alice.api<ConnectionView[]>('GET', '/connections')).find(
    (c) => c.theirDid === toAlice.ourDid,
  )!;
  expect(toAlice.ready).toBe(true);
  await alice.api('POST', '/credentials/issue', {
    connectionId: aliceSide.id,
    name: 'Mallory',
    spendingLimit: '10',
  });
  expect(await malloryProposes()).toMatchObject({
    details: { reason: expect.stringContaining('not-authorized: untrusted-issuer') },
  });
});

test('Mallory with a trusted credential that names Alice’s address is refused: address-mismatch', async () => {
  await issuer.api('POST', '/credentials/issue', {
    connectionId: toMallory.id,
    name: 'Mallory',
    spendingLimit: '10',
    ethereumAddress: alice.info.address,
  });
  expect(await malloryProposes()).toMatchObject({
    details: { reason: expect.stringContaining('not-authorized: address-mismatch') },
  });
});

test('Alice’s latest update replayed by Mallory over her own connection is refused; Bob’s channel is untouched', async () => {
  const latest = await alice.api<SignedStateView>('GET', `/channels/${channel.id}/signed-state`);
  const bobsBefore = await bob.api<ChannelView>('GET', `/channels/${channel.id}`);
  const wire = mallory.agent.modules.perun.wire;
  const reply = new Promise<ChannelMessage>((resolve) => {
    const off = wire.onMessage((_, m) => {
      if (m.type === 'channel-update-reject') {
        off();
        resolve(m);
      }
    });
  });
  await wire.send(mb.theirDid!, {
    type: 'channel-update',
    state: stateFromJson(latest.state, 'state'),
    actorIdx: 0,
    sig: latest.sigs[0]!,
  });
  expect(await reply).toMatchObject({ type: 'channel-update-reject', code: 'NOT_PARTICIPANT' });
  expect(await bob.api<ChannelView>('GET', `/channels/${channel.id}`)).toEqual(bobsBefore);
});

class UnknownMessage extends DidCommMessage {
  public static override readonly type = parseMessageType('https://didcomm.org/perun/1.0/no-such-message');
  @IsValidMessageType(UnknownMessage.type)
  public override readonly type = UnknownMessage.type.messageTypeUri;

  public constructor() {
    super();
    this.id = this.generateId();
  }
}

test('malformed JSON at Bob’s endpoint and a message of an unknown @type change nothing; Alice and Bob go on paying', async () => {
  const endpoint = bob.info.didcommEndpoint;
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/didcomm-envelope-enc' },
    body: '{"protected": "not a JWE',
  });
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);

  const connection = await mallory.agent.didcomm.connections.getById(mb.id);
  await mallory.agent.dependencyManager.resolve(DidCommMessageSender).sendMessage(
    new DidCommOutboundMessageContext(new UnknownMessage(), {
      agentContext: mallory.agent.context,
      connection,
    }),
  );

  await bob.api('POST', `/channels/${channel.id}/payments`, { amount: '0.25' });
  await alice.api('POST', `/channels/${channel.id}/payments`, { amount: '0.1' });
  expect(await bob.api<ChannelView>('GET', `/channels/${channel.id}`)).toMatchObject({
    version: '3',
    ourBalance: '2.35',
    theirBalance: '1.65',
  });
  expect(await bob.api<ChannelView[]>('GET', '/channels')).toHaveLength(1);
});
