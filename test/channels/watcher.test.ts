// LocalWatcher on the embedded chain with the real Ethereum backend: Mallory registers stale
// states of her channel with Carol, Carol's watcher refutes them with the latest one (online, and
// after downtime from the stored cursor), leaves a registration of the latest state alone, keeps
// going when the client's handler throws, back-fills a channel watched late, and takes a
// concurrent refutation in its stride. Synchronisation is by catchUp() or by events, never sleeps.
import { Wallet, parseEther } from 'ethers';
import { WatcherError } from '../../src/channels/errors.js';
import { EthereumAdjudicatorAdapter, EthereumEventSource } from '../../src/channels/ethereum/backend.js';
import type {
  Adjudicator,
  AdjudicatorEvent,
  AdjudicatorEventSource,
  SignedState,
} from '../../src/channels/interfaces.js';
import { MemoryChannelStore, TypeOrmChannelStore } from '../../src/channels/persistence/index.js';
import { LocalWatcher, type LocalWatcherOptions, type RefutationReport } from '../../src/channels/watcher.js';
import { ethChannel, next, signed, startWorld, type Party, type World } from '../ethereum/harness.js';

let world: World;
let mallory: Party;
let carol: Party;

beforeAll(async () => {
  world = await startWorld();
  mallory = world.party(1, 'Mallory');
  carol = world.party(2, 'Carol');
});
afterAll(() => world.stop());

/** Every watcher a test makes is closed after it, even when the test fails half-way. */
const open: LocalWatcher[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close()));
});
function watcherOf(options: LocalWatcherOptions): LocalWatcher {
  const w = new LocalWatcher(options);
  open.push(w);
  return w;
}

const ETH = parseEther('1');
const TENTH = parseEther('0.1');
/** Never fires during a test: scans happen on catchUp() unless a test says otherwise. */
const MANUAL = 600_000;

/** A Mallory–Carol channel (1 ETH each) and versions 0..`last`, all signed by both; Mallory pays 0.1 ETH per version. */
function channel(last = 5) {
  const { params, init } = ethChannel(world, mallory, carol, [ETH, ETH]);
  const versions: SignedState[] = [];
  for (let v = 0; v <= last; v++) {
    const s = next(init, BigInt(v), [ETH - BigInt(v) * TENTH, ETH + BigInt(v) * TENTH]);
    versions.push(signed(params, s, [mallory, carol]));
  }
  return { params, id: init.channelID, v: versions };
}

async function fund(ch: ReturnType<typeof channel>): Promise<void> {
  const req = { params: ch.params, state: ch.v[0]!.state };
  await Promise.all([mallory.funder.fund({ ...req, idx: 0 }), carol.funder.fund({ ...req, idx: 1 })]);
}

const events = () => new EthereumEventSource(world.chain.provider(), world.deployment.adjudicator);

/** Carol's adjudicator, recording every register it is asked for; `before` runs ahead of each. */
function carolAdjudicator(before?: (s: SignedState) => Promise<void>, receiver?: string) {
  const inner = new EthereumAdjudicatorAdapter(carol.adjudicator, carol.signer, receiver);
  const registered: bigint[] = [];
  const adj: Adjudicator = {
    register: async (ch, subs) => {
      registered.push(ch.state.version);
      await before?.(ch);
      return inner.register(ch, subs);
    },
    progress: (req) => inner.progress(req),
    conclude: (p, s, subs) => inner.conclude(p, s, subs),
    concludeFinal: (p, s, sigs) => inner.concludeFinal(p, s, sigs),
    withdraw: (p, s, idx) => inner.withdraw(p, s, idx),
    dispute: (id) => inner.dispute(id),
    now: () => inner.now(),
  };
  return { adj, registered };
}

/** Records events as [kind, version]. */
function recorder() {
  const seen: Array<[string, bigint]> = [];
  const onEvent = (e: AdjudicatorEvent) => {
    seen.push([e.kind, e.version]);
  };
  return { seen, onEvent };
}

const fresh = () => Wallet.createRandom().address;
const balanceOf = (a: string) => world.chain.provider().getBalance(a);

describe('LocalWatcher', () => {
  it('refutes Mallory’s registration of version 1 with version 5; Carol withdraws her version-5 balance', async () => {
    const ch = channel();
    await fund(ch);
    const receiver = fresh();
    const { adj, registered } = carolAdjudicator(undefined, receiver);
    const reports: RefutationReport[] = [];
    const errors: unknown[] = [];
    const watcher = watcherOf({
      events: events(),
      adjudicator: adj,
      pollIntervalMs: MANUAL,
      onRefutation: (r) => reports.push(r),
      onError: (e) => errors.push(e),
    });
    const { seen, onEvent } = recorder();
    const watched = await watcher.watch(ch.v[0]!, onEvent);
    for (const s of ch.v.slice(1)) watched.publish(s);
    watched.publish(ch.v[3]!); // older than what it has: ignored

    await mallory.adjudicator.register(ch.v[1]!);
    await watcher.catchUp();
    expect(registered).toEqual([5n]);
    expect(reports).toMatchObject([
      { channelID: ch.id, staleVersion: 1n, latestVersion: 5n, outcome: 'refuted' },
    ]);
    expect(seen).toEqual([['registered', 1n]]);
    const d = await adj.dispute(ch.id);
    expect(d).toMatchObject({ stage: 'dispute', version: 5n });
    expect(await adj.now()).toBeLessThan(d.timeout); // within the challenge duration

    // The watcher sees its own refutation and leaves it alone.
    await watcher.catchUp();
    expect(seen).toEqual([
      ['registered', 1n],
      ['registered', 5n],
    ]);
    expect(registered).toEqual([5n]);

    await world.chain.increaseTime(Number(ch.params.challengeDuration));
    await expect(mallory.adjudicator.conclude(ch.params, ch.v[1]!.state)).rejects.toThrow(/invalid state/);
    await adj.conclude(ch.params, ch.v[5]!.state);
    await watcher.catchUp();
    expect(seen.at(-1)).toEqual(['concluded', 5n]);

    const out = await adj.withdraw(ch.params, ch.v[5]!.state, 1);
    expect(out).toEqual([{ asset: 0, amount: ETH + 5n * TENTH }]);
    expect(await balanceOf(receiver)).toBe(ETH + 5n * TENTH);
    // Mallory can only take her version-5 share.
    const malloryReceiver = fresh();
    await mallory.adjudicator.withdraw(ch.params, ch.v[1]!.state, mallory.signer, malloryReceiver);
    expect(await balanceOf(malloryReceiver)).toBe(ETH - 5n * TENTH);
    expect(errors).toEqual([]);
  });

  it('after downtime, a new watcher resumes from the stored cursor (TypeORM) and refutes in time', async () => {
    const store = await TypeOrmChannelStore.open(':memory:');
    const ch = channel();
    await fund(ch);
    const fundedAt = await world.chain.provider().getBlockNumber();
    const { adj, registered } = carolAdjudicator();

    const before = watcherOf({ events: events(), adjudicator: adj, store, pollIntervalMs: MANUAL });
    await before.watch(ch.v[5]!, () => undefined);
    await before.catchUp();
    const stored = await store.getCursor();
    expect(stored).toBe(BigInt(before.cursor!));
    expect(stored).toBe(BigInt(fundedAt + 1)); // the next block to scan
    await before.close();

    // Carol is offline: blocks go by and Mallory registers version 2.
    await world.chain.mine(20);
    await mallory.adjudicator.register(ch.v[2]!);

    const source = events();
    const subscribedAt: number[] = [];
    const recording: AdjudicatorEventSource = {
      subscribe: (options) => {
        subscribedAt.push(options.fromBlock);
        return source.subscribe(options);
      },
      head: () => source.head(),
    };
    const reports: RefutationReport[] = [];
    const after = watcherOf({
      events: recording,
      adjudicator: adj,
      store,
      fromBlock: 0, // only used without a stored cursor
      pollIntervalMs: MANUAL,
      onRefutation: (r) => reports.push(r),
    });
    const { seen, onEvent } = recorder();
    await after.watch(ch.v[5]!, onEvent);
    await after.catchUp();
    expect(subscribedAt).toEqual([Number(stored)]); // one subscription, at the stored cursor, not block 0
    expect(after.origin).toBe(Number(stored));
    expect(seen).toEqual([['registered', 2n]]);
    expect(reports.map((r) => r.outcome)).toEqual(['refuted']);
    expect(registered).toEqual([5n]);
    const d = await adj.dispute(ch.id);
    expect(d.version).toBe(5n);
    expect(await adj.now()).toBeLessThan(d.timeout);
    expect(await store.getCursor()).toBe(BigInt(after.cursor!));
    expect(after.cursor!).toBeGreaterThan(Number(stored) + 20);

    await world.chain.increaseTime(Number(ch.params.challengeDuration));
    await expect(mallory.adjudicator.conclude(ch.params, ch.v[2]!.state)).rejects.toThrow(/invalid state/);
    await mallory.adjudicator.conclude(ch.params, ch.v[5]!.state);
    const receiver = fresh();
    await carol.adjudicator.withdraw(ch.params, ch.v[5]!.state, carol.signer, receiver);
    expect(await balanceOf(receiver)).toBe(ETH + 5n * TENTH);
    await after.close();
    await store.close();
  });

  it('does not refute a registration of the latest version (no transaction sent)', async () => {
    const ch = channel();
    const store = new MemoryChannelStore();
    const { adj, registered } = carolAdjudicator();
    const reports: RefutationReport[] = [];
    const watcher = watcherOf({
      events: events(),
      adjudicator: adj,
      store,
      pollIntervalMs: MANUAL,
      onRefutation: (r) => reports.push(r),
    });
    const { seen, onEvent } = recorder();
    await watcher.watch(ch.v[5]!, onEvent);
    const nonce = await world.chain.provider().getTransactionCount(carol.account);
    await mallory.adjudicator.register(ch.v[5]!);
    await watcher.catchUp();
    expect(seen).toEqual([['registered', 5n]]);
    expect(registered).toEqual([]);
    expect(reports).toEqual([]);
    expect(await world.chain.provider().getTransactionCount(carol.account)).toBe(nonce);
    expect(await store.getCursor()).toBe(BigInt(watcher.cursor!));
  });

  it('keeps watching (on its own timer) when the event handler throws', async () => {
    const ch = channel();
    const { adj, registered } = carolAdjudicator();
    const errors: unknown[] = [];
    const watcher = watcherOf({
      events: events(),
      adjudicator: adj,
      pollIntervalMs: 20,
      onError: (e) => errors.push(e),
    });
    const calls: Array<[string, bigint]> = [];
    let secondSeen!: (e: AdjudicatorEvent) => void;
    const second = new Promise<AdjudicatorEvent>((resolve) => (secondSeen = resolve));
    await watcher.watch(ch.v[5]!, async (e) => {
      calls.push([e.kind, e.version]);
      if (calls.length === 1) throw new Error('handler bug');
      secondSeen(e);
    });
    await mallory.adjudicator.register(ch.v[1]!);
    // The refutation went out before the handler threw; the timer delivers its event next.
    expect((await second).version).toBe(5n);
    expect(calls).toEqual([
      ['registered', 1n],
      ['registered', 5n],
    ]);
    expect(registered).toEqual([5n]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(WatcherError);
    expect(errors[0]).toMatchObject({ code: 'HANDLER_FAILED', cause: new Error('handler bug') });
  });

  it('back-fills a channel first watched after the shared scan passed its stale registration', async () => {
    const a = channel();
    const b = channel();
    const { adj, registered } = carolAdjudicator();
    const reports: RefutationReport[] = [];
    const watcher = watcherOf({
      events: events(),
      adjudicator: adj,
      pollIntervalMs: MANUAL,
      onRefutation: (r) => reports.push(r),
    });
    await watcher.watch(a.v[5]!, () => undefined);
    await mallory.adjudicator.register(b.v[1]!);
    await watcher.catchUp(); // scans past b's registration while b is not watched
    expect(registered).toEqual([]);

    const { seen, onEvent } = recorder();
    await watcher.watch(b.v[5]!, onEvent);
    expect(seen).toEqual([['registered', 1n]]);
    expect(reports).toMatchObject([{ channelID: b.id, outcome: 'refuted' }]);
    expect((await adj.dispute(b.id)).version).toBe(5n);
    await watcher.catchUp();
    expect(seen).toEqual([
      ['registered', 1n],
      ['registered', 5n],
    ]);
  });

  it('back-fills channels watched at the same time with one scan for all of them', async () => {
    const a = channel();
    const b = channel();
    const c = channel();
    const { adj, registered } = carolAdjudicator();
    const source = events();
    const scans: Array<string[] | undefined> = [];
    const counting: AdjudicatorEventSource = {
      subscribe: (o) => {
        scans.push(o.channelIDs === undefined ? undefined : [...o.channelIDs].map((id) => id.toLowerCase()));
        return source.subscribe(o);
      },
      head: () => source.head(),
    };
    const watcher = watcherOf({ events: counting, adjudicator: adj, pollIntervalMs: MANUAL });
    await watcher.watch(a.v[5]!, () => undefined);
    await mallory.adjudicator.register(b.v[1]!);
    await mallory.adjudicator.register(c.v[2]!);
    await watcher.catchUp();

    const seenB = recorder();
    const seenC = recorder();
    await Promise.all([watcher.watch(b.v[5]!, seenB.onEvent), watcher.watch(c.v[5]!, seenC.onEvent)]);
    expect(seenB.seen).toEqual([['registered', 1n]]);
    expect(seenC.seen).toEqual([['registered', 2n]]);
    expect(registered.sort()).toEqual([5n, 5n]);
    expect(scans).toEqual([[], [b.id.toLowerCase(), c.id.toLowerCase()]]);
  });

  it('does not fail when someone else refutes first and its register reverts', async () => {
    const ch = channel(6);
    // Carol's watcher only knows version 5; version 6 lands just before its register (which then reverts).
    const { adj, registered } = carolAdjudicator(async () => {
      await mallory.adjudicator.register(ch.v[6]!);
    });
    const reports: RefutationReport[] = [];
    const errors: unknown[] = [];
    const watcher = watcherOf({
      events: events(),
      adjudicator: adj,
      pollIntervalMs: MANUAL,
      onRefutation: (r) => reports.push(r),
      onError: (e) => errors.push(e),
    });
    const { seen, onEvent } = recorder();
    await watcher.watch(ch.v[5]!, onEvent);
    await mallory.adjudicator.register(ch.v[1]!);
    await watcher.catchUp();
    expect(registered).toEqual([5n]);
    expect(reports).toMatchObject([
      { outcome: 'already-refuted', dispute: { stage: 'dispute', version: 6n } },
    ]);
    expect(errors).toEqual([]);
    await watcher.catchUp();
    expect(seen).toEqual([
      ['registered', 1n],
      ['registered', 6n],
    ]);
    expect(registered).toEqual([5n]);
  });

  it('retries a failed refutation at the end of the scan and after later scans while the window is open', async () => {
    const ch = channel();
    let failures = 2;
    const { adj, registered } = carolAdjudicator(async () => {
      if (failures-- > 0) throw new Error('node unreachable');
    });
    const reports: RefutationReport[] = [];
    const errors: unknown[] = [];
    const watcher = watcherOf({
      events: events(),
      adjudicator: adj,
      pollIntervalMs: MANUAL,
      onRefutation: (r) => reports.push(r),
      onError: (e) => errors.push(e),
    });
    const { seen, onEvent } = recorder();
    await watcher.watch(ch.v[5]!, onEvent);
    await mallory.adjudicator.register(ch.v[1]!);
    await watcher.catchUp(); // the attempt on the event and the retry at the end of the scan both fail
    expect(reports.map((r) => r.outcome)).toEqual(['failed', 'failed']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ code: 'REFUTATION_FAILED', cause: new Error('node unreachable') });
    expect(seen).toEqual([['registered', 1n]]); // delivered after the attempt all the same

    await watcher.catchUp(); // no new event, but the owed refutation is retried
    expect(registered).toEqual([5n, 5n, 5n]);
    expect(reports.map((r) => r.outcome)).toEqual(['failed', 'failed', 'refuted']);
    expect((await adj.dispute(ch.id)).version).toBe(5n);
    await watcher.catchUp();
    expect(registered).toEqual([5n, 5n, 5n]);
    expect(seen).toEqual([
      ['registered', 1n],
      ['registered', 5n],
    ]);
  });

  it('reports a stale registration it can no longer refute (window closed, or concluded) without sending', async () => {
    const expired = channel();
    const concluded = channel();
    await mallory.adjudicator.register(expired.v[1]!);
    await mallory.adjudicator.register(concluded.v[1]!);
    await world.chain.increaseTime(Number(expired.params.challengeDuration));
    await mallory.adjudicator.conclude(concluded.params, concluded.v[1]!.state);

    const { adj, registered } = carolAdjudicator();
    const reports: RefutationReport[] = [];
    const watcher = watcherOf({
      events: events(),
      adjudicator: adj,
      fromBlock: 0, // Carol was offline for longer than the challenge duration
      pollIntervalMs: MANUAL,
      onRefutation: (r) => reports.push(r),
    });
    const a = recorder();
    const b = recorder();
    await watcher.watch(expired.v[5]!, a.onEvent);
    await watcher.watch(concluded.v[5]!, b.onEvent);
    await watcher.catchUp();
    expect(registered).toEqual([]);
    expect(reports).toMatchObject([
      { channelID: expired.id, outcome: 'expired', dispute: { stage: 'dispute', version: 1n } },
      { channelID: concluded.id, outcome: 'not-refutable', dispute: { stage: 'concluded', version: 1n } },
    ]);
    expect(a.seen).toEqual([['registered', 1n]]);
    expect(b.seen).toEqual([
      ['registered', 1n],
      ['concluded', 1n],
    ]);
  });

  it('refuses a second watch of a channel, a state of another channel and a state missing signatures', async () => {
    const ch = channel(2);
    const other = channel(0);
    const watcher = watcherOf({
      events: events(),
      adjudicator: carolAdjudicator().adj,
      pollIntervalMs: MANUAL,
    });
    const watched = await watcher.watch(ch.v[0]!, () => undefined);
    await expect(watcher.watch(ch.v[1]!, () => undefined)).rejects.toMatchObject({
      code: 'ALREADY_WATCHING',
    });
    expect(() => watched.publish(other.v[0]!)).toThrow(expect.objectContaining({ code: 'CHANNEL_MISMATCH' }));
    expect(() => watched.publish({ ...ch.v[2]!, sigs: [ch.v[2]!.sigs[0]!] })).toThrow(
      expect.objectContaining({ code: 'NOT_FULLY_SIGNED' }),
    );
    await watched.stop();
    expect(watcher.watching).toEqual([]);
    await watcher.watch(ch.v[1]!, () => undefined); // watchable again after stop
    await watcher.close();
    await expect(watcher.watch(other.v[0]!, () => undefined)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
