// A channel client's whole Ethereum environment from a chain configuration and one account key:
// the connection (checked against the chain by connectEthereum), the signer (the account's key
// signs states, as the agent's does), funder, adjudicator, the adjudicator's event source and a
// local watcher on it. What PerunModule({ ethereum }) builds when its agent initializes.
import type { WatcherCursorStore } from '../watcher.js';
import { LocalWatcher } from '../watcher.js';
import { EthereumAdjudicatorAdapter, EthereumEventSource, ethereumBackend } from './backend.js';
import { connectEthereum, type EthereumConfig, type EthereumConnection } from './config.js';
import type { EthereumFunder } from './funder.js';
import { EthereumSigner } from './signer.js';

export interface EthereumEnvironmentOptions {
  /** Keeps the watcher's cursor across restarts (a ChannelStore is one). */
  store?: WatcherCursorStore;
  /** How often the event source and the watcher read the chain; default 250 ms. */
  pollIntervalMs?: number;
  /** Failures the watcher survives (a scan retried, a handler that threw). */
  onWatcherError?: (error: unknown) => void;
}

export interface EthereumEnvironment {
  connection: EthereumConnection;
  signer: EthereumSigner;
  backend: typeof ethereumBackend;
  funder: EthereumFunder;
  adjudicator: EthereumAdjudicatorAdapter;
  events: EthereumEventSource;
  watcher: LocalWatcher;
  pollIntervalMs: number;
  /** Stops the watcher and closes the connection. */
  close(): Promise<void>;
}

/** The adjudicator, its event source and a local watcher on a connection, states signed by `signer`. */
export function ethereumChainParts(
  connection: EthereumConnection,
  signer: EthereumSigner,
  options: EthereumEnvironmentOptions = {},
): Pick<EthereumEnvironment, 'adjudicator' | 'events' | 'watcher' | 'pollIntervalMs'> {
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const adjudicator = new EthereumAdjudicatorAdapter(connection.adjudicator, signer);
  const events = new EthereumEventSource(connection.provider, connection.config.adjudicator, {
    pollIntervalMs,
  });
  const watcher = new LocalWatcher({
    events,
    adjudicator,
    pollIntervalMs,
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.onWatcherError === undefined ? {} : { onError: options.onWatcherError }),
  });
  return { adjudicator, events, watcher, pollIntervalMs };
}

/** Connects `privateKey`'s account to the configured deployment and builds the parts on it. */
export async function connectEthereumEnvironment(
  config: EthereumConfig,
  privateKey: string,
  options: EthereumEnvironmentOptions = {},
): Promise<EthereumEnvironment> {
  const signer = new EthereumSigner(privateKey);
  const connection = await connectEthereum(config, privateKey);
  const parts = ethereumChainParts(connection, signer, options);
  return {
    connection,
    signer,
    backend: ethereumBackend,
    funder: connection.funder,
    ...parts,
    close: async () => {
      await parts.watcher.close();
      connection.close();
    },
  };
}
