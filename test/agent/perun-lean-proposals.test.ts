// Channel proposals and their answers on the Perun lean path, between real agents: once Bob's lean
// path knows his connection with Alice, her proposal and his accept travel on it, the proposal's
// ID durable in Bob's replay guard before his core sees it. A valid proposal of Alice's under
// Mallory's sender key, anoncrypted, on a connection Bob does not have complete, or a second copy
// of one already taken is not taken: nothing in Bob's channel tables changes. A proposal on a
// connection whose peer the wire has not resolved yet goes to Credo's pipeline, where the wire
// resolves it first (the identity gate). An agent without the lean path (Carol) still gets
// proposals through Credo's pipeline, and sends hers that way.
import { jest } from '@jest/globals';
import type { AgentContext } from '@credo-ts/core';
import { randomUUID } from 'node:crypto';
import {
  DidCommConnectionService,
  DidCommDidExchangeState,
  type DidCommConnectionRecord,
} from '@credo-ts/didcomm';
import type { Database } from 'better-sqlite3';
import type { ChannelMessage } from '../../src/channels/messages.js';
import {
  PerunLeanEventTypes,
  type Envelope,
  type PerunLeanMessageSentEvent,
} from '../../src/protocols/perun/lean/index.js';
import { ConnectionDidDirectory } from '../../src/protocols/perun/peer-directory.js';
import { ReplayGuard } from '../../src/protocols/replay/replay-guard.js';
import { startWorld, type World } from '../ethereum/harness.js';
import {
  channelRows,
  closeSides,
  connect,
  leanPeer,
  malloryPacks,
  openChannel,
  post,
  refusedOrTaken,
  side,
  type Side,
} from './lean-support.js';

jest.setTimeout(60_000);

let world: World;
let alice: Side;
let bob: Side;
let mallory: Side;
let carol: Side;
let ab: DidCommConnectionRecord;
let ba: DidCommConnectionRecord;
let mb: DidCommConnectionRecord;
let ac: DidCommConnectionRecord;
let ca: DidCommConnectionRecord;
/** The plaintext of a proposal Alice sent Bob on the lean path. */
let proposal: Record<string, unknown>;

const count = (s: Side, key: string) => s.lean.get(key) ?? 0;

beforeAll(async () => {
  world = await startWorld();
  alice = await side(world, 'Alice', 1);
  bob = await side(world, 'Bob', 2);
  mallory = await side(world, 'Mallory', 3);
  carol = await side(world, 'Carol', 4, { lean: false });
  [ab, ba] = await connect(alice, bob);
  [mb] = await connect(mallory, bob);
  [ac, ca] = await connect(alice, carol);
  await leanPeer(bob, ba);
  alice.agent.events.on<PerunLeanMessageSentEvent>(PerunLeanEventTypes.MessageSent, (e) => {
    if (String(e.payload.plaintext['@type']).endsWith('/ledger-channel-proposal'))
      proposal = e.payload.plaintext;
  });
}, 120_000);

afterAll(async () => {
  await closeSides([alice, bob, mallory, carol]);
  await world.stop();
});

/** Alice's proposal with a fresh @id and proposal ID: Bob's core would take it. */
const freshProposal = () => ({
  ...proposal,
  '@id': randomUUID(),
  proposal_id: `0x${'ab'.repeat(16)}${randomUUID().replace(/-/g, '')}`,
});

/** Posts `envelope` to Bob; the lean path does not take it and Credo's pipeline refuses it; Bob stores nothing. */
async function refused(envelope: Envelope): Promise<void> {
  const rows = await channelRows(bob);
  const taken = count(bob, 'processed ledger-channel-proposal');
  const outcome = refusedOrTaken(bob, envelope);
  expect(await post(bob, envelope)).toBe(202);
  expect(await outcome).toBe('refused by Credo');
  expect(count(bob, 'processed ledger-channel-proposal')).toBe(taken);
  expect(await channelRows(bob)).toEqual(rows);
}

it('a proposal and its accept travel on the lean path; the proposal’s ID is stored before Bob’s core sees it', async () => {
  const db = (bob.ds.driver as unknown as { databaseConnection: Database }).databaseConnection;
  const storedFirst: boolean[] = [];
  const off = bob.agent.modules.perun.wire.onMessage((_, msg: ChannelMessage) => {
    if (msg.type !== 'ledger-channel-proposal') return;
    const row = db
      .prepare('SELECT 1 FROM agent_inbound_message WHERE connection_id = ? AND message_id = ?')
      .get(ba.id, proposal['@id']);
    storedFirst.push(row !== undefined);
  });
  const id = await openChannel(world, alice, bob, ab);
  off();
  expect(bob.client.channel(id).state).toEqual(alice.client.channel(id).state);
  expect(count(bob, 'processed ledger-channel-proposal')).toBe(1);
  expect(count(alice, 'processed ledger-channel-accept')).toBe(1);
  expect(storedFirst).toEqual([true]);
});

it('a valid proposal under Mallory’s sender key, to Bob’s key on Alice’s connection, is refused', async () => {
  await refused(await malloryPacks(mallory, freshProposal(), bob, ba, mb));
});

it('a valid proposal anoncrypted to Bob’s key on Alice’s connection is refused', async () => {
  await refused(await malloryPacks(mallory, freshProposal(), bob, ba));
});

it('a second copy of a proposal Bob took is dropped before his core', async () => {
  const guard = bob.agent.dependencyManager.resolve(ReplayGuard);
  const envelope = alice.agent.modules.perun.lean!.pack(await leanPeer(alice, ab), freshProposal());
  const taken = count(bob, 'processed ledger-channel-proposal');
  const before = JSON.stringify(await channelRows(bob));
  expect(await post(bob, envelope)).toBe(202);
  expect(count(bob, 'processed ledger-channel-proposal')).toBe(taken + 1);
  // Bob's core takes it: the new channel is stored.
  let rows = await channelRows(bob);
  while (JSON.stringify(rows) === before) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    rows = await channelRows(bob);
  }
  const repeats = guard.repeats;
  expect(await post(bob, envelope)).toBe(202);
  expect(guard.repeats).toBe(repeats + 1);
  expect(count(bob, 'processed ledger-channel-proposal')).toBe(taken + 1);
  expect(await channelRows(bob)).toEqual(rows);
});

it('a valid proposal on a connection Bob does not have complete is refused', async () => {
  const connections = bob.agent.dependencyManager.resolve(DidCommConnectionService);
  const record = await connections.getById(bob.agent.context, ba.id);
  await connections.updateState(bob.agent.context, record, DidCommDidExchangeState.Abandoned);
  try {
    // Asked for it now, Bob's lean path has no peer on the connection (nor caches one).
    expect(await bob.agent.modules.perun.lean!.peerOf(record)).toBeUndefined();
    await refused(alice.agent.modules.perun.lean!.pack(await leanPeer(alice, ab), freshProposal()));
  } finally {
    await connections.updateState(bob.agent.context, record, DidCommDidExchangeState.Completed);
  }
});

it('a proposal on a connection whose peer the wire has not resolved goes to Credo’s pipeline and waits for it', async () => {
  // A directory that names no peer until a proposal resolves one (as the identity gate's does).
  const resolved: string[] = [];
  class Gated extends ConnectionDidDirectory {
    override peerOf(c: { theirDid: string }): string {
      return resolved.includes(c.theirDid) ? c.theirDid : (undefined as unknown as string);
    }
    override resolve(_: AgentContext, c: DidCommConnectionRecord): Promise<string> {
      resolved.push(c.theirDid!);
      return Promise.resolve(c.theirDid!);
    }
  }
  const gated = new Gated();
  await leanPeer(bob, ba);
  const wire = bob.agent.modules.perun.wire;
  wire.usePeers(gated);
  try {
    const taken = count(bob, 'processed ledger-channel-proposal');
    const id = await openChannel(world, alice, bob, ab);
    expect(resolved).toEqual([ba.theirDid]);
    expect(count(bob, 'processed ledger-channel-proposal')).toBe(taken);
    expect(bob.client.channel(id).state).toEqual(alice.client.channel(id).state);
  } finally {
    wire.usePeers(new ConnectionDidDirectory());
  }
});

it('Carol, without the lean path, gets Alice’s proposal through Credo’s pipeline and sends hers that way', async () => {
  const sent = count(alice, 'sent ledger-channel-proposal');
  const fromAlice = await openChannel(world, alice, carol, ac);
  expect(count(alice, 'sent ledger-channel-proposal')).toBe(sent + 1);
  expect(carol.client.channel(fromAlice).state).toEqual(alice.client.channel(fromAlice).state);
  const fromCarol = await openChannel(world, carol, alice, ca);
  expect(alice.client.channel(fromCarol).state).toEqual(carol.client.channel(fromCarol).state);
  expect(carol.lean.size).toBe(0);
});
