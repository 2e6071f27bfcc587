// Cross-chain channels on two embedded chains (chain IDs 31337 and 31338): one channel with ETH
// on chain A and a token on chain B. Open, pay both assets, cooperative close on both chains
// checked to the wei; a funding that completes on one chain only times out and every deposit
// comes back; a peer who registers an old state on chain B only is refuted there and both
// chains settle at the latest state.
import { parseEther } from 'ethers';
import type { ClientEvent } from '../../src/channels/client/types.js';
import { ChainError, FundingTimeoutError } from '../../src/channels/errors.js';
import type { Funder } from '../../src/channels/interfaces.js';
import { MultiLedgerAdjudicator, Ledgers } from '../../src/channels/multi/index.js';
import { CHAIN_IDS, open, useTwoChains, waitFor, type TwoChains } from './harness.js';

const chains = useTwoChains();
const E = parseEther('1');
let w: TwoChains;
beforeEach(() => {
  w = chains();
});

test('open with ETH on chain A and a token on chain B, pay both, close cooperatively on both chains', async () => {
  const alice = await w.person('alice');
  // Bob agreed to the swap (1 ETH on A for 30 tokens on B); after it he takes only payments to him
  const swapped = [
    [2n * E, E],
    [20n * E, 30n * E],
  ];
  const bob = await w.person('bob', {
    onUpdate: ({ current, next }) =>
      next.outcome.balances.every((row, a) =>
        current.version === 0n
          ? row.every((v, i) => v === swapped[a]![i])
          : row[1]! >= current.outcome.balances[a]![1]!,
      )
        ? { accept: true }
        : { accept: false, reason: 'not what Bob agreed to' },
  });
  const id = await open(w, alice, bob, [3n * E, 0n], [0n, 50n * E]);
  // the swap: Alice's ETH on A for Bob's tokens on B, in one update both sign
  await alice.client.update(id, (s) => ({
    ...s,
    version: s.version + 1n,
    outcome: { ...s.outcome, balances: swapped },
  }));
  await alice.client.sendPayment(id, E / 4n, 0);
  await bob.client.sendPayment(id, 5n * E, 1);
  await alice.client.sendPayment(id, 1n, 1);
  const ethA = 2n * E - E / 4n;
  const tokA = 25n * E - 1n;
  expect(bob.client.channel(id).state!.outcome.balances).toEqual([
    [ethA, 3n * E - ethA],
    [tokA, 50n * E - tokA],
  ]);
  expect(await alice.client.settle(id)).toEqual([
    { asset: 0, amount: ethA },
    { asset: 1, amount: tokA },
  ]);
  expect(await bob.client.settlement(id)).toEqual([
    { asset: 0, amount: 3n * E - ethA },
    { asset: 1, amount: 50n * E - tokA },
  ]);
  expect([await alice.received(0), await alice.received(1)]).toEqual([ethA, tokA]);
  expect([await bob.received(0), await bob.received(1)]).toEqual([3n * E - ethA, 50n * E - tokA]);
  const adj = new MultiLedgerAdjudicator(new Ledgers(alice.ledgers));
  const records = await adj.disputes(id);
  expect(records.map((d) => [d.chainID, d.stage])).toEqual(CHAIN_IDS.map((c) => [c, 'concluded']));
});

test('a peer funds chain A only: the channel is not opened and both deposit their money back on both chains', async () => {
  // Eve deposits on chain A and never on chain B.
  const chainAOnly = (ledgers: { funder: Funder }[]): Funder => ({
    fund: (req, o) =>
      ledgers[0]!.funder
        .fund(req, o)
        .then(() => Promise.reject(new ChainError('Eve never deposits on chain B'))),
  });
  const dan = await w.person('dan');
  const eve = await w.person('eve', { funder: chainAOnly });
  const proposed = dan.client.proposeChannel({
    peer: 'eve',
    peerAddress: eve.signer.address,
    allocation: w.allocation([E, 2n * E], [3n * E, 4n * E]),
    challengeDuration: 20n,
  });
  const failed = (await waitFor(dan, (e) => e.type === 'funding-failed')) as Extract<
    ClientEvent,
    { type: 'funding-failed' }
  >;
  expect(failed.error).toBeInstanceOf(FundingTimeoutError);
  const details = (failed.error as FundingTimeoutError).details;
  // chain A is complete, chain B misses Eve's token deposit
  expect(details.missing).toEqual([
    { participant: 1, asset: 1, required: String(4n * E), held: '0', chainID: String(CHAIN_IDS[1]) },
  ]);
  await expect(proposed).rejects.toMatchObject({ code: 'FUNDING_TIMEOUT' });
  expect(dan.events.some((e) => e.type === 'opened')).toBe(false);
  await waitFor(dan, (e) => e.type === 'registered' && e.channelId === failed.channelId && e.by === 'us');
  await w.advance(21);
  expect(await dan.client.settlement(failed.channelId)).toEqual([
    { asset: 0, amount: E },
    { asset: 1, amount: 3n * E },
  ]);
  expect([await dan.received(0), await dan.received(1)]).toEqual([E, 3n * E]);
  // Eve's deposit on chain A is hers to take from the concluded channel
  const params = dan.client.channel(failed.channelId).params;
  const init = dan.client.channel(failed.channelId).state!;
  const eveAdj = new MultiLedgerAdjudicator(new Ledgers(eve.ledgers));
  expect(await eveAdj.withdraw(params, init, 1)).toEqual([
    { asset: 0, amount: 2n * E },
    { asset: 1, amount: 0n },
  ]);
  expect(await eve.received(0)).toBe(2n * E);
});

test('a peer registers an old state on chain B only: the watcher refutes it there and both chains settle at the latest state', async () => {
  const carol = await w.person('carol', { watch: true });
  const mallory = await w.person('mallory');
  const id = await open(w, mallory, carol, [2n * E, E], [10n * E, 10n * E], 30n);
  const opening = mallory.client.channel(id).state!;
  const sigs = [await mallory.signer.signState(opening), await carol.signer.signState(opening)];
  for (let i = 0; i < 3; i++) await mallory.client.sendPayment(id, E / 2n, 0);
  await mallory.client.sendPayment(id, 4n * E, 1);
  const latest = carol.client.channel(id).state!;
  expect(latest.version).toBe(4n);
  const params = carol.client.channel(id).params;
  // Mallory goes to chain B alone with the opening state, where she held more tokens.
  await mallory.ledgers[1]!.adjudicator.register({ params, state: opening, sigs });

  await waitFor(carol, (e) => e.type === 'registered' && e.channelId === id && e.by === 'chain');
  const deadline = Date.now() + 10_000;
  const adj = new MultiLedgerAdjudicator(new Ledgers(carol.ledgers));
  while ((await adj.dispute(id)).version < latest.version && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  expect(carol.refutations).toContainEqual(
    expect.objectContaining({
      chainID: CHAIN_IDS[1],
      staleVersion: 0n,
      latestVersion: 4n,
      outcome: 'refuted',
    }),
  );
  const records = await adj.disputes(id);
  expect(records.map((d) => [d.chainID, d.stage, d.version])).toEqual(
    CHAIN_IDS.map((c) => [c, 'dispute', 4n]),
  );

  await w.advance(31);
  const [ethC, tokC] = [E + (3n * E) / 2n, 10n * E + 4n * E];
  expect(await carol.client.settlement(id)).toEqual([
    { asset: 0, amount: ethC },
    { asset: 1, amount: tokC },
  ]);
  expect([await carol.received(0), await carol.received(1)]).toEqual([ethC, tokC]);
  // the old state wins nowhere: Mallory gets what the latest state gives her, on both chains
  await expect(mallory.ledgers[1]!.adjudicator.conclude(params, opening)).rejects.toThrow();
  const malloryAdj = new MultiLedgerAdjudicator(new Ledgers(mallory.ledgers));
  expect(await malloryAdj.withdraw(params, latest, 0)).toEqual([
    { asset: 0, amount: 3n * E - ethC },
    { asset: 1, amount: 20n * E - tokC },
  ]);
  expect([await mallory.received(0), await mallory.received(1)]).toEqual([3n * E - ethC, 20n * E - tokC]);
});
