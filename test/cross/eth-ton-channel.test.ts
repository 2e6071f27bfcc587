// One channel with ETH on an embedded EVM chain and Toncoin on the TON sandbox: Alice holds ETH,
// Bob holds Toncoin. Open (funded on both chains), pay both ways with one update that swaps ETH
// for Toncoin, close cooperatively, checked to the wei and the nanoton on both chains. Then Bob
// registers an old state on TON only; Alice's watcher refutes it there and both chains settle at
// the latest state.
import { MultiLedgerAdjudicator } from '../../src/channels/multi/index.js';
import type { Hex } from '../../src/channels/types.js';
import { ETH, TON, openEthTon, until, type EthTon, useEthTon } from './harness.js';

const chains = useEthTon();
let w: EthTon;
beforeEach(() => {
  w = chains();
});

test('open with ETH and Toncoin, swap and pay both ways, close cooperatively on both chains', async () => {
  const alice = await w.person('alice');
  // Bob agreed to the swap (1 ETH for 20 Toncoin) out of band
  const bob = await w.person('bob', { onUpdate: () => ({ accept: true }) });
  const id = await openEthTon(w, alice, bob, [3n * ETH, 0n], [0n, 50n * TON]);
  expect(await w.evm.provider().getBalance(w.deployment.assetHolderETH)).toBe(3n * ETH);
  // the swap: 1 ETH of Alice's for 20 Toncoin of Bob's, in one update both sign
  await alice.client.update(id, (s) => ({
    ...s,
    version: s.version + 1n,
    outcome: {
      ...s.outcome,
      balances: [
        [2n * ETH, ETH],
        [20n * TON, 30n * TON],
      ],
    },
  }));
  await alice.client.sendPayment(id, ETH / 4n, 0);
  await bob.client.sendPayment(id, 5n * TON, 1);
  await alice.client.sendPayment(id, 1n, 1);
  const ethA = 2n * ETH - ETH / 4n;
  const tonA = 25n * TON - 1n;
  expect(bob.client.channel(id).state!.outcome.balances).toEqual([
    [ethA, 3n * ETH - ethA],
    [tonA, 50n * TON - tonA],
  ]);
  expect(await alice.client.settle(id)).toEqual([
    { asset: 0, amount: ethA },
    { asset: 1, amount: tonA },
  ]);
  expect(await bob.client.settlement(id)).toEqual([
    { asset: 0, amount: 3n * ETH - ethA },
    { asset: 1, amount: 50n * TON - tonA },
  ]);
  expect(await alice.received()).toEqual({ eth: ethA, ton: tonA });
  expect(await bob.received()).toEqual({ eth: 3n * ETH - ethA, ton: 50n * TON - tonA });
  const records = await alice.ledgers.all.map((l) => l.adjudicator.dispute(id));
  expect((await Promise.all(records)).map((d) => d.stage)).toEqual(['concluded', 'concluded']);
}, 120_000);

test('Bob registers an old state on TON only: Alice’s watcher refutes it there, both chains settle at the latest', async () => {
  const alice = await w.person('alice2', { watch: true });
  const bob = await w.person('bob2');
  const id = await openEthTon(w, alice, bob, [2n * ETH, 0n], [0n, 10n * TON], 30n);
  const params = bob.client.channel(id).params;
  const opening = bob.client.channel(id).state!;
  const sigs: Hex[] = [alice.signer.signState(opening, params), bob.signer.signState(opening, params)];
  await bob.client.sendPayment(id, 4n * TON, 1);
  await alice.client.sendPayment(id, ETH / 2n, 0);
  const latest = alice.client.channel(id).state!;
  expect(latest.version).toBe(2n);

  await bob.ledgers.ledger(w.ton.chainID).adjudicator.register({ params, state: opening, sigs });
  const tonLedger = alice.ledgers.ledger(w.ton.chainID);
  const ethLedger = alice.ledgers.ledger(w.evm.chainId);
  await until(async () => (await ethLedger.adjudicator.dispute(id)).version === 2n);
  await until(async () => (await tonLedger.adjudicator.dispute(id)).version === 2n);
  expect(alice.refutations).toContainEqual(
    expect.objectContaining({
      chainID: w.ton.chainID,
      staleVersion: 0n,
      latestVersion: 2n,
      outcome: 'refuted',
    }),
  );

  await w.advance(31);
  expect(await alice.client.settlement(id)).toEqual([
    { asset: 0, amount: 2n * ETH - ETH / 2n },
    { asset: 1, amount: 4n * TON },
  ]);
  expect(await alice.received()).toEqual({ eth: 2n * ETH - ETH / 2n, ton: 4n * TON });
  // the old state wins nowhere: Bob gets what the latest state gives him, on both chains
  await expect(bob.ledgers.ledger(w.ton.chainID).adjudicator.conclude(params, opening)).rejects.toThrow();
  expect(await new MultiLedgerAdjudicator(bob.ledgers).withdraw(params, latest, 1)).toEqual([
    { asset: 0, amount: ETH / 2n },
    { asset: 1, amount: 6n * TON },
  ]);
  expect(await bob.received()).toEqual({ eth: ETH / 2n, ton: 6n * TON });
}, 120_000);
