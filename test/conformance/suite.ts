// One definition of the channel scenarios every backend must pass (go-perun's backend test
// pattern): a backend file hands in how to start its chain and make parties, and gets the same
// tests: open, pay and close cooperatively; a dispute in which the peer registers a stale state
// and the watcher refutes it; a channel the peer never funds. Each runs ChannelClients on the
// in-process wire; amounts are checked to the base unit at the receivers.
import { ChannelClient, type ClientEvent } from '../../src/channels/client.js';
import { ChainError } from '../../src/channels/errors.js';
import type {
  Adjudicator,
  AdjudicatorEventSource,
  ChannelBackend,
  Funder,
  Signer,
} from '../../src/channels/interfaces.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import type { Allocation } from '../../src/channels/types.js';
import { LocalWatcher } from '../../src/channels/watcher.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';

/** One participant on the backend under test: its key, and calls sent from its own account. */
export interface ConformanceParty {
  signer: Signer;
  funder: Funder;
  /** Withdraws to a receiver of this party's own that holds nothing else. */
  adjudicator: Adjudicator;
  events: AdjudicatorEventSource;
  /** What the receiver holds. */
  received(): Promise<bigint>;
}

export interface ConformanceBackend {
  name: string;
  backend: ChannelBackend;
  /** A base unit's worth of the asset the scenarios move (1 ETH, 1 TON). */
  unit: bigint;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Party `i` (distinct keys and accounts per i). */
  party(i: number): Promise<ConformanceParty>;
  /** The channel's one asset, the proposer holding `a` and the responder `b`. */
  allocation(a: bigint, b: bigint): Allocation;
  /** Moves the chain clock forward. */
  advance(seconds: number): Promise<void>;
}

interface Person {
  name: string;
  party: ConformanceParty;
  client: ChannelClient;
  events: ClientEvent[];
}

function waitFor(p: Person, match: (e: ClientEvent) => boolean): Promise<ClientEvent> {
  const seen = p.events.find(match);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const on = (e: ClientEvent) => {
      if (!match(e)) return;
      p.client.off('event', on);
      resolve(e);
    };
    p.client.on('event', on);
  });
}

export function conformanceSuite(make: () => ConformanceBackend): void {
  const b = make();
  const people: Person[] = [];
  const watchers: LocalWatcher[] = [];
  let next = 1;

  beforeAll(() => b.start(), 60_000);
  afterAll(async () => {
    await Promise.all(people.map((p) => p.client.close()));
    await Promise.all(watchers.map((w) => w.close()));
    await b.stop();
  });

  async function person(
    bus: MemoryBus,
    name: string,
    o: { watch?: boolean; funder?: Funder } = {},
  ): Promise<Person> {
    const party = await b.party(next++);
    const store = new MemoryChannelStore();
    let watcher: LocalWatcher | undefined;
    if (o.watch === true) {
      watcher = new LocalWatcher({
        events: party.events,
        adjudicator: party.adjudicator,
        store,
        pollIntervalMs: 20,
      });
      watchers.push(watcher);
    }
    const client = new ChannelClient({
      wire: bus.connect(name),
      signer: party.signer,
      backend: b.backend,
      funder: o.funder ?? party.funder,
      adjudicator: party.adjudicator,
      store,
      watcher,
      responseTimeoutMs: 5_000,
      fundingTimeoutMs: 2_000,
      chainPollMs: 20,
      concludeWaitMs: 500,
      onProposal: () => ({ accept: true }),
    });
    const p: Person = { name, party, client, events: [] };
    client.on('event', (e: ClientEvent) => p.events.push(e));
    people.push(p);
    await client.start();
    return p;
  }

  async function open(proposer: Person, responder: Person, a: bigint, c: bigint, challengeDuration = 60n) {
    const info = await proposer.client.proposeChannel({
      peer: responder.name,
      peerAddress: responder.party.signer.address,
      allocation: b.allocation(a, c),
      challengeDuration,
    });
    await waitFor(responder, (e) => e.type === 'opened' && e.channelId === info.id);
    return info.id;
  }

  test(`${b.name}: open, pay both ways, close cooperatively`, async () => {
    const bus = new MemoryBus();
    const [alice, bob] = [await person(bus, 'alice'), await person(bus, 'bob')];
    const u = b.unit;
    const id = await open(alice, bob, 3n * u, 2n * u);
    await alice.client.sendPayment(id, u);
    await bob.client.sendPayment(id, u / 2n);
    await alice.client.sendPayment(id, u / 4n);
    const expectA = 3n * u - u + u / 2n - u / 4n;
    const expectB = 5n * u - expectA;
    expect(bob.client.channel(id).state!.outcome.balances[0]).toEqual([expectA, expectB]);
    expect(await alice.client.settle(id)).toEqual([{ asset: 0, amount: expectA }]);
    // the peer settles on its own once it signed the final state
    expect(await bob.client.settlement(id)).toEqual([{ asset: 0, amount: expectB }]);
    expect(await alice.party.received()).toBe(expectA);
    expect(await bob.party.received()).toBe(expectB);
    expect(alice.client.channel(id).phase).toBe('Withdrawn');
  });

  test(`${b.name}: the peer registers a stale state; the watcher refutes it and the latest state settles`, async () => {
    const bus = new MemoryBus();
    const carol = await person(bus, 'carol', { watch: true });
    const mallory = await person(bus, 'mallory');
    const u = b.unit;
    const id = await open(mallory, carol, 2n * u, u, 30n);
    const opening = mallory.client.channel(id).state!;
    const openingSigs = await (async () => {
      // both signatures of the opening state, as Mallory keeps them
      const sigA = await mallory.party.signer.signState(opening);
      const sigB = await carol.party.signer.signState(opening);
      return [sigA, sigB];
    })();
    for (let i = 0; i < 4; i++) await mallory.client.sendPayment(id, u / 4n);
    const params = carol.client.channel(id).params;
    await mallory.party.adjudicator.register({ params, state: opening, sigs: openingSigs });

    const seen = await waitFor(
      carol,
      (e) => e.type === 'registered' && e.channelId === id && e.by === 'chain',
    );
    expect(seen).toMatchObject({ version: 0n });
    await waitFor(carol, (e) => e.type === 'phase' && e.channelId === id && e.to === 'Registered');
    expect((await carol.party.adjudicator.dispute(id)).version).toBe(carol.client.channel(id).state!.version);

    await b.advance(31);
    expect(await carol.client.settlement(id)).toEqual([{ asset: 0, amount: 2n * u }]);
    expect(await carol.party.received()).toBe(2n * u);
    await expect(mallory.party.adjudicator.conclude(params, opening)).rejects.toThrow();
    expect(await mallory.party.adjudicator.withdraw(params, opening, 0)).toEqual([{ asset: 0, amount: u }]);
    expect(await mallory.party.received()).toBe(u);
  });

  test(`${b.name}: a peer that never funds: the funding times out and our deposit comes back by dispute`, async () => {
    const bus = new MemoryBus();
    const never: Funder = {
      fund: () => Promise.reject(new ChainError('this peer never deposits')),
    };
    const dan = await person(bus, 'dan');
    const eve = await person(bus, 'eve', { funder: never });
    const u = b.unit;
    const proposed = dan.client.proposeChannel({
      peer: 'eve',
      peerAddress: eve.party.signer.address,
      allocation: b.allocation(u, u),
      challengeDuration: 20n,
    });
    const failed = await waitFor(dan, (e) => e.type === 'funding-failed');
    expect(failed).toMatchObject({ error: { code: 'FUNDING_TIMEOUT' } });
    await expect(proposed).rejects.toMatchObject({ code: 'FUNDING_TIMEOUT' });
    const id = (failed as Extract<ClientEvent, { type: 'funding-failed' }>).channelId;
    await waitFor(dan, (e) => e.type === 'registered' && e.channelId === id && e.by === 'us');
    await b.advance(21);
    expect(await dan.client.settlement(id)).toEqual([{ asset: 0, amount: u }]);
    expect(await dan.party.received()).toBe(u);
  });
}
