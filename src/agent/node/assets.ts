// The assets an agent's channels can hold: ETH and every ERC20 token of the chain file's
// `assetHoldersERC20`, each with its holder contract, symbol and decimals (read from the token
// once at start). Users name an asset by symbol or token address; amounts are formatted and
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
}

export class Assets {
  private constructor(readonly all: readonly AssetInfo[]) {}

  static async load(config: EthereumConfig, provider: Provider): Promise<Assets> {
    const all: AssetInfo[] = [{ symbol: 'ETH', decimals: 18, holder: config.assetHolderETH }];
    for (const [token, holder] of Object.entries(config.assetHoldersERC20)) {
      const erc20 = erc20Contract(token, provider);
      const symbol = await (erc20.getFunction('symbol').staticCall() as Promise<string>).catch(() => token);
      const decimals = await (erc20.getFunction('decimals').staticCall() as Promise<bigint>).catch(() => 18n);
      all.push({ symbol, decimals: Number(decimals), holder: getAddress(holder), token: getAddress(token) });
    }
    return new Assets(all);
  }

  /** A table of the given assets (a TON node's Toncoin); the first is the chain's own coin. */
  static of(all: readonly AssetInfo[]): Assets {
    return new Assets(all);
  }

  /** The chain's own coin: ETH, or TON on a TON node. */
  get eth(): AssetInfo {
    return this.all[0]!;
  }

  /** The asset a user names: 'ETH' (the default: the chain's own coin), a token symbol or a token address (any case). */
  named(name: string | undefined): AssetInfo {
    const wanted = (name ?? this.eth.symbol).trim();
    const byAddress: boolean = isAddress(wanted);
    const found = this.all.find((a) =>
      byAddress
        ? a.token !== undefined && a.token.toLowerCase() === wanted.toLowerCase()
        : a.symbol.toLowerCase() === wanted.toLowerCase(),
    );
    if (found === undefined)
      throw new ApiRequestError(400, 'UNSUPPORTED_ASSET', 'no such asset on this chain', {
        asset: name,
        assets: this.all.map((a) => a.symbol),
      });
    return found;
  }

  /** The asset held by `holder`, or undefined if it is not on our deployment. */
  byHolder(holder: string): AssetInfo | undefined {
    return this.all.find((a) => a.holder.toLowerCase() === holder.toLowerCase());
  }

  /** The asset of a channel's first asset holder (ETH when unknown). */
  ofHolder(holder: string | undefined): AssetInfo {
    return (holder === undefined ? undefined : this.byHolder(holder)) ?? this.eth;
  }
}

export const format = (a: AssetInfo, units: bigint) => formatAmount(units, a.decimals);
export const parse = (a: AssetInfo, text: string) => parseAmount(text, a.decimals);
