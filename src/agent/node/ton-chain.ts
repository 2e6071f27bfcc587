// `perun-agent chain --ton`: the TON chain agents share on one machine, the sandbox with the
// Perun contract behind its toncenter-shaped HTTP API on loopback (../../channels/ton/http-server.ts),
// and the chain file (kind "ton": endpoint, contract, chain ID) agents name in their `chain` setting.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  isTonChainJson,
  parseTonConfig,
  tonConfigToJson,
  type TonChainConfig,
} from '../../channels/ton/config.js';
import { startTonChainServer } from '../../channels/ton/http-server.js';

export interface RunningTonChain {
  endpoint: string;
  config: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Starts the TON chain server and writes its chain file to `out`. */
export async function runTonChain(o: {
  host?: string;
  port?: number;
  out?: string;
}): Promise<RunningTonChain> {
  const server = await startTonChainServer({ host: o.host, port: o.port });
  const config = tonConfigToJson({
    kind: 'ton',
    endpoint: server.url,
    perun: server.perun,
    chainId: server.chain.chainID,
  });
  if (o.out !== undefined) writeFileSync(o.out, JSON.stringify(config, null, 2) + '\n');
  return { endpoint: server.url, config, stop: () => server.close() };
}

/** The chain file's JSON if it names a TON chain, else undefined (an Ethereum chain file). */
export function readTonChainFile(path: string): TonChainConfig | undefined {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  return isTonChainJson(json) ? parseTonConfig(json) : undefined;
}
