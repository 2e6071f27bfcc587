// A TON deployment as a chain file names it: `{ "kind": "ton", "endpoint", "perun", "chainId"? }`
// (the toncenter-shaped API's URL, the Perun contract's address, the network's chain ID), parsed
// from untrusted JSON; connecting reads the network's chain ID and refuses another network, and
// checks that the contract answers the Perun get-methods.
import { Address as TonAddress } from '@ton/core';
import { PerunError, type ErrorDetails } from '../errors.js';
import { PerunContract } from './contract.js';
import { HttpTonChain } from './http-chain.js';

export interface TonChainConfig {
  kind: 'ton';
  /** The toncenter-shaped API, e.g. http://127.0.0.1:8081/api/v2. */
  endpoint: string;
  /** The Perun contract. */
  perun: TonAddress;
  /** The network's chain ID (config parameter 19 as unsigned); checked on connect when given. */
  chainId?: bigint;
  /** Sent as X-API-Key. */
  apiKey?: string;
}

/** The TON chain configuration is malformed, or does not match the network it points at. */
export class TonConfigError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('CONFIG', message, details, options);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a parsed chain file names a TON chain. */
export function isTonChainJson(v: unknown): boolean {
  return isRecord(v) && v['kind'] === 'ton';
}

export function parseTonConfig(v: unknown): TonChainConfig {
  if (!isRecord(v) || v['kind'] !== 'ton') throw new TonConfigError('a TON chain file has kind "ton"');
  const endpoint = v['endpoint'];
  if (typeof endpoint !== 'string' || !/^https?:\/\/[^\s]+$/.test(endpoint))
    throw new TonConfigError('endpoint must be an http(s) URL', { field: 'endpoint' });
  let perun: TonAddress;
  try {
    perun = TonAddress.parse(String(v['perun']));
  } catch {
    throw new TonConfigError('perun is not a TON address', { field: 'perun' });
  }
  const rawChainId = v['chainId'];
  if (rawChainId !== undefined && (typeof rawChainId !== 'string' || !/^\d{1,10}$/.test(rawChainId)))
    throw new TonConfigError('chainId must be a decimal string', { field: 'chainId' });
  const apiKey = v['apiKey'];
  if (apiKey !== undefined && typeof apiKey !== 'string')
    throw new TonConfigError('apiKey must be a string', { field: 'apiKey' });
  return {
    kind: 'ton',
    endpoint,
    perun,
    ...(rawChainId === undefined ? {} : { chainId: BigInt(rawChainId) }),
    ...(apiKey === undefined ? {} : { apiKey }),
  };
}

export function tonConfigToJson(c: TonChainConfig): Record<string, unknown> {
  return {
    kind: 'ton',
    endpoint: c.endpoint,
    perun: c.perun.toString(),
    ...(c.chainId === undefined ? {} : { chainId: c.chainId.toString() }),
    ...(c.apiKey === undefined ? {} : { apiKey: c.apiKey }),
  };
}

/** The chain behind `config`, checked: the configured network, and a contract that answers as Perun. */
export async function connectTon(config: TonChainConfig): Promise<HttpTonChain> {
  const chain = await HttpTonChain.connect(
    config.endpoint,
    config.apiKey === undefined ? {} : { apiKey: config.apiKey },
  );
  if (config.chainId !== undefined && chain.chainID !== config.chainId)
    throw new TonConfigError('the endpoint serves another network', {
      expected: config.chainId.toString(),
      actual: chain.chainID.toString(),
    });
  try {
    await new PerunContract(chain, config.perun).dispute('0x' + '00'.repeat(32));
  } catch (err) {
    throw new TonConfigError(
      'no Perun contract answers at the configured address',
      { perun: config.perun.toString() },
      { cause: err },
    );
  }
  return chain;
}
