// A socket our carrier upgraded from the peer's HTTP endpoint is the return route of each message's
// answer only. Alice's carrier upgrades to Bob's endpoint, Bob's posts: Alice's updates go as
// frames and Bob's accepts come back on her socket (no request at Bob's endpoint), while Bob's own
// updates go to Alice's endpoint, one POST each, never on her socket (where she is reached through
// a mediator, that keeps them going through it), also while Bob holds the answer to one of hers,
// and also where Credo's pipeline takes the frames (Carol, without the lean path).
import { jest } from '@jest/globals';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import { PerunLeanEventTypes } from '../../src/protocols/perun/lean/index.js';
import type { Hex } from '../../src/channels/types.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { closeSides, connect, openChannel, side, type Side } from './lean-support.js';

jest.setTimeout(60_000);

let world: World;
let alice: Side;
let bob: Side;
/** An agent without the lean path: Credo's pipeline takes Alice's frames. */
let carol: Side;
let withCarol: Hex;
let ab: DidCommConnectionRecord;
let channel: Hex;
let second: Hex;
/** While set, Bob decides on Alice's updates only once it resolves. */
let bobDecides: Promise<void> | undefined;

const httpOf = (s: Side) =>
  s.agent.didcomm.inboundTransports.find((t) => t instanceof HttpInboundTransport) as HttpInboundTransport;

beforeAll(async () => {
  world = await startWorld();
  alice = await side(world, 'Alice', 1);
  bob = await side(world, 'Bob', 2, {
    upgrade: false,
    onUpdate: async () => {
      await bobDecides;
      return { accept: true };
    },
  });
  [ab] = await connect(alice, bob);
  channel = await openChannel(world, alice, bob, ab);
  second = await openChannel(world, alice, bob, ab);
  carol = await side(world, 'Carol', 3, { lean: false });
  const [ac] = await connect(alice, carol);
  withCarol = await openChannel(world, alice, carol, ac);
  await alice.client.sendPayment(channel, 1n);
}, 120_000);

afterAll(async () => {
  await closeSides([alice, bob, carol]);
  await world.stop();
});

/** POSTs each agent's HTTP endpoint receives while `run` runs (`bob`: Bob's and Carol's). */
async function requestsDuring(run: () => Promise<void>): Promise<{ alice: number; bob: number }> {
  const requests = { alice: 0, bob: 0 };
  const onAlice = () => requests.alice++;
  const onBob = () => requests.bob++;
  httpOf(alice).httpServer!.on('request', onAlice);
  httpOf(bob).httpServer!.on('request', onBob);
  httpOf(carol).httpServer!.on('request', onBob);
  try {
    await run();
  } finally {
    httpOf(alice).httpServer!.off('request', onAlice);
    httpOf(bob).httpServer!.off('request', onBob);
    httpOf(carol).httpServer!.off('request', onBob);
  }
  return requests;
}

it('the payer’s updates go on its socket and their accepts come back on it', async () => {
  const requests = await requestsDuring(async () => {
    for (let i = 0; i < 3; i++) await alice.client.sendPayment(channel, 1n);
  });
  expect(requests).toEqual({ alice: 0, bob: 0 });
  expect(httpOf(bob).openSockets).toBe(1);
  expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
});

it('the payee’s own updates go to the payer’s endpoint, not on the payer’s socket', async () => {
  const processed = alice.lean.get('processed channel-update') ?? 0;
  const requests = await requestsDuring(async () => {
    for (let i = 0; i < 3; i++) await bob.client.sendPayment(channel, 1n);
  });
  expect(requests).toEqual({ alice: 3, bob: 0 });
  expect(alice.lean.get('processed channel-update')).toBe(processed + 3);
  expect(httpOf(alice).openSockets).toBe(0);
  expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
});

it('after the payee’s updates, the payer’s socket still carries the payer’s updates and their answers', async () => {
  const requests = await requestsDuring(async () => {
    for (let i = 0; i < 2; i++) await alice.client.sendPayment(channel, 1n);
  });
  expect(requests).toEqual({ alice: 0, bob: 0 });
  expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
});

it('an update of the payee’s sent while it holds the answer to the payer’s goes to the payer’s endpoint', async () => {
  let decide!: () => void;
  bobDecides = new Promise<void>((resolve) => (decide = resolve));
  const held = new Promise<void>((resolve) => {
    const on = () => {
      bob.agent.events.off(PerunLeanEventTypes.MessageProcessed, on);
      resolve();
    };
    bob.agent.events.on(PerunLeanEventTypes.MessageProcessed, on);
  });
  const alicePays = alice.client.sendPayment(channel, 1n);
  await held;
  // Alice's update on the first channel waits for Bob's decision, its return route open; Bob
  // pays on the second meanwhile.
  const requests = await requestsDuring(async () => {
    await bob.client.sendPayment(second, 1n);
  });
  bobDecides = undefined;
  decide();
  await alicePays;
  expect(requests).toEqual({ alice: 1, bob: 0 });
  expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
  expect(bob.client.channel(second).state).toEqual(alice.client.channel(second).state);
});

it('where Credo’s pipeline takes the frames, the payee’s own updates go to the payer’s endpoint too', async () => {
  await alice.client.sendPayment(withCarol, 1n);
  expect(httpOf(carol).openSockets).toBe(1);
  const requests = await requestsDuring(async () => {
    for (let i = 0; i < 3; i++) await carol.client.sendPayment(withCarol, 1n);
  });
  expect(requests).toEqual({ alice: 3, bob: 0 });
  expect(carol.client.channel(withCarol).state).toEqual(alice.client.channel(withCarol).state);
});
