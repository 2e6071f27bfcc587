// `perun-agent chain --chains N`: N embedded chains with chain IDs 31337, 31338, …, each with
// the Perun contracts and a test token, and one chain file naming all of them (./chains.ts).
import { writeFileSync } from 'node:fs';
import { ConfigError, parseEthereumConfig } from '../../channels/ethereum/config.js';
import { runChain, type RunningChain } from './chain.js';
import { chainSetToJson } from './chains.js';

/** The chain ID of the first embedded chain; the others count up from it. */
export const FIRST_DEV_CHAIN_ID = 31337n;
/** The most embedded chains `chain --chains` runs. */
export const MAX_DEV_CHAINS = 8;

export interface RunningChains {
  chains: RunningChain[];
  /** The chain file's contents. */
  config: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Runs `count` embedded chains (chain IDs 31337, 31338, …) with the contracts, and writes one chain file naming all. */
export async function runChains(o: {
  count: number;
  host?: string;
  out?: string;
  heartbeatMs?: number;
}): Promise<RunningChains> {
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > MAX_DEV_CHAINS)
    throw new ConfigError(`the number of chains must be from 1 to ${MAX_DEV_CHAINS}`, { count: o.count });
  const started = await Promise.allSettled(
    Array.from({ length: o.count }, (_, i) =>
      runChain({ host: o.host, heartbeatMs: o.heartbeatMs, chainId: FIRST_DEV_CHAIN_ID + BigInt(i) }),
    ),
  );
  const chains = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    await Promise.all(chains.map((c) => c.stop()));
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  const config = chainSetToJson(chains.map((c) => parseEthereumConfig(c.config)));
  if (o.out !== undefined) writeFileSync(o.out, JSON.stringify(config, null, 2) + '\n');
  return { chains, config, stop };
}
