// Several chains for one agent (cross-chain channels, docs/cross-chain.md): a chain file names
// one chain (today's form, an object with rpcUrl, chainId and the contract addresses) or several
// (`{ "chains": [ {...}, {...} ] }`, each in that form, with distinct chain IDs; the first is the
// agent's primary chain). `perun-agent chain --chains N` writes such a file (./run-chains.ts).
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  ethereumConfigToJson,
  parseEthereumConfig,
  type EthereumConfig,
} from '../../channels/ethereum/config.js';

/** Reads a chain file's contents: one chain or `{ chains: [...] }`; the first is the primary. */
export function parseChainSet(v: unknown): EthereumConfig[] {
  if (typeof v !== 'object' || v === null || !('chains' in v)) return [parseEthereumConfig(v)];
  const list = (v as { chains: unknown }).chains;
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError('chains must be a non-empty list of chains', { field: 'chains' });
  const chains = list.map((c, i) => {
    try {
      return parseEthereumConfig(c);
    } catch (err) {
      if (err instanceof ConfigError)
        throw new ConfigError(`chains[${i}]: ${err.message}`, { ...err.details, index: i }, { cause: err });
      throw err;
    }
  });
  const seen = new Set<bigint>();
  for (const c of chains) {
    if (seen.has(c.chainId))
      throw new ConfigError('two chains with one chain ID', { chainId: c.chainId.toString() });
    seen.add(c.chainId);
  }
  return chains;
}

/** The chain file's JSON: today's single-chain form for one chain, `{ chains }` for several. */
export function chainSetToJson(chains: EthereumConfig[]): Record<string, unknown> {
  return chains.length === 1
    ? ethereumConfigToJson(chains[0]!)
    : { chains: chains.map(ethereumConfigToJson) };
}

/** Reads and checks a chain file of one or several chains. */
export function readChainSet(path: string): EthereumConfig[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError('cannot read the chain file', { path }, { cause: err });
  }
  return parseChainSet(json);
}

/** The chain of a set with `chainId`, or the primary (first) without one. */
export function chainOfSet(chains: EthereumConfig[], chainId?: bigint): EthereumConfig {
  const found = chainId === undefined ? chains[0] : chains.find((c) => c.chainId === chainId);
  if (found === undefined)
    throw new ConfigError('the chain file names no chain with this chain ID', {
      chainId: String(chainId),
      chains: chains.map((c) => c.chainId.toString()),
    });
  return found;
}
