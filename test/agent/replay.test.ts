// Replays of captured DIDComm envelopes between real agents (createPerunAgent, HTTP on
// 127.0.0.1): Alice pays Bob, an attacker replays Bob's copy of her channel update 200 times
// (through the lean path, and after Bob restarts from his SQLite file through whichever path
// takes it), and Bob's state stays what Alice and he agreed while Alice gets no extra envelope;
// with the remembered IDs lost (a crash before the write-behind), a replay costs at most one
// answer. A basic message replayed through Credo's pipeline is stored once; an envelope replayed
// to another agent is refused there, and an @id is only a repeat on the connection that carried it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DidCommBasicMessage,
  DidCommEventTypes,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  type DidCommConnectionRecord,
  type DidCommMessageProcessedEvent,
  type DidCommMessageSentEvent,
} from '@credo-ts/didcomm';
import { openAgentStore } from '../../src/agent/datasource.js';
import { INBOUND_MESSAGE_TABLE } from '../../src/agent/storage/inbound-messages.js';
import type { Hex } from '../../src/channels/types.js';
import {
  PerunLeanEventTypes,
  type Envelope,
  type PerunLeanMessageProcessedEvent,
  type PerunLeanMessageSentEvent,
} from '../../src/protocols/perun/lean/index.js';
import {
  ReplayEventTypes,
  type ReplayMessageDroppedEvent,
} from '../../src/protocols/replay/replay-events.js';
import { ReplayGuard } from '../../src/protocols/replay/replay-guard.js';
import { startWorld, type World } from '../ethereum/harness.js';
import {
  closeSides,
  connect,
  httpEndpoint,
  nextFailure,
  openChannel,
  post,
  side,
  type Side,
} from './lean-support.js';

let world: World;
let dir: string;
let bobPort = 0;
let alice: Side;
let bob: Side;
let carol: Side;
let ab: DidCommConnectionRecord;
let ba: DidCommConnectionRecord;
let cb: DidCommConnectionRecord;
let bc: DidCommConnectionRecord;
let channel: Hex;
/** Bob's copy of one of Alice's channel updates, as it came over the wire. */
let update: { envelope: Envelope; id: string };

const REPLAYS = 200;

/** Bob on his SQLite file, on the port he first got: the same agent after a restart. */
async function startBob(): Promise<Side> {
  const s = await side(world, 'Bob', 2, { file: join(dir, 'bob.sqlite'), port: bobPort });
  bobPort = Number(new URL(httpEndpoint(s)).port);
  return s;
}

async function restartBob(between?: () => Promise<void>): Promise<void> {
  await closeSides([bob]);
  await between?.();
  bob = await startBob();
}

const guardOf = (s: Side) => s.agent.dependencyManager.resolve(ReplayGuard);

/**
 * How many answers to updates (accepts, refusals) `s` has sent on `connectionId` from now on,
 * by the lean path or Credo's sender (a restarted agent's channel sync is not one).
 */
function answers(s: Side, connectionId: string): () => number {
  let n = 0;
  const isAnswer = (type: unknown) => /\/(channel-update-accept|problem-report)$/.test(String(type));
  s.agent.events.on<PerunLeanMessageSentEvent>(PerunLeanEventTypes.MessageSent, (e) => {
    if (e.payload.connectionId === connectionId && isAnswer(e.payload.plaintext['@type'])) n++;
  });
  s.agent.events.on<DidCommMessageSentEvent>(DidCommEventTypes.DidCommMessageSent, (e) => {
    const { connection, message } = e.payload.message;
    if (connection?.id === connectionId && isAnswer(message.type)) n++;
  });
  return () => n;
}

/** Resolves once `s` finished with `count` inbound messages whose @id is `id` through Credo's pipeline. */
function credoProcessed(s: Side, id: string, count: number): Promise<void> {
  let n = 0;
  return new Promise((resolve) => {
    const on = (e: DidCommMessageProcessedEvent) => {
      if (e.payload.message.id !== id || ++n < count) return;
      s.agent.events.off(DidCommEventTypes.DidCommMessageProcessed, on);
      resolve();
    };
    s.agent.events.on(DidCommEventTypes.DidCommMessageProcessed, on);
  });
}

/**
 * Replays `update` REPLAYS times to Bob, each POST answered once he handed it over (the update
 * asks for a return route, so also Credo's pipeline answers only once it processed it), then
 * lets Alice pay 1 wei: Bob's channel core takes the replays before her payment.
 */
async function replayUpdate(): Promise<{ statuses: Set<number>; extra: number; dropped: number }> {
  const sent = answers(bob, ba.id);
  const before = guardOf(bob).repeats;
  const events = dropEvents(bob);
  const statuses = new Set<number>();
  for (let i = 0; i < REPLAYS; i++) statuses.add(await post(bob, update.envelope));
  await alice.client.sendPayment(channel, 1n);
  const dropped = guardOf(bob).repeats - before;
  // Each drop is reported, naming the connection, the message and the envelope it came in.
  expect(events.stop()).toEqual(
    Array.from({ length: dropped }, () => ({
      connectionId: ba.id,
      messageId: update.id,
      reason: 'repeat',
      encryptedMessage: update.envelope,
    })),
  );
  // Bob's accept of that payment is one envelope; anything more answered a replay.
  return { statuses, extra: sent() - 1, dropped };
}

/** The replay guard's drop events on `s` until `stop`. */
function dropEvents(s: Side) {
  const seen: ReplayMessageDroppedEvent['payload'][] = [];
  const on = (e: ReplayMessageDroppedEvent) => void seen.push(e.payload);
  s.agent.events.on(ReplayEventTypes.MessageDropped, on);
  return {
    stop: () => {
      s.agent.events.off(ReplayEventTypes.MessageDropped, on);
      return seen;
    },
  };
}

function expectAgreed(version: bigint): void {
  const state = alice.client.channel(channel).state!;
  expect(state.version).toBe(version);
  expect(bob.client.channel(channel).state).toEqual(state);
}

beforeAll(async () => {
  world = await startWorld();
  dir = mkdtempSync(join(tmpdir(), 'perun-agent-replay-'));
  alice = await side(world, 'Alice', 1);
  bob = await startBob();
  carol = await side(world, 'Carol', 3);
  [ab, ba] = await connect(alice, bob);
  [cb, bc] = await connect(carol, bob);
  channel = await openChannel(world, alice, bob, ab);
  const captured = new Promise<{ envelope: Envelope; id: string }>((resolve) => {
    const on = (e: PerunLeanMessageProcessedEvent) => {
      if (!String(e.payload.plaintext['@type']).endsWith('/channel-update')) return;
      bob.agent.events.off(PerunLeanEventTypes.MessageProcessed, on);
      resolve({ envelope: e.payload.encryptedMessage, id: e.payload.plaintext['@id'] as string });
    };
    bob.agent.events.on(PerunLeanEventTypes.MessageProcessed, on);
  });
  await alice.client.sendPayment(channel, 1n);
  update = await captured;
  // One more: the captured update is stale now, as a replay would be long after.
  await alice.client.sendPayment(channel, 1n);
}, 120_000);

afterAll(async () => {
  await closeSides([alice, bob, carol]);
  await world.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('a channel update replayed 200 times on the lean path is dropped: Bob’s state holds, Alice gets nothing more', async () => {
  const { version } = alice.client.channel(channel).state!;
  const { statuses, extra, dropped } = await replayUpdate();
  expect([...statuses]).toEqual([202]);
  expect(dropped).toBe(REPLAYS);
  expect(extra).toBeLessThanOrEqual(1);
  expect(extra).toBe(0);
  expectAgreed(version + 1n);
}, 60_000);

it('after Bob restarts, the update’s ID is still known: every replay is dropped again', async () => {
  const { version } = alice.client.channel(channel).state!;
  await restartBob();
  const { extra, dropped } = await replayUpdate();
  expect(dropped).toBe(REPLAYS);
  expect(extra).toBe(0);
  expectAgreed(version + 1n);
}, 60_000);

it('with the IDs lost (a crash before the write-behind), a replay is answered once and then dropped', async () => {
  const { version } = alice.client.channel(channel).state!;
  await restartBob(async () => {
    const ds = await openAgentStore(join(dir, 'bob.sqlite'));
    await ds.query(`DELETE FROM ${INBOUND_MESSAGE_TABLE}`);
    await ds.destroy();
  });
  const { extra, dropped } = await replayUpdate();
  // The first replay reaches the channel machine, which refuses the stale version once.
  expect(dropped).toBe(REPLAYS - 1);
  expect(extra).toBeLessThanOrEqual(1);
  expectAgreed(version + 1n);
}, 60_000);

it('a basic message replayed through Credo’s pipeline is stored once', async () => {
  const captured = new Promise<{ envelope: Envelope; id: string }>((resolve) => {
    const on = (e: DidCommMessageProcessedEvent) => {
      if (!(e.payload.message instanceof DidCommBasicMessage)) return;
      bob.agent.events.off(DidCommEventTypes.DidCommMessageProcessed, on);
      resolve({ envelope: e.payload.encryptedMessage as Envelope, id: e.payload.message.id });
    };
    bob.agent.events.on(DidCommEventTypes.DidCommMessageProcessed, on);
  });
  await alice.agent.didcomm.basicMessages.sendMessage(ab.id, 'pay me later');
  const message = await captured;
  const before = guardOf(bob).repeats;
  const events = dropEvents(bob);
  const processed = credoProcessed(bob, message.id, REPLAYS);
  for (let i = 0; i < REPLAYS; i++) expect(await post(bob, message.envelope)).toBe(202);
  await processed;
  expect(guardOf(bob).repeats - before).toBe(REPLAYS);
  const reported = events.stop();
  expect(reported).toHaveLength(REPLAYS);
  expect(reported[0]).toMatchObject({ connectionId: ba.id, messageId: message.id, reason: 'repeat' });
  const stored = await bob.agent.didcomm.basicMessages.findAllByQuery({ connectionId: ba.id });
  expect(stored.map((r) => r.content)).toEqual(['pay me later']);
}, 60_000);

it('an envelope replayed to another agent is refused; an @id is a repeat only on its own connection', async () => {
  const carolSent = answers(carol, ab.id);
  const failed = nextFailure(carol);
  post(carol, update.envelope).catch(() => undefined);
  await failed;
  expect(carol.lean.get('processed channel-update')).toBeUndefined();
  expect(carolSent()).toBe(0);

  // Carol, a peer of Bob's, sends a basic message under the @id Alice's update had on hers.
  const processed = credoProcessed(bob, update.id, 1);
  const message = new DidCommBasicMessage({ id: update.id, content: 'same id, other connection' });
  await carol.agent.dependencyManager
    .resolve(DidCommMessageSender)
    .sendMessage(
      new DidCommOutboundMessageContext(message, { agentContext: carol.agent.context, connection: cb }),
    );
  await processed;
  const stored = await bob.agent.didcomm.basicMessages.findAllByQuery({ connectionId: bc.id });
  expect(stored.map((r) => r.content)).toEqual(['same id, other connection']);
}, 60_000);
