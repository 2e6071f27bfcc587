// Pairwise DIDs: every connection has a fresh DID of ours, and the peer's identity is bound through
// its credential. An unmodified Credo agent (Carol: Credo's DIDComm module on the project's
// storage and KMS, nothing of ours) keeps two working connections with one of our nodes whichever
// side invites, messages and trust pings answered both ways on each; our node sends no DID rotation
// and accept-invitation returns with the completed connection. Two of our nodes with two
// connections open channels on either one and pay; both connections are bound to the peer's
// identity DID, which the channels name. A data directory from before pairwise DIDs (its
// connection carries both identity DIDs, as the old rotation left it, and nothing is bound) keeps
// its channel across the upgrade. An update sent on a connection verified for another peer is refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DidCommBasicMessageEventTypes,
  DidCommBasicMessageRole,
  DidCommConnectionRepository,
  DidCommEventTypes,
  DidCommTrustPingEventTypes,
  type DidCommBasicMessageStateChangedEvent,
  type DidCommConnectionRecord,
  type DidCommMessageSentEvent,
  type TrustPingResponseReceivedEvent,
} from '@credo-ts/didcomm';
import { parseEther } from 'ethers';
import { faucet, runChain, type RunningChain } from '../../src/agent/node/chain.js';
import { initAgent, loadAgentConfig } from '../../src/agent/node/config.js';
import { PerunNode } from '../../src/agent/node/node.js';
import type { ConnectionView, NodeEventWithId } from '../../src/agent/node/types.js';
import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import { parseEthereumConfig } from '../../src/channels/ethereum/config.js';
import { stateFromJson } from '../../src/channels/json.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import { PEER_IDENTITY_TAG } from '../../src/protocols/identity/index.js';
import { createTestAgent, type TestAgent } from './transport-support.js';

let dir: string;
let chain: RunningChain;
const running = new Map<string, PerunNode>();
let issuer: PerunNode;
let alice: PerunNode;
let bob: PerunNode;
let carol: TestAgent;
let closeCarol: () => Promise<void>;
/** Message types each node sent, by label. */
const sent = new Map<string, string[]>();

async function start(label: string, overrides: Record<string, unknown> = {}): Promise<PerunNode> {
  const dataDir = join(dir, label);
  if (!running.has(label) && !sent.has(label)) {
    await initAgent({
      dataDir,
      label,
      passphrase: `${label} passphrase`,
      scrypt: { N: 2 ** 12 },
      overrides: { chain: join(dir, 'chain.json'), ...overrides },
    });
    sent.set(label, []);
  }
  const n = await PerunNode.start({
    config: loadAgentConfig({ dataDir }),
    passphrase: `${label} passphrase`,
    chain: parseEthereumConfig(chain.config),
    chainPollMs: 20,
  });
  running.set(label, n);
  n.agent.events.on<DidCommMessageSentEvent>(DidCommEventTypes.DidCommMessageSent, (e) => {
    sent.get(label)!.push(e.payload.message.message.type);
  });
  return n;
}

async function funded(label: string, overrides: Record<string, unknown> = {}): Promise<PerunNode> {
  const n = await start(label, overrides);
  await faucet({
    chain: parseEthereumConfig(chain.config),
    address: n.signer.address,
    amount: parseEther('20'),
  });
  return n;
}

function next(n: PerunNode, match: (e: NodeEventWithId) => boolean): Promise<NodeEventWithId> {
  return new Promise((resolve) => {
    const stop = n.subscribe((e) => {
      if (match(e)) {
        stop();
        resolve(e);
      }
    });
  });
}

/** Carol's next basic message on `connectionId`. */
function carolHears(connectionId: string): Promise<string> {
  return new Promise((resolve) => {
    const on = (e: DidCommBasicMessageStateChangedEvent) => {
      const r = e.payload.basicMessageRecord;
      if (r.role !== DidCommBasicMessageRole.Receiver || r.connectionId !== connectionId) return;
      carol.events.off(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, on);
      resolve(r.content);
    };
    carol.events.on(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, on);
  });
}

/** Carol pings `connectionId` and resolves once the answer came. */
async function carolPings(connectionId: string): Promise<void> {
  let on: ((e: TrustPingResponseReceivedEvent) => void) | undefined;
  const answered = new Promise<string>((resolve) => {
    on = (e) => resolve(e.payload.message.threadId);
    carol.events.on(DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent, on);
  });
  const ping = await carol.didcomm.connections.sendPing(connectionId, { responseRequested: true });
  expect(await answered).toBe(ping.id);
  carol.events.off(DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent, on!);
}

/** Alice's connection `ours` with Carol's `theirs` works both ways: messages and trust pings. */
async function worksBothWays(ours: ConnectionView, theirs: DidCommConnectionRecord, n: number) {
  const heard = carolHears(theirs.id);
  const delivered = next(alice, (e) => e.type === 'message-sent' && e.message.connectionId === ours.id);
  expect(await alice.sendMessage(ours.id, `to Carol ${n}`)).toMatchObject({ direction: 'sent' });
  expect(await heard).toBe(`to Carol ${n}`);
  await delivered;
  const received = next(alice, (e) => e.type === 'message-received' && e.message.connectionId === ours.id);
  await carol.didcomm.basicMessages.sendMessage(theirs.id, `to Alice ${n}`);
  const got = await received;
  expect(got.type === 'message-received' && got.message.content).toBe(`to Alice ${n}`);
  await expect(alice.pingConnection(ours.id)).resolves.toMatchObject({ id: ours.id, ready: true });
  await carolPings(theirs.id);
}

const rotations = (label: string) => sent.get(label)!.filter((t) => t.includes('did-rotate'));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perun-pairwise-'));
  chain = await runChain({ out: join(dir, 'chain.json') });
  issuer = await start('Issuer', { autoIssueSpendingLimit: '20' });
  const trusted = { trustedIssuers: [issuer.info().issuerDid], autoAcceptMaxFund: '5' };
  alice = await funded('Alice', trusted);
  bob = await funded('Bob', trusted);
  const handle = await createTestAgent({
    label: 'Carol',
    inbound: [new HttpInboundTransport({ path: '/didcomm' })],
  });
  carol = handle.agent;
  closeCarol = handle.close;
  await carol.initialize();
}, 120_000);

afterAll(async () => {
  await closeCarol?.();
  for (const n of running.values()) await n.stop();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a plain Credo agent accepts two invitations from our node: both connections work both ways', async () => {
  const carols: DidCommConnectionRecord[] = [];
  for (let i = 0; i < 2; i++) {
    const { url } = await alice.createInvitation();
    const { connectionRecord } = await carol.didcomm.oob.receiveInvitationFromUrl(url, { label: 'Carol' });
    carols.push(
      await carol.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, { timeoutMs: 20_000 }),
    );
  }
  const ours = (await alice.connections()).filter((c) => c.theirLabel === 'Carol');
  expect(ours).toHaveLength(2);
  // A fresh DID of ours on each, never the identity DID, and no rotation to it.
  expect(new Set(ours.map((c) => c.ourDid)).size).toBe(2);
  expect(ours.map((c) => c.ourDid)).not.toContain(alice.info().did);
  expect(new Set(carols.map((c) => c.theirDid)).size).toBe(2);
  expect(rotations('Alice')).toEqual([]);
  for (const [i, c] of carols.entries()) {
    const mine = ours.find((o) => o.ourDid === c.theirDid)!;
    await worksBothWays(mine, c, i);
  }
  // Both still work after the other was used.
  await worksBothWays(
    ours.find((o) => o.ourDid === carols[0]!.theirDid)!,
    carols[0]!,
    2,
  );
});

test('our node accepts two invitations from a plain Credo agent: ready at once, both work both ways', async () => {
  const mine: ConnectionView[] = [];
  for (let i = 0; i < 2; i++) {
    const oob = await carol.didcomm.oob.createInvitation({ label: 'Carol' });
    const url = oob.outOfBandInvitation.toUrl({ domain: 'https://carol.example' });
    const c = await alice.acceptInvitation(url);
    // Returned with the completed connection: no rotation was waited for, none was sent.
    expect(c).toMatchObject({ ready: true, state: 'completed' });
    mine.push(c);
  }
  expect(rotations('Alice')).toEqual([]);
  expect(new Set(mine.map((c) => c.ourDid)).size).toBe(2);
  for (const [i, c] of mine.entries()) {
    const theirs = (await carol.didcomm.connections.getAll()).find((r) => r.theirDid === c.ourDid)!;
    expect(theirs.did).toBe(c.theirDid);
    await worksBothWays(c, theirs, 10 + i);
  }
});

test('two of our nodes with two connections open channels on either and pay; both connections name the peer’s identity', async () => {
  const aliceToIssuer = await alice.acceptInvitation((await issuer.createInvitation()).url);
  const issuerToAlice = (await issuer.connections()).find((c) => c.theirDid === aliceToIssuer.ourDid)!;
  expect(
    (await issuer.issueCredential({ connectionId: issuerToAlice.id, name: 'Alice', spendingLimit: '10' }))
      .subject,
  ).toBe(alice.info().did);
  const bobToIssuer = await bob.acceptInvitation((await issuer.createInvitation()).url);
  expect((await bob.requestCredential(bobToIssuer.id, 'Bob')).subject).toBe(bob.info().did);

  const first = await alice.acceptInvitation((await bob.createInvitation()).url); // Bob invites
  const second = await bob.acceptInvitation((await alice.createInvitation()).url); // Alice invites
  expect([first.ourDid, second.theirDid]).not.toContain(alice.info().did);
  expect(rotations('Alice').concat(rotations('Bob'))).toEqual([]);
  const aliceSecond = (await alice.connections()).find((c) => c.theirDid === second.ourDid)!;

  const onFirst = await alice.openChannel({ connectionId: first.id, fund: '1', peerFund: '1' });
  const onSecond = await bob.openChannel({ connectionId: second.id, fund: '1', peerFund: '1' });
  expect(onFirst.peerDid).toBe(bob.info().did);
  expect(onSecond.peerDid).toBe(alice.info().did);
  const identity = alice.agent.modules.identity;
  expect(identity.peerIdentityOf(first.id)).toBe(bob.info().did);
  expect(identity.peerIdentityOf(aliceSecond.id)).toBe(bob.info().did);
  expect(bob.agent.modules.identity.peerIdentityOf(second.id)).toBe(alice.info().did);
  for (const channel of [onFirst, onSecond]) {
    await alice.pay(channel.id, '0.25');
    await bob.pay(channel.id, '0.5');
  }
  expect(alice.channel(onFirst.id)).toMatchObject({ ourBalance: '1.25', theirBalance: '0.75' });
  expect(bob.channel(onSecond.id)).toMatchObject({ ourBalance: '0.75', theirBalance: '1.25' });
  // Messages on each connection still reach the other side's connection.
  for (const [a, b] of [
    [first.id, (await bob.connections()).find((c) => c.theirDid === first.ourDid)!.id],
    [aliceSecond.id, second.id],
  ] as const) {
    const heard = next(bob, (e) => e.type === 'message-received' && e.message.connectionId === b);
    await alice.sendMessage(a, 'on this connection');
    await heard;
  }
  const settled = next(bob, (e) => e.type === 'settled' && e.settlement.channelId === onFirst.id);
  expect((await alice.close(onFirst.id)).withdrawn[0]).toMatchObject({ amount: '1.25' });
  await settled;
});

test('a data directory from before pairwise DIDs keeps its channel: restarted, both nodes pay on it and open another', async () => {
  const trusted = { trustedIssuers: [issuer.info().issuerDid], autoAcceptMaxFund: '5' };
  let dave = await funded('Dave', trusted);
  let erin = await funded('Erin', trusted);
  for (const [n, name] of [
    [dave, 'Dave'],
    [erin, 'Erin'],
  ] as const) {
    const c = await n.acceptInvitation((await issuer.createInvitation()).url);
    await n.requestCredential(c.id, name);
  }
  // The old code path: the invitee answered with its identity DID, the inviter rotated to its own.
  const oob = await erin.agent.didcomm.oob.createInvitation({ label: 'Erin' });
  const { connectionRecord } = await dave.agent.didcomm.oob.receiveInvitation(oob.outOfBandInvitation, {
    label: 'Dave',
    ourDid: dave.identity.did,
  });
  await dave.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, { timeoutMs: 20_000 });
  const [erinSide] = await erin.agent.didcomm.connections.findAllByOutOfBandId(oob.id);
  await erin.agent.modules.identity.adoptIdentityDid(erinSide!.id, erin.identity.did);
  const daveSide = await dave.agent.didcomm.connections.getById(connectionRecord!.id);
  expect([daveSide.did, daveSide.theirDid]).toEqual([dave.identity.did, erin.identity.did]);
  const channel = await dave.openChannel({ connectionId: daveSide.id, fund: '2', peerFund: '1' });
  await dave.pay(channel.id, '0.5');

  // What an old data directory holds: no binding on any connection, no migration done.
  for (const n of [dave, erin]) {
    const repository = n.agent.dependencyManager.resolve(DidCommConnectionRepository);
    for (const c of await repository.getAll(n.agent.context)) {
      c.setTag(PEER_IDENTITY_TAG, undefined);
      await repository.update(n.agent.context, c);
    }
    for (const r of await n.agent.genericRecords.findAllByQuery({ kind: 'perun-pairwise-dids' }))
      await n.agent.genericRecords.delete(r);
  }
  await Promise.all([dave.stop(), erin.stop()]);
  [dave, erin] = [await start('Dave'), await start('Erin')];
  expect(dave.agent.modules.identity.peerIdentityOf(daveSide.id)).toBe(erin.identity.did);
  expect(erin.agent.modules.identity.peerIdentityOf(erinSide!.id)).toBe(dave.identity.did);

  await dave.pay(channel.id, '0.25');
  await erin.pay(channel.id, '0.5');
  expect(dave.channel(channel.id)).toMatchObject({
    ourBalance: '1.75',
    theirBalance: '1.25',
    connectionId: daveSide.id,
  });
  const another = await erin.openChannel({ connectionId: erinSide!.id, fund: '1' });
  await erin.pay(another.id, '0.5');
  expect(dave.channel(another.id)).toMatchObject({ ourBalance: '0.5', peerDid: erin.identity.did });
});

test('a channel update sent on a connection verified for another peer is refused; the channel is untouched', async () => {
  // Dave, verified by Bob on their own connection, sends Bob an update Alice signed for her channel with Bob.
  const dave = running.get('Dave')!;
  const daveToBob = await dave.acceptInvitation((await bob.createInvitation()).url);
  const own = await dave.openChannel({ connectionId: daveToBob.id, fund: '0.5' });
  const bobToDave = (await bob.connections()).find((c) => c.theirDid === daveToBob.ourDid)!;
  expect(bob.agent.modules.identity.peerIdentityOf(bobToDave.id)).toBe(dave.identity.did);
  const [target] = alice.channels().filter((c) => c.peerDid === bob.info().did && c.phase === 'Acting');
  const latest = await alice.signedState(target!.id);
  const before = bob.channel(target!.id);
  const wire = dave.agent.modules.perun.wire;
  const reply = new Promise<ChannelMessage>((resolve) => {
    const off = wire.onMessage((_, m) => {
      if (m.type === 'channel-update-reject') {
        off();
        resolve(m);
      }
    });
  });
  await wire.send(bob.info().did, {
    type: 'channel-update',
    state: stateFromJson(latest.state, 'state'),
    actorIdx: 0,
    sig: latest.sigs[0]!,
  });
  expect(await reply).toMatchObject({ type: 'channel-update-reject', code: 'NOT_PARTICIPANT' });
  expect(bob.channel(target!.id)).toEqual(before);
  expect(bob.channel(own.id)).toMatchObject({ theirBalance: '0.5', peerDid: dave.identity.did });
});
