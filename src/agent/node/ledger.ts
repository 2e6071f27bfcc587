// The chain a running node settles on, as the node's parts see it whatever its backend (Ethereum,
// TON): our address in channel states, the account settlements pay out to, a new channel's
// allocation, our on-chain balance, the claims of our own credential requests and what `info`
// says of the chain. The Ethereum-only features (credential sales, app, sub- and virtual
// channels) take the Ethereum parts through `ethereum(feature)`, which refuses on another backend.
import type { EthereumConnection } from '../../channels/ethereum/config.js';
import { ETH_BACKEND_ID, ethAsset } from '../../channels/ethereum/encoding.js';
import type { EthereumSigner } from '../../channels/ethereum/signer.js';
import type { App } from '../../channels/app.js';
import type { Adjudicator, ChannelBackend, Funder, Watcher } from '../../channels/interfaces.js';
import type { ChannelStore } from '../../channels/store.js';
import type { Allocation, Asset, Hex } from '../../channels/types.js';
import type { AddressBackend, AddressProofSigner, PeerClaims } from '../../protocols/identity/index.js';
import { ApiRequestError } from '../api/api-error.js';
import type { AssetInfo, Assets } from './assets.js';

/** What the Ethereum-only features of a node use. */
export interface EthereumParts {
  signer: EthereumSigner;
  /** The primary chain. */
  chain: EthereumConnection;
  /** Every chain of the chain file, the primary first (cross-chain channels). */
  chains: EthereumConnection[];
}

/** What `info` says of the chain. */
export interface LedgerInfo {
  backend: AddressBackend;
  chainId: string;
  adjudicator: string;
  assetHolderETH: string;
  /** TON: the wallet that pays our calls and receives our withdrawals. */
  account?: string;
}

export interface NodeLedger {
  readonly backend: AddressBackend;
  readonly chainId: bigint;
  /** What channel states name us by: the Ethereum address, or on TON the Ed25519 public key. */
  readonly address: string;
  /** Where our settlements withdraw to (Ethereum: the address; TON: our wallet). */
  readonly account: string;
  /** A new channel's allocation of one asset: the proposer's and the peer's balances. */
  allocation(asset: AssetInfo, balances: [bigint, bigint]): Allocation;
  /**
   * Whether a proposal's `asset` is on our chain at all (the assets table then finds it by its
   * holder): on TON every asset's Ethereum holder is zero, so the network and the contract are checked here.
   */
  holds(asset: Asset): boolean;
  /** Our account's balance of the chain's own coin (ETH, TON), in base units. */
  nativeBalance(): Promise<bigint>;
  /** The credential sale app (Ethereum only). */
  readonly saleApp: Hex | undefined;
  /** The address claims of the credentials we ask for. */
  readonly claims: Pick<PeerClaims, 'ethereumAddress' | 'tonAddress' | 'backend'>;
  info(): LedgerInfo;
  /** The Ethereum parts for `feature`; refused (409 BACKEND_UNSUPPORTED) on another backend. */
  ethereum(feature: string): EthereumParts;
}

/** The decimals of a backend's own coin: a credential's spending limit is in its address's backend's coin. */
export const coinDecimals = (backend: AddressBackend | undefined): number => (backend === 'ton' ? 9 : 18);

/** A feature the node's backend does not have. */
export function backendUnsupported(feature: string, backend: AddressBackend): ApiRequestError {
  return new ApiRequestError(409, 'BACKEND_UNSUPPORTED', `${feature}: not on ${backend} (Ethereum only)`, {
    feature,
    backend,
  });
}

/** The ledger of a node on Ethereum. */
export function ethereumLedger(parts: EthereumParts): NodeLedger {
  const saleApp = parts.chain.config.apps?.['credentialPayment'];
  const { signer, chain } = parts;
  return {
    backend: 'ethereum',
    chainId: chain.config.chainId,
    address: signer.address,
    account: signer.address,
    allocation: (asset, balances) => ({
      assets: [ethAsset(chain.config.chainId, asset.holder)],
      backends: [ETH_BACKEND_ID],
      balances: [balances],
      locked: [],
    }),
    holds: () => true,
    nativeBalance: () => chain.provider.getBalance(signer.address),
    saleApp,
    claims: { ethereumAddress: signer.address },
    info: () => ({
      backend: 'ethereum',
      chainId: chain.config.chainId.toString(),
      adjudicator: chain.config.adjudicator,
      assetHolderETH: chain.config.assetHolderETH,
    }),
    ethereum: () => parts,
  };
}

/** What a node runs on one chain: its ledger and assets, and the channel client's chain parts. */
export interface NodeChain {
  ledger: NodeLedger;
  assets: Assets;
  /** Signs our channel states and address proofs. */
  signer: AddressProofSigner;
  backend: ChannelBackend;
  funder: Funder;
  adjudicator: Adjudicator;
  /** Follows the chain(s) for the channel client, its cursors in the channel store. */
  watcher: Watcher;
  apps: readonly App[];
  close(): void;
}

/** What starting a node's chain needs beside its configuration and the agent's keys. */
export interface ChainStartOptions {
  pollMs: number;
  log: (line: string) => void;
  store: ChannelStore;
  onWatcherError: (err: unknown) => void;
}
