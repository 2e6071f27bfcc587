// What the Perun lean path refuses, between real agents: a valid update of Alice's (her signature
// on the next state of her channel with Bob) reaches Bob's core only authcrypted by Alice's key to
// Bob's key on their connection, while that connection is completed. Under Mallory's sender key,
// anoncrypted, or while Bob's connection is not complete the lean path leaves it to Credo's
// pipeline, which refuses it: nothing in Bob's channel tables changes. Its cache follows the
// connection: a DID rotation, a connection not complete and a deleted connection are never served
// from what was cached before.
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  DidCommConnectionEventTypes,
  DidCommConnectionService,
  DidCommDidExchangeState,
  DidCommEventTypes,
  type DidCommConnectionDidRotatedEvent,
  type DidCommConnectionRecord,
  type DidCommMessageProcessedEvent,
} from '@credo-ts/didcomm';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { Hex } from '../../src/channels/types.js';
import type { Envelope } from '../../src/protocols/perun/lean/index.js';
import { toPlaintext } from '../../src/protocols/perun/wire-format.js';
import { startWorld, type World } from '../ethereum/harness.js';
import {
  channelRows,
  closeSides,
  connect,
  leanPeer,
  malloryPacks,
  nextUpdate,
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
let ab: DidCommConnectionRecord;
let ba: DidCommConnectionRecord;
let mb: DidCommConnectionRecord;
let channel: Hex;

beforeAll(async () => {
  world = await startWorld();
  alice = await side(world, 'Alice', 1);
  bob = await side(world, 'Bob', 2);
  mallory = await side(world, 'Mallory', 3);
  [ab, ba] = await connect(alice, bob);
  [mb] = await connect(mallory, bob);
  channel = await openChannel(world, alice, bob, ab);
  await alice.client.sendPayment(channel, 1n);
}, 120_000);

afterAll(async () => {
  await closeSides([alice, bob, mallory]);
  await world.stop();
});

/** Alice's next update of the channel, valid: Bob's core would sign it. */
function aliceUpdate() {
  const { state, sig } = nextUpdate(alice, channel);
  return toPlaintext({ type: 'channel-update', state, actorIdx: 0, sig });
}

const leanUpdates = (s: Side) => s.lean.get('processed channel-update') ?? 0;

/** Posts `envelope` to Bob; Credo's pipeline fails on it; Bob's channel tables and core are as before. */
async function refused(envelope: Envelope): Promise<void> {
  const rows = await channelRows(bob);
  const state = bob.client.channel(channel).state;
  const lean = leanUpdates(bob);
  const outcome = refusedOrTaken(bob, envelope);
  expect(await post(bob, envelope)).toBe(202);
  expect(await outcome).toBe('refused by Credo');
  expect(leanUpdates(bob)).toBe(lean);
  expect(bob.client.channel(channel).state).toEqual(state);
  expect(await channelRows(bob)).toEqual(rows);
}

it('a valid update under Mallory’s sender key, to Bob’s key on Alice’s connection, is refused', async () => {
  await refused(await malloryPacks(mallory, aliceUpdate(), bob, ba, mb));
});

it('a valid update anoncrypted to Bob’s key on Alice’s connection is refused', async () => {
  await refused(await malloryPacks(mallory, aliceUpdate(), bob, ba));
});

it('a valid update on a connection Bob does not have complete is refused; completed again, payments go on', async () => {
  const connections = bob.agent.dependencyManager.resolve(DidCommConnectionService);
  const record = await connections.getById(bob.agent.context, ba.id);
  await connections.updateState(bob.agent.context, record, DidCommDidExchangeState.Abandoned);
  expect(await bob.agent.modules.perun.lean!.peerOf(record)).toBeUndefined();
  const alicePeer = await leanPeer(alice, ab);
  await refused(alice.agent.modules.perun.lean!.pack(alicePeer, aliceUpdate()));

  await connections.updateState(bob.agent.context, record, DidCommDidExchangeState.Completed);
  for (let i = 0; i < 3; i++) await alice.client.sendPayment(channel, 1n);
  expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
});

it('after Bob rotates his DID, no cached key of the old one is used; a channel with the new one pays', async () => {
  const oldAlicePeer = await leanPeer(alice, ab);
  const rotated = (s: Side) =>
    new Promise<DidCommConnectionRecord>((resolve) =>
      s.agent.events.on<DidCommConnectionDidRotatedEvent>(
        DidCommConnectionEventTypes.DidCommConnectionDidRotated,
        (e) => resolve(e.payload.connectionRecord),
      ),
    );
  const [onAlice, onBob] = [rotated(alice), rotated(bob)];
  const { newDid } = await bob.agent.didcomm.connections.rotate({ connectionId: ba.id });
  [ab, ba] = await Promise.all([onAlice, onBob]);
  expect(ab.theirDid).toBe(newDid);
  expect(ba.did).toBe(newDid);

  const newAlicePeer = await leanPeer(alice, ab);
  expect(newAlicePeer.theirDid).toBe(newDid);
  expect(newAlicePeer.recipients.map((r) => r.kid)).not.toEqual(oldAlicePeer.recipients.map((r) => r.kid));

  // An envelope packed with the keys cached before: Bob's lean path does not take it (Credo judges it).
  const { state } = nextUpdate(alice, channel);
  const stale = alice.agent.modules.perun.lean!.pack(oldAlicePeer, {
    ...toPlaintext({
      type: 'channel-update',
      state,
      actorIdx: 0,
      sig: EthereumSigner.random().signState(state),
    }),
    '@id': randomUUID(),
  });
  const lean = leanUpdates(bob);
  const judged = new Promise<void>((resolve) => {
    bob.onFailure = resolve;
    bob.agent.events.on<DidCommMessageProcessedEvent>(DidCommEventTypes.DidCommMessageProcessed, (e) => {
      if (e.payload.encryptedMessage?.ciphertext === stale.ciphertext) resolve();
    });
  });
  await post(bob, stale);
  await judged;
  expect(leanUpdates(bob)).toBe(lean);

  // A channel's peer is the DID it was opened with: a new channel is opened with Bob's new DID.
  const fresh = await openChannel(world, alice, bob, ab);
  for (let i = 0; i < 3; i++) await alice.client.sendPayment(fresh, 1n);
  expect(bob.client.channel(fresh).state).toEqual(alice.client.channel(fresh).state);
  expect(leanUpdates(bob)).toBeGreaterThan(lean);
});

it('after Bob deletes the connection, a valid update of Alice’s is refused', async () => {
  await bob.agent.didcomm.connections.deleteById(ba.id);
  await refused(alice.agent.modules.perun.lean!.pack(await leanPeer(alice, ab), aliceUpdate()));
});
