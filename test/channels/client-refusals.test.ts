// Bob's client refuses bad updates from the wire: each crafted channel-update below is answered
// with a channel-update-reject carrying a typed code, Bob's stored channel does not change, and
// the channel keeps working afterwards.
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { ChannelMessage, ChannelUpdate, ChannelUpdateReject } from '../../src/channels/messages.js';
import type { State } from '../../src/channels/types.js';
import { MAX_VERSION_STEP } from '../../src/channels/validation.js';
import type { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { aliceBobMallory, open, waitForEvent, type Person } from './client-harness.js';

let world: World;
let bus: MemoryBus;
let alice: Person;
let bob: Person;
let mallory: Person;
let id: string;
/** The fully signed opening state (version 0). */
let opening: { state: State; sigs: string[] };

beforeAll(async () => {
  world = await startWorld();
  ({ bus, alice, bob, mallory } = await aliceBobMallory(world));
  id = await open(world, alice, bob, 100n, 100n);
  opening = (await alice.store.getChannel(id))!.current!;
  await alice.client.sendPayment(id, 10n);
});
afterAll(async () => {
  await Promise.all([alice, bob, mallory].map((p) => p.client.close()));
  await world.stop();
});

/** Sends `msg` from `from`'s wire to Bob and resolves with Bob's reply. */
async function toBob(from: Person, msg: ChannelMessage): Promise<ChannelMessage> {
  const wire = bus.connect(from.name);
  const reply = new Promise<ChannelMessage>((resolve) => {
    const off = wire.onMessage((sender, m) => {
      if (sender === 'bob') {
        off();
        resolve(m);
      }
    });
  });
  await wire.send('bob', msg);
  return reply;
}

/** The next version of the current state in which Alice pays Bob `amount`. */
function next(amount = 1n): State {
  const s = structuredClone(bob.client.channel(id).state!);
  s.version += 1n;
  s.outcome.balances[0]![0]! -= amount;
  s.outcome.balances[0]![1]! += amount;
  return s;
}

const signed = async (state: State, by: EthereumSigner = alice.party.signer): Promise<ChannelUpdate> => ({
  type: 'channel-update',
  state,
  actorIdx: 0,
  sig: await by.signState(state),
});

const rows: Array<[string, string, () => Promise<[Person, ChannelUpdate]>]> = [
  [
    'a signature by another key',
    'INVALID_SIGNATURE',
    async () => [alice, await signed(next(), EthereumSigner.random())],
  ],
  [
    'Bob’s own signature in Alice’s place',
    'INVALID_SIGNATURE',
    async () => [alice, await signed(next(), bob.party.signer)],
  ],
  [
    'a signature on a different state',
    'INVALID_SIGNATURE',
    async () => {
      const u = await signed(next(1n));
      return [alice, { ...u, state: next(2n) }];
    },
  ],
  [
    'a replay of the current version',
    'STALE_VERSION',
    async () => {
      const s = next();
      s.version -= 1n;
      return [alice, await signed(s)];
    },
  ],
  [
    'an older version',
    'STALE_VERSION',
    async () => {
      const s = next();
      s.version = 0n;
      return [alice, await signed(s)];
    },
  ],
  [
    'a version that skips beyond the largest step',
    'VERSION_GAP',
    async () => {
      const s = next();
      s.version += MAX_VERSION_STEP;
      return [alice, await signed(s)];
    },
  ],
  [
    'a total that is not conserved',
    'NOT_CONSERVED',
    async () => {
      const s = next();
      s.outcome.balances[0]![1]! += 5n;
      return [alice, await signed(s)];
    },
  ],
  [
    'a negative balance',
    'NEGATIVE_BALANCE',
    async () => {
      const u = await signed(next(1n));
      u.state.outcome.balances[0]![0] = -1n;
      return [alice, u];
    },
  ],
  [
    'a balance beyond uint256',
    'VALUE_TOO_LARGE',
    async () => {
      const u = await signed(next(1n));
      u.state.outcome.balances[0]![1] = 1n << 256n;
      return [alice, u];
    },
  ],
  ['an update taking Bob’s money', 'REFUSED', async () => [alice, await signed(next(-5n))]],
  [
    'another asset holder',
    'ASSET_MISMATCH',
    async () => {
      const s = next();
      s.outcome.assets[0]!.ethHolder = world.deployment.assetHolderERC20;
      return [alice, await signed(s)];
    },
  ],
  [
    'Alice claiming to be the actor at Bob’s index',
    'INVALID_ACTOR',
    async () => [alice, { ...(await signed(next())), actorIdx: 1 }],
  ],
  [
    'an unknown channel',
    'UNKNOWN_CHANNEL',
    async () => {
      const s = next();
      s.channelID = '0x' + '42'.repeat(32);
      return [alice, await signed(s)];
    },
  ],
  [
    'Alice’s valid update sent over Mallory’s connection',
    'NOT_PARTICIPANT',
    async () => [mallory, await signed(next())],
  ],
];

describe('Bob refuses', () => {
  it.each(rows)('%s with %s, changes nothing, and the channel still works', async (_, code, craft) => {
    const before = await bob.store.getChannel(id);
    const [sender, msg] = await craft();
    const reply = (await toBob(sender, msg)) as ChannelUpdateReject;
    expect(reply.type).toBe('channel-update-reject');
    expect(reply.code).toBe(code);
    const after = await bob.store.getChannel(id);
    expect({ ...after, updatedAt: 0 }).toEqual({ ...before, updatedAt: 0 });
    expect(bob.client.channel(id).state).toEqual(before!.current!.state);

    const v = before!.current!.state.version;
    await alice.client.sendPayment(id, 1n);
    expect(bob.client.channel(id).state!.version).toBe(v + 1n);
  });

  it('a duplicate delivery of an accepted update is answered again and has no second effect', async () => {
    const update = await signed(next(3n));
    const first = await toBob(alice, update);
    expect(first.type).toBe('channel-update-accept');
    const stored = await bob.store.getChannel(id);
    const events = bob.events.length;
    const second = await toBob(alice, update);
    expect(second).toEqual(first);
    expect({ ...(await bob.store.getChannel(id)), updatedAt: 0 }).toEqual({ ...stored, updatedAt: 0 });
    expect(bob.events.length).toBe(events);
    // Alice's client never saw this update (it was sent behind its back): a sync brings her up to date.
    const synced = waitForEvent(alice, 'updated', (e) => e.version === update.state.version);
    await alice.client.sync('bob');
    await synced;
    expect(alice.client.channel(id).state).toEqual(bob.client.channel(id).state);
    expect(ethereumBackend.channelId(alice.client.channel(id).params)).toBe(id);
  });
});

describe('sync', () => {
  it('an older state offered by the peer does not roll Bob back: he answers with his newer one', async () => {
    const before = await bob.store.getChannel(id);
    expect(before!.current!.state.version).toBeGreaterThan(0n);
    const reply = await toBob(alice, {
      type: 'channel-sync',
      phase: 'Acting',
      state: opening.state,
      sigs: opening.sigs,
    });
    // With the payments of the versions the peer missed, as Bob's log names them.
    const log = (await bob.store.listPayments({ channelId: id })).reverse();
    expect(log.length).toBeGreaterThan(0);
    expect(reply).toEqual({
      type: 'channel-sync',
      phase: 'Acting',
      ...before!.current,
      payments: log.map((r) => ({
        version: r.version,
        payer: r.payer,
        id: r.id,
        asset: r.asset,
        amount: r.amount,
      })),
    });
    expect({ ...(await bob.store.getChannel(id)), updatedAt: 0 }).toEqual({ ...before, updatedAt: 0 });
  });
});

// Last: it leaves the channel final (Bob then settles it on chain).
describe('a final channel', () => {
  it('an update of a final state is refused with NOT_ACTING', async () => {
    const final = structuredClone(bob.client.channel(id).state!);
    final.version += 1n;
    final.isFinal = true;
    const accepted = await toBob(alice, await signed(final));
    expect(accepted.type).toBe('channel-update-accept');
    const after = structuredClone(final);
    after.version += 1n;
    after.isFinal = false;
    const reply = (await toBob(alice, await signed(after))) as ChannelUpdateReject;
    expect(reply.code).toBe('NOT_ACTING');
  });
});
