// The environment a channel client is handed, go-perun style (docs/protocol.md §11, docs/architecture.md): the
// transport (`Wire`), the chain backend (`ChannelBackend` for IDs and signature checks,
// `Funder`, `Adjudicator`, `AdjudicatorEventSource`), the participant key (`Signer`) and the
// `Watcher`. The channel core depends only on these; a chain is a folder beside ethereum/
// implementing them (ethereum/backend.ts for Ethereum). ChannelStore lives in store.ts.
import type { ChannelMessage } from './messages.js';
import type { Address, Hex, Params, State } from './types.js';

// ---------------------------------------------------------------------------------------------
// Transport

/** Called for every message a peer sends us; `from` is the sender's peer ID as the wire authenticated it. */
export type MessageHandler = (from: string, msg: ChannelMessage) => void | Promise<void>;

/**
 * Sends channel messages to peers identified by a string (a DID over DIDComm, a name on the
 * in-memory bus) and delivers the ones addressed to us. Delivery per peer is in order; a
 * message can be lost when the peer is unreachable (send rejects with PeerUnreachableError when
 * the wire knows it at once).
 */
export interface Wire {
  /** Our own peer ID on this wire. */
  readonly id: string;
  /**
   * Our ID as `peerId` knows us, where it depends on the peer (over DIDComm: our DID on the
   * connection with that peer); `id` when absent.
   */
  idFor?(peerId: string): string | Promise<string>;
  send(peerId: string, msg: ChannelMessage): Promise<void>;
  /** Registers a handler for incoming messages; returns the function that unregisters it. */
  onMessage(handler: MessageHandler): () => void;
}

// ---------------------------------------------------------------------------------------------
// Keys and the chain-independent part of the backend

/** The participant key that signs channel states (go-perun wallet.Account). */
export interface Signer {
  readonly address: Address;
  /** Our Participant.ccAddress on a channel of two backends (../cross/): the second chain's key. */
  readonly ccAddress?: Hex;
  /** `params`: the channel's, for a backend whose signature covers more than the state (../cross/). */
  signState(state: State, params?: Params): Hex | Promise<Hex>;
}

/**
 * True iff `sig` is `address`'s signature on `state`. The core passes the channel's `params`
 * wherever it has them; a backend that needs them (../cross/) refuses without.
 */
export type StateVerifier = (state: State, sig: Hex, address: Address, params?: Params) => boolean;

/** go-perun channel.Backend: how a chain derives channel IDs and checks state signatures. */
export interface ChannelBackend {
  channelId(params: Params): Hex;
  verifyState: StateVerifier;
  /** Throws a PerunError for a new channel this backend cannot hold (../cross/ holds payment channels only). */
  checkChannel?(params: Params, state: State): void;
  /** Told of every channel the client restores from its store, before its ledgers see it (../cross/ maps its IDs). */
  adopt?(params: Params): void;
}

/** Params, a state of that channel and every participant's signature on it, in participant order. */
export interface SignedState {
  params: Params;
  state: State;
  sigs: Hex[];
}

// ---------------------------------------------------------------------------------------------
// Funding

export interface FundingRequest {
  params: Params;
  /** The initial state (version 0); its balances are the default funding agreement. */
  state: State;
  /** Index of the funding participant. */
  idx: number;
  /** What each participant deposits, [asset][participant]; defaults to the state's balances. */
  agreement?: bigint[][];
}

/**
 * Deposits our share and resolves once every participant's deposit is confirmed; rejects with
 * FundingTimeoutError (details.missing) otherwise.
 */
export interface Funder {
  fund(req: FundingRequest, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Adjudication

export type DisputeStage = 'none' | 'dispute' | 'forceexec' | 'concluded';

/** A channel's on-chain dispute record as the core needs it. */
export interface OnChainDispute {
  stage: DisputeStage;
  /** Registered version (0 when nothing is registered). */
  version: bigint;
  /** Chain time (seconds) when the current stage ends. */
  timeout: bigint;
}

export interface ProgressRequest {
  params: Params;
  from: State;
  to: State;
  actorIdx: number;
  sig: Hex;
}

/** Amount withdrawn per asset index. */
export interface WithdrawnAmount {
  asset: number;
  amount: bigint;
}

/** The on-chain dispute and settlement calls (go-perun channel.Adjudicator). */
export interface Adjudicator {
  /** Registers a ledger channel's state with the states of its sub-channels (depth-first). */
  register(channel: SignedState, subChannels?: SignedState[]): Promise<void>;
  /** Advances a registered app channel by one move signed by its actor. */
  progress(req: ProgressRequest): Promise<void>;
  /** Concludes a registered channel after its timeout. */
  conclude(params: Params, state: State, subStates?: State[]): Promise<void>;
  /** Concludes at once with a final state signed by everyone. */
  concludeFinal(params: Params, state: State, sigs: Hex[]): Promise<void>;
  /** Withdraws participant `idx`'s share of a concluded channel; repeating it is harmless. */
  withdraw(params: Params, state: State, idx: number): Promise<WithdrawnAmount[]>;
  dispute(channelID: Hex): Promise<OnChainDispute>;
  /** Current chain time in seconds (the clock of dispute timeouts). */
  now(): Promise<bigint>;
  /**
   * Whether the channel's current dispute stage ended `extra` seconds ago or more. A backend on
   * several chains implements it, each chain judged by its own clock (../multi/); without it the
   * core compares now() with dispute().timeout.
   */
  stageEnded?(channelID: Hex, extra?: bigint): Promise<boolean>;
}

export type AdjudicatorEventKind = 'registered' | 'progressed' | 'concluded';

/** A dispute event of one channel, as read from the chain. */
export interface AdjudicatorEvent {
  kind: AdjudicatorEventKind;
  channelID: Hex;
  version: bigint;
  /** Chain time when the registered/progressed stage ends. */
  timeout: bigint;
  blockNumber: number;
  /** The registered or progressed state, when it could be recovered. */
  state?: State;
  params?: Params;
  sigs?: Hex[];
  actorIdx?: number;
}

export interface EventSubscriptionOptions {
  /** First block to scan (a stored cursor after a restart). */
  fromBlock: number;
  /** Only these channels; more can be added with watch(). */
  channelIDs?: Iterable<Hex>;
  onEvent: (event: AdjudicatorEvent) => void | Promise<void>;
  onError?: (error: unknown) => void;
}

/** A running scan of adjudicator events; `cursor` is the next block to scan (persist it). */
export interface EventSubscription {
  readonly cursor: number;
  watch(channelID: Hex): void;
  unwatch(channelID: Hex): void;
  start(): void;
  /** Scans every confirmed block from the cursor once. */
  poll(): Promise<void>;
  stop(): Promise<void>;
}

/** Where a watcher reads adjudicator events from (go-perun Adjudicator.Subscribe, cursor-based). */
export interface AdjudicatorEventSource {
  subscribe(options: EventSubscriptionOptions): EventSubscription;
  /** The current head block number (where a watcher with no stored cursor starts). */
  head?(): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Watcher

/**
 * A channel under watch; publish every newly enabled state so refutations use the latest, with
 * the latest fully signed state of every sub-channel its state locks (in the order of its locked
 * list) whenever one of them changes.
 */
export interface WatchedChannel {
  publish(signed: SignedState, subChannels?: SignedState[]): void;
  stop(): Promise<void>;
}

/**
 * Watches the adjudicator for the client's channels (go-perun watcher.Watcher): when a version
 * older than the latest published one is registered (of the channel or of one of its
 * sub-channels), it registers the latest with its sub-channels; every event of the channel and of
 * its sub-channels is handed to `onEvent` so the client can follow the dispute and settle.
 */
export interface Watcher {
  watch(
    channel: SignedState,
    onEvent: (event: AdjudicatorEvent) => void | Promise<void>,
    subChannels?: SignedState[],
  ): Promise<WatchedChannel>;
}
