// Connecting to a deployment: configuration by JSON-RPC URL plus contract addresses, parsed
// from untrusted JSON, then checked against the chain (chain ID, code at every address, each
// asset holder bound to the configured adjudicator) before anything is sent.
import { JsonRpcProvider, Network, Wallet, getAddress, isAddress } from 'ethers';
import { ChainError, PerunError, type ErrorDetails } from '../errors.js';
import { EthereumAdjudicator } from './adjudicator.js';
import { assetHolderContract } from './contracts.js';
import type { Deployment } from './deploy.js';
import type { Address } from './encoding.js';
import { EthereumFunder } from './funder.js';
import { TxSender } from './tx.js';

export interface EthereumConfig {
  /** JSON-RPC endpoint, http(s):// or ws(s)://. */
  rpcUrl: string;
  /** The chain the addresses belong to; connecting to another chain is refused. */
  chainId: bigint;
  adjudicator: Address;
  assetHolderETH: Address;
  /** ERC20 asset holders by token address. */
  assetHoldersERC20: Record<Address, Address>;
  /** Blocks a deposit or transaction must be buried under before it counts; default 1. */
  confirmations: number;
  /** App contracts by app name (for example `credentialPayment`); absent when none is deployed. */
  apps?: Record<string, Address>;
}

/** The configuration is malformed, or does not match the chain it points at. */
export class ConfigError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('CONFIG', message, details, options);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function address(v: unknown, field: string): Address {
  if (typeof v !== 'string' || !isAddress(v)) throw new ConfigError(`${field} is not an address`, { field });
  return getAddress(v);
}

/**
 * Reads a configuration object, e.g. parsed from a JSON file:
 * `{ "rpcUrl", "chainId", "adjudicator", "assetHolderETH", "assetHoldersERC20"?: { token: holder },
 * "confirmations"?, "apps"?: { name: address } }`. chainId may be a number or a decimal string.
 */
export function parseEthereumConfig(v: unknown): EthereumConfig {
  if (!isRecord(v)) throw new ConfigError('configuration must be an object');
  const rpcUrl = v['rpcUrl'];
  if (typeof rpcUrl !== 'string' || !/^(https?|wss?):\/\/[^\s]+$/.test(rpcUrl)) {
    throw new ConfigError('rpcUrl must be an http(s) or ws(s) URL', { field: 'rpcUrl' });
  }
  const rawChainId = v['chainId'];
  let chainId: bigint;
  if (typeof rawChainId === 'number' && Number.isSafeInteger(rawChainId) && rawChainId > 0) {
    chainId = BigInt(rawChainId);
  } else if (typeof rawChainId === 'string' && /^[1-9][0-9]{0,19}$/.test(rawChainId)) {
    chainId = BigInt(rawChainId);
  } else {
    throw new ConfigError('chainId must be a positive integer', { field: 'chainId' });
  }
  const holders = v['assetHoldersERC20'] ?? {};
  if (!isRecord(holders)) throw new ConfigError('assetHoldersERC20 must map tokens to holders');
  const assetHoldersERC20: Record<Address, Address> = {};
  for (const [token, holder] of Object.entries(holders)) {
    assetHoldersERC20[address(token, 'assetHoldersERC20 token')] = address(
      holder,
      `assetHoldersERC20.${token}`,
    );
  }
  const confirmations = v['confirmations'] ?? 1;
  if (typeof confirmations !== 'number' || !Number.isInteger(confirmations) || confirmations < 1) {
    throw new ConfigError('confirmations must be an integer of at least 1', { field: 'confirmations' });
  }
  const rawApps = v['apps'] ?? {};
  if (!isRecord(rawApps)) throw new ConfigError('apps must map app names to addresses');
  const apps: Record<string, Address> = {};
  for (const [name, app] of Object.entries(rawApps)) {
    if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(name))
      throw new ConfigError('invalid app name', { field: 'apps' });
    apps[name] = address(app, `apps.${name}`);
  }
  return {
    rpcUrl,
    chainId,
    adjudicator: address(v['adjudicator'], 'adjudicator'),
    assetHolderETH: address(v['assetHolderETH'], 'assetHolderETH'),
    assetHoldersERC20,
    confirmations,
    ...(Object.keys(apps).length > 0 ? { apps } : {}),
  };
}

/** The configuration of a deployment made with deployContracts on the chain at `rpcUrl`. */
export function configOfDeployment(rpcUrl: string, d: Deployment, confirmations = 1): EthereumConfig {
  const assetHoldersERC20: Record<Address, Address> = {};
  if (d.token !== undefined && d.assetHolderERC20 !== undefined)
    assetHoldersERC20[d.token] = d.assetHolderERC20;
  return {
    rpcUrl,
    chainId: d.chainId,
    adjudicator: d.adjudicator,
    assetHolderETH: d.assetHolderETH,
    assetHoldersERC20,
    confirmations,
    ...(d.credentialPaymentApp === undefined ? {} : { apps: { credentialPayment: d.credentialPaymentApp } }),
  };
}

/** The configuration as JSON-safe values, the inverse of parseEthereumConfig. */
export function ethereumConfigToJson(c: EthereumConfig): Record<string, unknown> {
  return { ...c, chainId: c.chainId.toString() };
}

export interface EthereumConnection {
  config: EthereumConfig;
  provider: JsonRpcProvider;
  tx: TxSender;
  funder: EthereumFunder;
  adjudicator: EthereumAdjudicator;
  close(): void;
}

/**
 * Connects an account (its private key pays for transactions) to the configured deployment
 * after checking the chain ID, that every contract has code, and that every asset holder
 * answers to the configured adjudicator.
 */
export async function connectEthereum(
  config: EthereumConfig,
  accountKey: string,
): Promise<EthereumConnection> {
  const network = Network.from(config.chainId);
  // No batching delay (ethers waits 10 ms for more calls to batch, on every read a funding or a
  // dispute waits on): calls made in the same turn of the event loop still go in one batch.
  const provider = new JsonRpcProvider(config.rpcUrl, network, {
    staticNetwork: network,
    cacheTimeout: -1,
    batchStallTime: 0,
  });
  try {
    let remote: bigint;
    try {
      remote = BigInt(await provider.send('eth_chainId', []));
    } catch (err) {
      throw new ChainError(
        'the JSON-RPC endpoint does not answer',
        { rpcUrl: config.rpcUrl },
        { cause: err },
      );
    }
    if (remote !== config.chainId) {
      throw new ConfigError('the endpoint serves another chain', {
        expected: config.chainId.toString(),
        actual: remote.toString(),
      });
    }
    const contracts: Array<[string, Address]> = [
      ['adjudicator', config.adjudicator],
      ['assetHolderETH', config.assetHolderETH],
      ...Object.entries(config.assetHoldersERC20).map(([t, h]): [string, Address] => [
        `assetHoldersERC20.${t}`,
        h,
      ]),
    ];
    const apps = Object.entries(config.apps ?? {}).map(([n, a]): [string, Address] => [`apps.${n}`, a]);
    for (const [field, addr] of [...contracts, ...apps]) {
      if ((await provider.getCode(addr)) === '0x') {
        throw new ConfigError(`no contract at ${field}`, { field, address: addr });
      }
    }
    for (const [field, addr] of contracts.slice(1)) {
      let bound: string;
      try {
        bound = (await assetHolderContract(addr, provider).getFunction('adjudicator').staticCall()) as string;
      } catch (err) {
        throw new ConfigError(`${field} is not an asset holder`, { field, address: addr }, { cause: err });
      }
      if (getAddress(bound) !== config.adjudicator) {
        throw new ConfigError(`${field} belongs to another adjudicator`, {
          field,
          address: addr,
          adjudicator: bound,
        });
      }
    }
    let wallet: Wallet;
    try {
      wallet = new Wallet(accountKey, provider);
    } catch (err) {
      throw new ConfigError('invalid account key', {}, { cause: err });
    }
    const tx = new TxSender(wallet, { confirmations: config.confirmations });
    return {
      config,
      provider,
      tx,
      funder: new EthereumFunder(tx, { confirmations: config.confirmations }),
      adjudicator: new EthereumAdjudicator(tx, config.adjudicator),
      close: () => provider.destroy(),
    };
  } catch (err) {
    provider.destroy();
    throw err;
  }
}
