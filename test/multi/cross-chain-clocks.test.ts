// The per-chain rules of a cross-chain dispute on two embedded chains: each chain's challenge
// ends by that chain's own clock (a chain whose clock has passed does not end the other's), a
// conclusion on one chain only is not the end of the channel, and the watcher alone (no client
// acting on its events) brings every chain to our latest state after a stale registration on one.
import { parseEther } from 'ethers';
import type { AdjudicatorEvent } from '../../src/channels/interfaces.js';
import {
  MultiLedgerAdjudicator,
  MultiLedgerWatcher,
  Ledgers,
  type LedgerEvent,
} from '../../src/channels/multi/index.js';
import { CHAIN_IDS, open, useTwoChains, waitFor, type TwoChains } from './harness.js';

const chains = useTwoChains();
const E = parseEther('1');
let w: TwoChains;
beforeEach(() => {
  w = chains();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a dispute ends by each chain's own clock; a conclusion on chain A alone is not the end", async () => {
  const alice = await w.person('alice', { watch: true });
  const bob = await w.person('bob');
  const id = await open(w, alice, bob, [2n * E, E], [5n * E, 5n * E], 30n);
  await alice.client.sendPayment(id, E, 0);
  await bob.client.sendPayment(id, 2n * E, 1);
  const latest = alice.client.channel(id).state!;
  const params = alice.client.channel(id).params;
  const settling = alice.client.dispute(id);
  const adj = new MultiLedgerAdjudicator(new Ledgers(alice.ledgers));
  await waitFor(alice, (e) => e.type === 'registered' && e.channelId === id && e.by === 'us');
  expect((await adj.disputes(id)).map((d) => [d.stage, d.version])).toEqual([
    ['dispute', 2n],
    ['dispute', 2n],
  ]);

  // only chain A's clock passes the challenge: chain B's challenge is still running
  await w.advance(31, 0);
  expect(await adj.stageEnded(id)).toBe(false);
  // Bob concludes chain A alone; Alice must neither withdraw nor conclude chain B early
  await bob.ledgers[0]!.adjudicator.conclude(params, latest);
  await sleep(300);
  expect((await adj.disputes(id)).map((d) => d.stage)).toEqual(['concluded', 'dispute']);
  expect(alice.client.channel(id).phase).toBe('Registered');
  expect(alice.events.some((e) => e.type === 'settled')).toBe(false);

  await w.advance(31, 1);
  expect(await settling).toEqual([
    { asset: 0, amount: E },
    { asset: 1, amount: 7n * E },
  ]);
  expect([await alice.received(0), await alice.received(1)]).toEqual([E, 7n * E]);
  expect((await adj.disputes(id)).map((d) => [d.chainID, d.stage])).toEqual(
    CHAIN_IDS.map((c) => [c, 'concluded']),
  );
});

test('the watcher alone registers our latest state on every chain after a stale registration on one, and hands on a conclusion once every chain concluded', async () => {
  const carol = await w.person('carol');
  const mallory = await w.person('mallory');
  const id = await open(w, mallory, carol, [E, E], [E, E], 30n);
  const opening = mallory.client.channel(id).state!;
  const sigs = [await mallory.signer.signState(opening), await carol.signer.signState(opening)];
  await mallory.client.sendPayment(id, E / 2n, 1);
  const c = carol.client.channel(id);
  const latest = {
    params: c.params,
    state: c.state!,
    sigs: [await mallory.signer.signState(c.state!), await carol.signer.signState(c.state!)],
  };
  const seen: AdjudicatorEvent[] = [];
  const watcher = new MultiLedgerWatcher({ ledgers: new Ledgers(carol.ledgers), pollIntervalMs: 20 });
  try {
    await watcher.watch(latest, (ev) => void seen.push(ev));
    await mallory.ledgers[1]!.adjudicator.register({ params: c.params, state: opening, sigs });
    const adj = new MultiLedgerAdjudicator(new Ledgers(carol.ledgers));
    const deadline = Date.now() + 10_000;
    while ((await adj.dispute(id)).version < 1n && Date.now() < deadline) await sleep(30);
    expect((await adj.disputes(id)).map((d) => [d.chainID, d.stage, d.version])).toEqual(
      CHAIN_IDS.map((ch) => [ch, 'dispute', 1n]),
    );
    expect(seen.map((e) => [(e as AdjudicatorEvent & { chainID: bigint }).chainID, e.kind])).toContainEqual([
      CHAIN_IDS[1],
      'registered',
    ]);
    // a conclusion is handed on only once every chain has concluded
    await w.advance(31, 0);
    await mallory.ledgers[0]!.adjudicator.conclude(c.params, latest.state);
    await watcher.catchUp();
    expect(seen.filter((e) => e.kind === 'concluded')).toEqual([]);
    await w.advance(31, 1);
    await mallory.ledgers[1]!.adjudicator.conclude(c.params, latest.state);
    await watcher.catchUp();
    expect(seen.filter((e) => e.kind === 'concluded').map((e) => (e as LedgerEvent).chainID)).toEqual([
      CHAIN_IDS[1],
    ]);
  } finally {
    await watcher.close();
  }
});
