// Channel client scenarios on the embedded chain with the real Ethereum backend and the
// in-memory wire: opening, payments both ways, cooperative close to the wei, simultaneous
// updates, proposals that are refused, and a peer that never funds.
import { parseEther } from 'ethers';
import { ChannelClientError, FundingTimeoutError } from '../../src/channels/errors.js';
import type { Funder } from '../../src/channels/interfaces.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { ethAllocation, ethBalance, makeClient, open, waitForEvent, type Person } from './client-harness.js';

let world: World;
let bus: MemoryBus;
let people: Person[] = [];
let nextAccount = 1;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());
beforeEach(() => {
  bus = new MemoryBus();
  people = [];
});
afterEach(async () => {
  await Promise.all(people.map((p) => p.client.close()));
});

async function person(name: string, overrides: Parameters<typeof makeClient>[4] = {}): Promise<Person> {
  // Dev accounts 1-8 are reused round robin (every test opens channels of its own).
  const p = makeClient(world, bus, world.party(nextAccount, name), name, overrides);
  nextAccount = (nextAccount % 8) + 1;
  await p.client.start();
  people.push(p);
  return p;
}

describe('Alice and Bob', () => {
  it('open a channel, make 200 payments in both directions and close; on-chain balances equal the last state to the wei', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const id = await open(world, alice, bob, parseEther('5'), parseEther('3'));
    expect(alice.client.channel(id).phase).toBe('Acting');
    expect(bob.client.channel(id).phase).toBe('Acting');

    let a = parseEther('5');
    let b = parseEther('3');
    for (let i = 1; i <= 200; i++) {
      const amount = BigInt(i) * 1_000_000_007n;
      if (i % 3 === 0) {
        await bob.client.sendPayment(id, amount);
        b -= amount;
        a += amount;
      } else {
        await alice.client.sendPayment(id, amount);
        a -= amount;
        b += amount;
      }
    }
    const last = alice.client.channel(id).state!;
    expect(last.version).toBe(200n);
    expect(last.outcome.balances[0]).toEqual([a, b]);
    expect(bob.client.channel(id).state).toEqual(last);
    expect(bob.events.filter((e) => e.type === 'payment-received')).toHaveLength(134);

    const withdrawn = await alice.client.settle(id);
    expect(withdrawn).toEqual([{ asset: 0, amount: a }]);
    await bob.client.settlement(id);
    await waitForEvent(bob, 'settled', (e) => e.channelId === id);
    expect(await ethBalance(world, alice.receiver)).toBe(a);
    expect(await ethBalance(world, bob.receiver)).toBe(b);
    expect(alice.client.channel(id).phase).toBe('Withdrawn');
    expect(bob.client.channel(id).phase).toBe('Withdrawn');
    expect((await alice.store.getChannel(id))?.phase).toBe('Withdrawn');
  });

  it('pay each other at the same moment: both payments go through, participant 0’s first', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const id = await open(world, alice, bob, 100n, 100n);
    for (let round = 0; round < 10; round++) {
      await Promise.all([alice.client.sendPayment(id, 3n), bob.client.sendPayment(id, 5n)]);
    }
    const s = alice.client.channel(id).state!;
    // Two updates a round; a collision uses up one version more (the one both signed a state of),
    // and after one the turns alternate.
    expect(s.version).toBeGreaterThanOrEqual(20n);
    expect(s.version).toBeLessThanOrEqual(30n);
    expect(s.outcome.balances[0]).toEqual([120n, 80n]);
    expect(bob.client.channel(id).state).toEqual(s);
  });

  it('Alice pays the moment her side is funded, before Bob’s funder has noticed: Bob waits for his funding and accepts', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const bobs: { funder?: Funder } = {};
    const slowFunder: Funder = {
      fund: async (req, o) => {
        await bobs.funder!.fund(req, o);
        await held;
      },
    };
    const alice = await person('alice');
    const bob = await person('bob', { funder: slowFunder });
    bobs.funder = bob.party.funder;
    // Bob's funder finishes only after the payment reached him (the bus delivers on the next
    // turn of the event loop; this releases one turn later).
    bus.setFilter((from, to, msg) => {
      if (msg.type === 'channel-update') setImmediate(() => setImmediate(release));
      return msg;
    });
    const info = await alice.client.proposeChannel({
      peer: 'bob',
      peerAddress: bob.party.signer.address,
      allocation: ethAllocation(world, 100n, 0n),
      challengeDuration: 60n,
    });
    expect(bob.client.channel(info.id).phase).toBe('Funding');
    await alice.client.sendPayment(info.id, 7n);
    expect(bob.client.channel(info.id).state!.outcome.balances[0]).toEqual([93n, 7n]);
    bus.setFilter(undefined);
  });

  it('a second local update waits for the first instead of failing', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const id = await open(world, alice, bob, 100n, 0n);
    await Promise.all(Array.from({ length: 10 }, () => alice.client.sendPayment(id, 1n)));
    expect(bob.client.channel(id).state!.outcome.balances[0]).toEqual([90n, 10n]);
  });
});

describe('proposals', () => {
  it('Bob rejects Alice’s proposal: she gets PROPOSAL_REJECTED with his reason and nobody stores a channel', async () => {
    const alice = await person('alice');
    const bob = await person('bob', { onProposal: () => ({ accept: false, reason: 'not today' }) });
    const err = await alice.client
      .proposeChannel({
        peer: 'bob',
        peerAddress: bob.party.signer.address,
        allocation: ethAllocation(world, 1n, 1n),
        challengeDuration: 60n,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelClientError);
    expect(err).toMatchObject({ code: 'PROPOSAL_REJECTED', details: { reason: 'not today' } });
    expect(await alice.store.listChannels()).toEqual([]);
    expect(await bob.store.listChannels()).toEqual([]);
  });

  it('a proposal naming someone else’s address for Bob is refused before his handler runs', async () => {
    const alice = await person('alice');
    let asked = 0;
    await person('bob', { onProposal: () => (asked++, { accept: true }) });
    const err = await alice.client
      .proposeChannel({
        peer: 'bob',
        peerAddress: world.party(9, 'someone').signer.address,
        allocation: ethAllocation(world, 1n, 1n),
        challengeDuration: 60n,
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'PROPOSAL_REJECTED',
      details: { reason: 'participant 1 is not our address' },
    });
    expect(asked).toBe(0);
  });

  it('an invalid request is refused locally with INVALID_REQUEST', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    await expect(
      alice.client.proposeChannel({
        peer: 'bob',
        peerAddress: bob.party.signer.address,
        allocation: ethAllocation(world, -1n, 1n),
        challengeDuration: 60n,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(bus.sent).toBe(0);
  });
});

describe('proposal flood', () => {
  it('Bob takes two proposals a minute from Alice; the third is refused before his handler runs', async () => {
    const alice = await person('alice');
    let asked = 0;
    const bob = await person('bob', {
      proposalsPerMinute: 2,
      onProposal: () => (asked++, { accept: false, reason: 'no' }),
    });
    const propose = () =>
      alice.client
        .proposeChannel({
          peer: 'bob',
          peerAddress: bob.party.signer.address,
          allocation: ethAllocation(world, 1n, 1n),
          challengeDuration: 60n,
        })
        .then(
          () => undefined,
          (e: unknown) => e as ChannelClientError,
        );
    expect((await propose())?.details).toMatchObject({ reason: 'no' });
    expect((await propose())?.details).toMatchObject({ reason: 'no' });
    expect((await propose())?.details).toMatchObject({ reason: 'too many proposals; try again later' });
    expect(asked).toBe(2);
  });
});

describe('Fred and Frida', () => {
  it('Frida never funds; after the funding timeout Fred gets his deposit back', async () => {
    // Frida signs the opening but never deposits: her funding waits until she shuts down.
    const neverFunds: Funder = {
      fund: (_req, opts) =>
        new Promise((_, reject) =>
          opts?.signal?.addEventListener('abort', () => reject(opts.signal?.reason)),
        ),
    };
    const fred = await person('fred', { fundingTimeoutMs: 1_500 });
    const frida = await person('frida', { funder: neverFunds });
    const err = await fred.client
      .proposeChannel({
        peer: 'frida',
        peerAddress: frida.party.signer.address,
        allocation: ethAllocation(world, parseEther('2'), parseEther('1')),
        challengeDuration: 30n,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FundingTimeoutError);
    const [channel] = fred.client.channels();
    const registered = await waitForEvent(fred, 'registered', (e) => e.channelId === channel!.id);
    expect(registered.version).toBe(0n);
    await world.chain.increaseTime(31);
    expect(await fred.client.settlement(channel!.id)).toEqual([{ asset: 0, amount: parseEther('2') }]);
    expect(await ethBalance(world, fred.receiver)).toBe(parseEther('2'));
    expect(fred.client.channel(channel!.id).phase).toBe('Withdrawn');
  });
});
