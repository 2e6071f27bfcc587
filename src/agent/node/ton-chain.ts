// `perun-agent chain --ton`: the TON chain agents share on one machine, the sandbox with the
// Perun contract behind its toncenter-shaped HTTP API on loopback (../../channels/ton/http-server.ts),
// and the chain file (kind "ton": endpoint, contract, chain ID) agents name in their `chain` setting;
// `faucet` on such a chain: Toncoin from the chain server's development wallet `faucet`.
import { readFileSync, writeFileSync } from 'node:fs';
import { Address as TonAddress, beginCell } from '@ton/core';
import {
  TonConfigError,
  connectTon,
  isTonChainJson,
  parseTonConfig,
  tonConfigToJson,
  type TonChainConfig,
} from '../../channels/ton/config.js';
import { startTonChainServer } from '../../channels/ton/http-server.js';
import { devWalletName } from './ton-node.js';

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

/** The development wallet the faucet pays from. */
export const FAUCET_WALLET = 'faucet';

/**
 * Gives `address` `amount` nanoton from the chain server's development wallet `faucet`: a TON
 * address, or an agent's Ed25519 key (0x-hex, its `info.address`) for the development wallet that
 * agent uses; returns the receiving wallet and its new balance.
 */
export async function tonFaucet(o: {
  chain: TonChainConfig;
  address: string;
  amount: bigint;
}): Promise<{ wallet: string; balance: bigint }> {
  if (o.amount <= 0n)
    throw new TonConfigError('the amount must be positive', { amount: o.amount.toString() });
  const isKey = /^0x[0-9a-fA-F]{64}$/.test(o.address);
  let to: TonAddress | undefined;
  if (!isKey) {
    try {
      to = TonAddress.parse(o.address);
    } catch {
      throw new TonConfigError('not a TON address or Ed25519 key', { address: o.address });
    }
  }
  const chain = await connectTon(o.chain);
  to ??= (await chain.devWallet(devWalletName(o.address))).address;
  await (await chain.devWallet(FAUCET_WALLET)).send(to, o.amount, beginCell().endCell());
  return { wallet: to.toString(), balance: await chain.balance(to) };
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
