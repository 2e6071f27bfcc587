// Auditing balances on chain: what an account paid in gas over a range of blocks, so that a
// change of its balance can be checked to the wei against what a settlement paid it.
import type { JsonRpcProvider } from 'ethers';

/** Wei `address` paid in gas for its transactions in blocks (from, to]. */
export async function gasSpent(
  provider: JsonRpcProvider,
  address: string,
  from: number,
  to: number,
): Promise<bigint> {
  let total = 0n;
  for (let n = from + 1; n <= to; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== address.toLowerCase()) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      total += receipt!.gasUsed * receipt!.gasPrice;
    }
  }
  return total;
}

/**
 * What each of `addresses` gained over `settle` (from the block before it to the block after),
 * its gas added back: what a settlement paid it, to the wei.
 */
export async function settlementGains(
  provider: JsonRpcProvider,
  addresses: string[],
  settle: () => Promise<unknown>,
): Promise<bigint[]> {
  const start = await provider.getBlockNumber();
  const before = await Promise.all(addresses.map((a) => provider.getBalance(a, start)));
  await settle();
  const end = await provider.getBlockNumber();
  return Promise.all(
    addresses.map(
      async (a, i) =>
        (await provider.getBalance(a, end)) - before[i]! + (await gasSpent(provider, a, start, end)),
    ),
  );
}
