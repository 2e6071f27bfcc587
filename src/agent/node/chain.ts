// The chain agents share when they run on one machine: `perun-agent chain` starts the embedded
// chain (anvil on loopback), deploys the Perun contracts and writes a chain file (JSON-RPC URL,
// chain ID, contract addresses) that agents name in their `chain` setting; `faucet` gives an
// address ETH on such a development chain. Also reads chain files.
import { writeFileSync } from 'node:fs';
import { JsonRpcProvider, Network, getAddress, isAddress, toQuantity } from 'ethers';
import {
  ConfigError,
  configOfDeployment,
  ethereumConfigToJson,
  type EthereumConfig,
} from '../../channels/ethereum/config.js';
import { erc20Contract } from '../../channels/ethereum/contracts.js';
import { deployContracts } from '../../channels/ethereum/deploy.js';
import { EmbeddedChain } from '../../channels/ethereum/embedded-chain.js';
import { waitForReceipt } from '../../channels/ethereum/tx.js';
import { Assets } from './assets.js';
import { chainOfSet, readChainSet } from './chains.js';

/** What dev account 0 holds of the test token: a billion PRN. */
const TOKEN_SUPPLY = 10n ** 27n;

/** Chain IDs of development chains, where the faucet may set balances (`chain --chains N` counts up from 31337). */
const DEV_CHAIN_IDS = new Set([1337n, ...Array.from({ length: 8 }, (_, i) => 31337n + BigInt(i))]);

export interface RunningChain {
  rpcUrl: string;
  config: Record<string, unknown>;
  chain: EmbeddedChain;
  stop(): Promise<void>;
}

/**
 * Starts the embedded chain, deploys the contracts and writes the chain file. The chain mines a
 * block per transaction and, every `heartbeatMs` (default 1 s), an empty one, so that its clock
 * follows the wall clock: a challenge duration ends without anybody sending a transaction.
 */
export async function runChain(o: {
  host?: string;
  port?: number;
  out?: string;
  heartbeatMs?: number;
  /** Default 31337. */
  chainId?: bigint;
}): Promise<RunningChain> {
  const chain = await EmbeddedChain.start({
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    ...(o.chainId === undefined ? {} : { chainId: Number(o.chainId) }),
  });
  try {
    // A test token (PRN, 18 decimals) for token channels; the faucet hands it out.
    const d = await deployContracts(chain.wallet(0), {
      testToken: { holders: [chain.accounts[0]!.address], supply: TOKEN_SUPPLY },
      credentialPaymentApp: true,
    });
    const config = ethereumConfigToJson(configOfDeployment(chain.url, d));
    if (o.out !== undefined) writeFileSync(o.out, JSON.stringify(config, null, 2) + '\n');
    const heartbeat = setInterval(() => void chain.mine().catch(() => undefined), o.heartbeatMs ?? 1_000);
    heartbeat.unref();
    const stop = () => {
      clearInterval(heartbeat);
      return chain.stop();
    };
    return { rpcUrl: chain.url, config, chain, stop };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}

/**
 * Reads and checks a chain file (the contracts are checked on connect): its only chain, or of a
 * file naming several (./chains.ts) the one with `chainId`, else the first.
 */
export function readChainFile(path: string, chainId?: bigint): EthereumConfig {
  return chainOfSet(readChainSet(path), chainId);
}

/**
 * Adds `amount` wei to `address` on a development chain (anvil_setBalance), or `amount` base
 * units of the test `token` (a transfer from dev account 0, which anvil signs for); returns the
 * new balance. Refused on any other chain.
 */
export async function faucet(o: {
  chain: string | EthereumConfig;
  address: string;
  amount: bigint;
  /** A token of the chain file's assetHoldersERC20. */
  token?: string;
  /** Of a chain file naming several chains, the chain (default: the first). */
  chainId?: bigint;
}) {
  const config = typeof o.chain === 'string' ? readChainFile(o.chain, o.chainId) : o.chain;
  if (!DEV_CHAIN_IDS.has(config.chainId))
    throw new ConfigError('the faucet works on development chains only', {
      chainId: config.chainId.toString(),
    });
  if (!isAddress(o.address)) throw new ConfigError('not an address', { address: o.address });
  if (o.amount <= 0n) throw new ConfigError('the amount must be positive', { amount: o.amount.toString() });
  const network = Network.from(config.chainId);
  const provider = new JsonRpcProvider(config.rpcUrl, network, { staticNetwork: network });
  try {
    const address = getAddress(o.address);
    if (o.token !== undefined) {
      const token = (await Assets.load(config, provider)).named(o.token).token;
      if (token === undefined) throw new ConfigError('not a token of the chain file', { token: o.token });
      const [dev] = (await provider.send('eth_accounts', [])) as string[];
      const erc20 = erc20Contract(token, await provider.getSigner(dev));
      const tx = (await erc20.getFunction('transfer')(address, o.amount)) as { hash: string };
      await waitForReceipt(provider, tx.hash);
      return (await erc20.getFunction('balanceOf').staticCall(address)) as bigint;
    }
    const balance = (await provider.getBalance(address)) + o.amount;
    await provider.send('anvil_setBalance', [address, toQuantity(balance)]);
    return balance;
  } finally {
    provider.destroy();
  }
}
