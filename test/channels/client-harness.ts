// A test world for channel clients: the embedded chain with the contracts (test/ethereum
// harness), an in-memory bus, and named clients on the real Ethereum backend, each withdrawing
// to a fresh receiver address so on-chain balances can be compared to the wei.
import { Wallet } from 'ethers';
import { ChannelClient, type ChannelClientOptions, type ClientEvent } from '../../src/channels/client.js';
import {
  EthereumAdjudicatorAdapter,
  EthereumEventSource,
  ethereumBackend,
} from '../../src/channels/ethereum/backend.js';
import { ethAsset, ETH_BACKEND_ID } from '../../src/channels/ethereum/encoding.js';
import type { Adjudicator, Funder } from '../../src/channels/interfaces.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import type { ChannelStore } from '../../src/channels/store.js';
import type { Allocation } from '../../src/channels/types.js';
import { LocalWatcher } from '../../src/channels/watcher.js';
import { MemoryBus } from '../../src/channels/wire/memory.js';
import { credentialPaymentApp } from '../../src/channels/ethereum/apps/credential-payment.js';
import { startWorld, type Party, type World } from '../ethereum/harness.js';

export interface Person {
  name: string;
  party: Party;
  client: ChannelClient;
  store: ChannelStore;
  /** Where this person's withdrawals go (empty before the first one). */
  receiver: string;
  events: ClientEvent[];
}

export type ClientOverrides = Partial<Omit<ChannelClientOptions, 'wire' | 'backend' | 'adjudicator'>>;

export function makeClient(
  world: World,
  bus: MemoryBus,
  party: Party,
  name: string,
  overrides: ClientOverrides & {
    receiver?: string;
    funder?: Funder;
    /** Wraps the person's adjudicator (a chain that answers in its own way). */
    adjudicator?: (real: Adjudicator) => Adjudicator;
  } = {},
): Person {
  const receiver = overrides.receiver ?? Wallet.createRandom().address;
  const store = overrides.store ?? new MemoryChannelStore();
  const { adjudicator: wrap = (a: Adjudicator) => a, ...rest } = overrides;
  const client = new ChannelClient({
    wire: bus.connect(name),
    signer: overrides.signer ?? party.signer,
    backend: ethereumBackend,
    funder: overrides.funder ?? party.funder,
    adjudicator: wrap(new EthereumAdjudicatorAdapter(party.adjudicator, party.signer, receiver)),
    responseTimeoutMs: 5_000,
    chainPollMs: 20,
    concludeWaitMs: 2_000,
    onProposal: () => ({ accept: true }),
    ...rest,
    store,
  });
  const events: ClientEvent[] = [];
  client.on('event', (e: ClientEvent) => events.push(e));
  return { name, party, client, store, receiver, events };
}

/**
 * Alice, Bob and Mallory (parties 1, 2, 3), started, on a bus that hands messages over as objects,
 * so a client's own checks meet every crafted value (the JSON decoder in front of a real transport
 * is tested on its own, in messages.test.ts).
 */
export async function aliceBobMallory(
  world: World,
): Promise<{ bus: MemoryBus; alice: Person; bob: Person; mallory: Person }> {
  const bus = new MemoryBus({ serialize: false });
  const [alice, bob, mallory] = ['Alice', 'Bob', 'Mallory'].map((name, i) =>
    makeClient(world, bus, world.party(i + 1, name), name.toLowerCase()),
  ) as [Person, Person, Person];
  await Promise.all([alice, bob, mallory].map((p) => p.client.start()));
  return { bus, alice, bob, mallory };
}

/** Resolves with the first event (already seen or future) that matches. */
export function waitForEvent<T extends ClientEvent['type']>(
  p: Person,
  type: T,
  match: (e: Extract<ClientEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<ClientEvent, { type: T }>> {
  const hit = (e: ClientEvent): e is Extract<ClientEvent, { type: T }> =>
    e.type === type && match(e as Extract<ClientEvent, { type: T }>);
  const seen = p.events.find(hit);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const on = (e: ClientEvent) => {
      if (hit(e)) {
        p.client.off('event', on);
        resolve(e);
      }
    };
    p.client.on('event', on);
  });
}

/** A one-asset ETH allocation: the proposer holds `a`, the responder `b`. */
export function ethAllocation(world: World, a: bigint, b: bigint): Allocation {
  return {
    assets: [ethAsset(world.chainId, world.deployment.assetHolderETH)],
    backends: [ETH_BACKEND_ID],
    balances: [[a, b]],
    locked: [],
  };
}

/** `proposer` opens a channel with `responder`; resolves once both sides have it open. */
export async function open(
  world: World,
  proposer: Person,
  responder: Person,
  a: bigint,
  b: bigint,
  challengeDuration = 60n,
) {
  const info = await proposer.client.proposeChannel({
    peer: responder.name,
    peerAddress: responder.party.signer.address,
    allocation: ethAllocation(world, a, b),
    challengeDuration,
  });
  await waitForEvent(responder, 'opened', (e) => e.channelId === info.id);
  return info.id;
}

export const ethBalance = (world: World, address: string) => world.chain.provider().getBalance(address);

/** A watcher for `party`'s channels in `store`, polling the chain every 50 ms; added to `watchers`, which the caller closes. */
export function watcherFor(
  world: World,
  party: Party,
  store: ChannelStore,
  watchers: LocalWatcher[],
): LocalWatcher {
  const w = new LocalWatcher({
    events: new EthereumEventSource(world.chain.provider(), world.deployment.adjudicator, {
      pollIntervalMs: 50,
    }),
    adjudicator: new EthereumAdjudicatorAdapter(party.adjudicator, party.signer),
    store,
    pollIntervalMs: 50,
  });
  watchers.push(w);
  return w;
}

/**
 * The embedded chain for one test file (started before its tests, stopped after them with every
 * client and watcher made through `person`), and `person`: a client with the credential-payment
 * app and a watcher on its own store (or `o.store`).
 */
export function appWorld(): {
  world: () => World;
  person: (bus: MemoryBus, i: number, name: string, o?: ClientOverrides & { receiver?: string }) => Person;
  watchers: LocalWatcher[];
} {
  let world: World | undefined;
  const watchers: LocalWatcher[] = [];
  const people: Person[] = [];
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await Promise.all(people.map((p) => p.client.close()));
    await Promise.all(watchers.map((w) => w.close()));
    await world?.stop();
  });
  const get = (): World => world!;
  return {
    world: get,
    watchers,
    person: (bus, i, name, o = {}) => {
      const party = get().party(i, name);
      const store = o.store ?? new MemoryChannelStore();
      const p = makeClient(get(), bus, party, name.toLowerCase(), {
        apps: [credentialPaymentApp(get().deployment.credentialPaymentApp)],
        store,
        watcher: watcherFor(get(), party, store, watchers),
        ...o,
      });
      people.push(p);
      return p;
    },
  };
}
