// The TON backend seen through the channel core's interfaces: channel IDs (hash of the Params
// cell) and Ed25519 state signatures as a ChannelBackend, and one place that wires a party's
// signer, wallet and the Perun contract into the funder, adjudicator, event source and a local
// watcher on it, the parts the core takes (tonEnvironment).
import type { Address as TonAddress } from '@ton/core';
import type { AdjudicatorEventSource, ChannelBackend } from '../interfaces.js';
import { TonAdjudicator, TonFunder, type TonFunderOptions } from './adjudicator.js';
import type { TonChain, TonWallet } from './chain.js';
import { PerunContract } from './contract.js';
import { channelId } from './encoding.js';
import { LocalWatcher, type WatcherCursorStore } from '../watcher.js';
import { TonEventSource } from './events.js';
import { verifyStateSignature, type TonSigner } from './signer.js';

/** Channel IDs and state signatures on TON. */
export const tonBackend: ChannelBackend = {
  channelId,
  verifyState: verifyStateSignature,
};

export interface TonEnvironment {
  backend: ChannelBackend;
  signer: TonSigner;
  funder: TonFunder;
  adjudicator: TonAdjudicator;
  events: AdjudicatorEventSource;
  watcher: LocalWatcher;
}

export interface TonEnvironmentOptions extends TonFunderOptions {
  receiver?: TonAddress;
  eventPollMs?: number;
  /** Keeps the watcher's cursor across restarts (a ChannelStore is one). */
  store?: WatcherCursorStore;
  /** Failures the watcher survives (a scan retried, a handler that threw). */
  onWatcherError?: (error: unknown) => void;
}

/** What a channel client of `signer` needs on TON: calls sent from `wallet` to the Perun contract at `perun`. */
export function tonEnvironment(
  chain: TonChain,
  perun: TonAddress,
  signer: TonSigner,
  wallet: TonWallet,
  options: TonEnvironmentOptions = {},
): TonEnvironment {
  const contract = new PerunContract(chain, perun);
  const adjudicator = new TonAdjudicator(contract, wallet, signer, options.receiver);
  const events = new TonEventSource(chain, perun, { pollIntervalMs: options.eventPollMs });
  return {
    backend: tonBackend,
    signer,
    funder: new TonFunder(contract, wallet, options),
    adjudicator,
    events,
    watcher: new LocalWatcher({
      events,
      adjudicator,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      ...(options.store === undefined ? {} : { store: options.store }),
      ...(options.onWatcherError === undefined ? {} : { onError: options.onWatcherError }),
    }),
  };
}
