// A node on TON (docs/ton.md, "Running the agent on TON"): its Ed25519 key, kept in the agent's
// KMS beside the Ethereum account (made at the first start on TON, the same at every start
// after), the chain of a `ton` chain file over its toncenter-shaped API, the development wallet
// the chain server keeps for that key (funded; it pays our calls and receives our withdrawals),
// Toncoin as the one asset, and the TON backend's funder, adjudicator and a watcher on its events.
import { randomBytes } from 'node:crypto';
import { tonEnvironment } from '../../channels/ton/backend.js';
import { connectTon, type TonChainConfig } from '../../channels/ton/config.js';
import { TON_BACKEND_ID, tonAsset } from '../../channels/ton/encoding.js';
import { TonSigner } from '../../channels/ton/signer.js';
import type { EthereumConfig } from '../../channels/ethereum/config.js';
import type { PerunKeyManagementService } from '../kms/index.js';
import { Assets } from './assets.js';
import { AgentConfigError, ETHEREUM_SECRET } from './config.js';
import { backendUnsupported, type ChainStartOptions, type NodeChain, type NodeLedger } from './ledger.js';

/** The KMS secret of the agent's TON key: `{ seed }`, the 32-byte Ed25519 seed in hex. */
export const TON_SECRET = 'ton-account';
/** Toncoin: the one asset of a TON node. */
export const TON_SYMBOL = 'TON';
export const TON_DECIMALS = 9;

/** Whether the node's chain is a TON chain (a chain file of kind `ton`). */
export const isTonChain = (c: EthereumConfig | TonChainConfig): c is TonChainConfig =>
  'kind' in c && c.kind === 'ton';

/** The agent's TON key: the one its KMS keeps, else a new one, stored there first. */
export async function tonSignerOf(kms: PerunKeyManagementService): Promise<TonSigner> {
  if ((await kms.getSecret(ETHEREUM_SECRET)) === undefined)
    throw new AgentConfigError('NOT_INITIALISED', 'the database holds no agent: run init');
  const stored = await kms.getSecret<{ seed: string }>(TON_SECRET);
  if (stored !== undefined) return new TonSigner(Buffer.from(stored.seed, 'hex'));
  const seed = randomBytes(32);
  await kms.putSecret(TON_SECRET, { seed: seed.toString('hex') });
  return new TonSigner(seed);
}

/** The name of the chain server's development wallet of an agent's key (0x-hex): the key in hex. */
export const devWalletName = (key: string) => key.slice(2).toLowerCase();

/** Connects a node to the TON chain of `config` with the agent's TON key. */
export async function startTonChain(
  config: TonChainConfig,
  kms: PerunKeyManagementService,
  o: ChainStartOptions,
): Promise<NodeChain> {
  const signer = await tonSignerOf(kms);
  o.log(`connecting to the TON chain at ${new URL(config.endpoint).origin}…`);
  const chain = await connectTon(config);
  const wallet = await chain.devWallet(devWalletName(signer.address));
  const env = tonEnvironment(chain, config.perun, signer, wallet, {
    pollIntervalMs: o.pollMs,
    eventPollMs: o.pollMs,
    store: o.store,
    onWatcherError: o.onWatcherError,
  });
  const asset = tonAsset(chain.chainID, config.perun);
  const account = wallet.address.toString();
  const perun = config.perun.toString();
  const ledger: NodeLedger = {
    backend: 'ton',
    chainId: chain.chainID,
    address: signer.address,
    account,
    allocation: (_asset, balances) => ({
      assets: [asset],
      backends: [TON_BACKEND_ID],
      balances: [balances],
      locked: [],
    }),
    holds: (a) =>
      a.chainID === asset.chainID &&
      a.ccHolder.toLowerCase() === asset.ccHolder.toLowerCase() &&
      a.ethHolder === asset.ethHolder,
    nativeBalance: () => wallet.balance(),
    saleApp: undefined,
    claims: { backend: 'ton', tonAddress: signer.address },
    info: () => ({
      backend: 'ton',
      chainId: chain.chainID.toString(),
      adjudicator: perun,
      assetHolderETH: perun,
      account,
    }),
    ethereum: (feature) => {
      throw backendUnsupported(feature, 'ton');
    },
  };
  return {
    ledger,
    assets: Assets.of([
      {
        symbol: TON_SYMBOL,
        decimals: TON_DECIMALS,
        holder: asset.ethHolder,
        chainId: chain.chainID.toString(),
      },
    ]),
    signer,
    backend: env.backend,
    funder: env.funder,
    adjudicator: env.adjudicator,
    watcher: env.watcher,
    apps: [],
    close: () => undefined,
  };
}
