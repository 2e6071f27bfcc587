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
