// The node's chain parts: the connection to every chain of the chain file, and the funder,
// adjudicator and watcher its channel client uses. One chain: that chain's own (as an agent always
// had, the watcher on the store's cursor). Several (docs/cross-chain.md): one Ethereum ledger per
// chain, the multi-ledger funder, adjudicator and watcher over them, each chain's watcher cursor
// kept in the store (the first chain, the primary, takes over the single-chain cursor).
import {
  connectEthereum,
  type EthereumConfig,
  type EthereumConnection,
} from '../../channels/ethereum/config.js';
import { ethereumChainParts } from '../../channels/ethereum/environment.js';
import { ethereumLedger } from '../../channels/ethereum/ledger.js';
import type { EthereumSigner } from '../../channels/ethereum/signer.js';
import type { Adjudicator, Funder, Watcher } from '../../channels/interfaces.js';
import {
  Ledgers,
  MultiLedgerAdjudicator,
  MultiLedgerFunder,
  MultiLedgerWatcher,
  storedChainCursors,
} from '../../channels/multi/index.js';
import type { ChannelStore } from '../../channels/store.js';

export interface NodeChains {
  /** The primary chain (the chain file's first). */
  primary: EthereumConnection;
  /** Every chain, the primary first. */
  all: EthereumConnection[];
  funder: Funder;
  adjudicator: Adjudicator;
  watcher: Watcher;
  /** Closes every connection. */
  close(): void;
}

/** A URL without its path, query or credentials (an RPC URL may carry a key in either). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the configured RPC URL';
  }
}

/** Connects the account to every chain (the primary first) and builds the channel client's chain parts on them. */
export async function connectNodeChains(o: {
  chains: readonly EthereumConfig[];
  privateKey: string;
  signer: EthereumSigner;
  store: ChannelStore;
  pollMs: number;
  log: (line: string) => void;
  onWatcherError: (err: unknown) => void;
}): Promise<NodeChains> {
  const all: EthereumConnection[] = [];
  const close = () => {
    for (const c of all) c.close();
  };
  try {
    for (const config of o.chains) {
      const id = o.chains.length === 1 ? '' : ` ${config.chainId}`;
      o.log(`connecting to the chain${id} at ${originOf(config.rpcUrl)}…`);
      all.push(await connectEthereum(config, o.privateKey));
    }
  } catch (err) {
    close();
    throw err;
  }
  const primary = all[0]!;
  const poll = { pollIntervalMs: o.pollMs };
  if (all.length === 1) {
    const { adjudicator, watcher } = ethereumChainParts(primary, o.signer, {
      store: o.store,
      pollIntervalMs: o.pollMs,
      onWatcherError: o.onWatcherError,
    });
    return { primary, all, funder: primary.funder, adjudicator, watcher, close };
  }
  const ledgers = new Ledgers(
    all.map((c) =>
      ethereumLedger({
        chainId: c.config.chainId,
        tx: c.tx,
        adjudicator: c.config.adjudicator,
        signer: o.signer,
        ...poll,
      }),
    ),
  );
  return {
    primary,
    all,
    funder: new MultiLedgerFunder(ledgers),
    adjudicator: new MultiLedgerAdjudicator(ledgers),
    watcher: new MultiLedgerWatcher({
      ledgers,
      cursors: storedChainCursors(o.store, primary.config.chainId),
      ...poll,
      onError: o.onWatcherError,
    }),
    close,
  };
}
