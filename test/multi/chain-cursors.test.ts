// One watcher cursor per chain in the ChannelStore (memory, SQLite and, with DATABASE_URL, the
// PostgreSQL path): chains keep their cursors apart from each other, from the global cursor and
// from channels; the primary chain takes over the global cursor of a single-chain agent. A
// multi-ledger watcher restarted on its SQLite file resumes each chain from that chain's own
// cursor and refutes a registration made on chain B while it was down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import { InvalidRecordError } from '../../src/channels/persistence/errors.js';
import { isPostgresUrl } from '../../src/channels/persistence/datasource.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { Ledgers, MultiLedgerWatcher, storedChainCursors } from '../../src/channels/multi/index.js';
import type { ChannelStore } from '../../src/channels/store.js';
import type { RefutationReport } from '../../src/channels/watcher.js';
import { CHAIN_IDS, open, until, useTwoChains } from './harness.js';

const [A, B] = CHAIN_IDS;
const E = parseEther('1');

const stores: Array<[string, () => Promise<ChannelStore>]> = [
  ['memory', async () => new MemoryChannelStore()],
  ['SQLite', () => TypeOrmChannelStore.open(':memory:')],
];
const pg = process.env.DATABASE_URL;
if (pg !== undefined && isPostgresUrl(pg)) stores.push(['PostgreSQL', () => TypeOrmChannelStore.open(pg)]);

describe.each(stores)('chain cursors in the %s store', (_name, openStore) => {
  let store: ChannelStore;
  beforeEach(async () => {
    store = await openStore();
  });
  afterEach(() => store.close());

  test('each chain keeps its own cursor, apart from the global one', async () => {
    expect(await store.getChainCursor(A)).toBeNull();
    await store.setCursor(7n);
    await store.setChainCursor(11n, A);
    await store.setChainCursor(23n, B);
    await store.setChainCursor(12n, A);
    expect([await store.getCursor(), await store.getChainCursor(A), await store.getChainCursor(B)]).toEqual([
      7n,
      12n,
      23n,
    ]);
    await expect(store.setChainCursor(-1n, A)).rejects.toThrow(InvalidRecordError);
    await expect(store.getChainCursor(-1n)).rejects.toThrow(InvalidRecordError);
  });

  test('the primary chain starts from the global cursor and keeps it in step; the others do not', async () => {
    await store.setCursor(40n);
    const cursors = storedChainCursors(store, A);
    expect(await cursors(A).getCursor()).toBe(40n);
    expect(await cursors(B).getCursor()).toBeNull();
    await cursors(A).setCursor(45n);
    await cursors(B).setCursor(9n);
    expect([await store.getCursor(), await store.getChainCursor(A), await store.getChainCursor(B)]).toEqual([
      45n,
      45n,
      9n,
    ]);
  });
});

const chains = useTwoChains();

test('a restarted multi-ledger watcher resumes each chain from its own cursor and refutes on chain B', async () => {
  const w = chains();
  const dir = mkdtempSync(join(tmpdir(), 'chain-cursors-'));
  const file = join(dir, 'carol.sqlite');
  try {
    const carol = await w.person('carol');
    const mallory = await w.person('mallory');
    const id = await open(w, mallory, carol, [2n * E, E], [10n * E, 10n * E], 60n);
    const opening = mallory.client.channel(id).state!;
    const sigs = [await mallory.signer.signState(opening), await carol.signer.signState(opening)];
    await mallory.client.sendPayment(id, E / 2n, 0);
    await mallory.client.sendPayment(id, 3n * E, 1);
    const latest = carol.client.channel(id);
    const state = latest.state!;
    const signed = {
      params: latest.params,
      state,
      sigs: [await mallory.signer.signState(state), await carol.signer.signState(state)],
    };
    const ledgers = new Ledgers(carol.ledgers);

    let store = await TypeOrmChannelStore.open(file);
    const before = new MultiLedgerWatcher({
      ledgers,
      cursors: storedChainCursors(store, A),
      pollIntervalMs: 200,
    });
    const watched = await before.watch(signed, () => undefined);
    await before.catchUp();
    const stored = [await store.getChainCursor(A), await store.getChainCursor(B)];
    expect(stored).toEqual([
      BigInt(before.ledgerWatcher(A).cursor!),
      BigInt(before.ledgerWatcher(B).cursor!),
    ]);
    expect(await store.getCursor()).toBe(stored[0]);
    await watched.stop();
    await before.close();
    await store.close();

    // Carol is down: chain B runs far ahead of chain A, and Mallory registers the opening state on B.
    await w.chains[0].chain.mine(3);
    await w.chains[1].chain.mine(40);
    await mallory.ledgers[1]!.adjudicator.register({ params: signed.params, state: opening, sigs });

    store = await TypeOrmChannelStore.open(file);
    const refutations: Array<RefutationReport & { chainID: bigint }> = [];
    const after = new MultiLedgerWatcher({
      ledgers,
      cursors: storedChainCursors(store, A),
      pollIntervalMs: 200,
      onRefutation: (r) => refutations.push(r),
    });
    const seen: Array<[string, bigint | undefined]> = [];
    const resumed = await after.watch(signed, (e) => {
      seen.push([e.kind, (e as { chainID?: bigint }).chainID]);
    });
    await after.catchUp();
    expect([after.ledgerWatcher(A).origin, after.ledgerWatcher(B).origin]).toEqual(stored.map(Number));
    expect(seen).toContainEqual(['registered', B]);
    expect(refutations).toEqual([
      expect.objectContaining({
        chainID: B,
        staleVersion: 0n,
        latestVersion: signed.state.version,
        outcome: 'refuted',
      }),
    ]);
    await until(
      async () => (await ledgers.ledger(A).adjudicator.dispute(id)).version === signed.state.version,
    );
    await after.catchUp();
    expect(await store.getChainCursor(B)).toBe(BigInt(after.ledgerWatcher(B).cursor!));
    expect(await store.getChainCursor(B)).toBeGreaterThan(stored[1]! + 40n);
    await resumed.stop();
    await after.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
