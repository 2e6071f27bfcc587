// Two agents that offer only HTTP endpoints: the lean path's carrier upgrades the connection to
// the peer's HTTP endpoint to a WebSocket, and the payments (updates and their accepts) go as
// frames on it, not one POST each. The lean path's checks are the same on that socket: a valid
// update of Alice's sent on a socket upgraded from Bob's endpoint under Mallory's sender key, or
// anoncrypted, is left to Credo's pipeline, which refuses it, and nothing in Bob's channel tables
// changes.
import { jest } from '@jest/globals';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { WebSocket } from 'ws';
import { FRAME_ACKS_PROTOCOL, ackStatus } from '../../src/agent/transport/frame-acks.js';
import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import type { Hex } from '../../src/channels/types.js';
import type { Envelope } from '../../src/protocols/perun/lean/index.js';
import { toPlaintext } from '../../src/protocols/perun/wire-format.js';
import { startWorld, type World } from '../ethereum/harness.js';
import {
  channelRows,
  closeSides,
  connect,
  httpEndpoint,
  malloryPacks,
  nextUpdate,
  openChannel,
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

const httpOf = (s: Side) =>
  s.agent.didcomm.inboundTransports.find((t) => t instanceof HttpInboundTransport) as HttpInboundTransport;

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

it('payments between agents offering only HTTP go on one upgraded socket, no POST each', async () => {
  const requests = { alice: 0, bob: 0 };
  const onAlice = () => requests.alice++;
  const onBob = () => requests.bob++;
  httpOf(alice).httpServer!.on('request', onAlice);
  httpOf(bob).httpServer!.on('request', onBob);
  const updates = bob.lean.get('processed channel-update') ?? 0;
  try {
    for (let i = 0; i < 3; i++) await bob.client.sendPayment(channel, 1n);
    for (let i = 0; i < 5; i++) await alice.client.sendPayment(channel, 1n);
  } finally {
    httpOf(alice).httpServer!.off('request', onAlice);
    httpOf(bob).httpServer!.off('request', onBob);
  }
  expect(requests).toEqual({ alice: 0, bob: 0 });
  expect(httpOf(bob).openSockets).toBeGreaterThanOrEqual(1);
  expect(bob.lean.get('processed channel-update')).toBe(updates + 5);
  expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
});

/**
 * Sends `envelope` as a frame on a socket upgraded from Bob's HTTP endpoint (`acks`: with
 * acknowledgements, as our carrier asks); Credo refuses it (the ack says so), nothing changes.
 */
async function refusedOnSocket(envelope: Envelope, acks: boolean): Promise<void> {
  const rows = await channelRows(bob);
  const state = bob.client.channel(channel).state;
  const lean = bob.lean.get('processed channel-update') ?? 0;
  const outcome = refusedOrTaken(bob, envelope);
  const url = httpEndpoint(bob).replace(/^http/, 'ws');
  const socket = acks ? new WebSocket(url, [FRAME_ACKS_PROTOCOL]) : new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const ack = new Promise<number | undefined>((resolve) =>
    socket.on('message', (data, isBinary) => {
      if (isBinary) resolve(ackStatus(data as Buffer));
    }),
  );
  try {
    socket.send(JSON.stringify(envelope));
    expect(await outcome).toBe('refused by Credo');
    if (acks) expect(await ack).toBeGreaterThanOrEqual(400);
  } finally {
    socket.close();
  }
  expect(bob.lean.get('processed channel-update') ?? 0).toBe(lean);
  expect(bob.client.channel(channel).state).toEqual(state);
  expect(await channelRows(bob)).toEqual(rows);
}

function aliceUpdate() {
  const { state, sig } = nextUpdate(alice, channel);
  return toPlaintext({ type: 'channel-update', state, actorIdx: 0, sig });
}

describe.each([
  ['with acknowledgements', true],
  ['without', false],
])('on an upgraded socket %s', (_, acks) => {
  it('a valid update under Mallory’s sender key is refused', async () => {
    await refusedOnSocket(await malloryPacks(mallory, aliceUpdate(), bob, ba, mb), acks);
  });

  it('a valid update anoncrypted to Bob’s key is refused', async () => {
    await refusedOnSocket(await malloryPacks(mallory, aliceUpdate(), bob, ba), acks);
  });
});
