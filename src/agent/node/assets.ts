// The assets an agent's channels can hold: on every chain of the chain file, ETH and every ERC20
// token of that chain's `assetHoldersERC20`, each with its chain ID, holder contract, symbol and
// decimals (read from the token once at start). Users name an asset by symbol or token address; amounts are formatted and
// parsed in the asset's units.
import { getAddress, isAddress, type Provider } from 'ethers';
import type { EthereumConfig } from '../../channels/ethereum/config.js';
import { erc20Contract } from '../../channels/ethereum/contracts.js';
import type { Address } from '../../channels/types.js';
import { ApiRequestError } from '../api/api-error.js';
import { formatAmount, parseAmount } from '../api/amounts.js';

export interface AssetInfo {
  /** 'ETH' or the token's symbol. */
  symbol: string;
  decimals: number;
  holder: Address;
  /** The token; undefined for ETH. */
  token?: Address;
  /** The chain it lives on (decimal). */
  chainId: string;
}

/** One chain of the chain file: its configuration and a provider to read its tokens with. */
export interface AssetChain {
  config: EthereumConfig;
  provider: Provider;
}

async function chainAssets({ config, provider }: AssetChain): Promise<AssetInfo[]> {
  const chainId = config.chainId.toString();
  const all: AssetInfo[] = [{ symbol: 'ETH', decimals: 18, holder: config.assetHolderETH, chainId }];
  for (const [token, holder] of Object.entries(config.assetHoldersERC20)) {
    const erc20 = erc20Contract(token, provider);
    const symbol = await (erc20.getFunction('symbol').staticCall() as Promise<string>).catch(() => token);
    const decimals = await (erc20.getFunction('decimals').staticCall() as Promise<bigint>).catch(() => 18n);
    all.push({
      symbol,
      decimals: Number(decimals),
      holder: getAddress(holder),
      token: getAddress(token),
      chainId,
    });
  }
  return all;
}

/** Whether the user's `name` ('ETH', a token symbol or a token address, any case) names `a`. */
export function isNamed(a: AssetInfo, name: string): boolean {
  const wanted = name.trim().toLowerCase();
  return isAddress(wanted) ? a.token?.toLowerCase() === wanted : a.symbol.toLowerCase() === wanted;
}

/**
 * The assets of every chain of the chain file, the primary chain's first. Contracts may have the
 * same addresses on several chains (development chains deployed alike): an asset is its chain ID
 * and holder together.
 */
export class Assets {
  private constructor(readonly all: readonly AssetInfo[]) {}

  /** The assets of one chain. */
  static load(config: EthereumConfig, provider: Provider): Promise<Assets> {
    return Assets.loadChains([{ config, provider }]);
  }

  /** The assets of several chains, the first the primary. */
  static async loadChains(chains: readonly AssetChain[]): Promise<Assets> {
    return Assets.of((await Promise.all(chains.map(chainAssets))).flat());
  }

  /** Assets as listed (the primary chain's ETH first). */
  static of(all: readonly AssetInfo[]): Assets {
    return new Assets(all);
  }

  /** The chain's own coin: ETH, or TON on a TON node (on the primary chain). */
  get eth(): AssetInfo {
    return this.all[0]!;
  }

  /** The chain IDs, the primary first. */
  get chainIds(): string[] {
    return [...new Set(this.all.map((a) => a.chainId))];
  }

  /**
   * The asset a user names: 'ETH', a token symbol or a token address (any case), on the chain
   * `chainId` (default: the primary chain). 400 UNKNOWN_CHAIN for a chain we are not connected to.
   */
  named(name: string | undefined, chainId?: string): AssetInfo {
    const chain = chainId ?? this.eth.chainId;
    if (!this.chainIds.includes(chain))
      throw new ApiRequestError(400, 'UNKNOWN_CHAIN', `the agent is not connected to chain ${chain}`, {
        chainId: chain,
        chains: this.chainIds,
      });
    const found = this.all.find((a) => a.chainId === chain && isNamed(a, name ?? this.eth.symbol));
    if (found === undefined)
      throw new ApiRequestError(400, 'UNSUPPORTED_ASSET', 'no such asset on this chain', {
        asset: name,
        chainId: chain,
        assets: this.all.filter((a) => a.chainId === chain).map((a) => a.symbol),
      });
    return found;
  }

  /** The asset held by `holder` on chain `chainId`, or undefined if it is not on our deployments. */
  byHolder(chainId: bigint, holder: string): AssetInfo | undefined {
    const chain = chainId.toString();
    return this.all.find((a) => a.chainId === chain && a.holder.toLowerCase() === holder.toLowerCase());
  }

  /** The asset of a channel's outcome asset (ETH of the primary chain when unknown). */
  ofAsset(asset: { chainID: bigint; ethHolder: string } | undefined): AssetInfo {
    return (asset === undefined ? undefined : this.byHolder(asset.chainID, asset.ethHolder)) ?? this.eth;
  }
}

export const format = (a: AssetInfo, units: bigint) => formatAmount(units, a.decimals);
export const parse = (a: AssetInfo, text: string) => parseAmount(text, a.decimals);
