// The channel client's public vocabulary: what callers ask of it (proposals, sub- and virtual
// channel requests), what it tells them (channel info, incoming proposals and updates, events) and
// how it is configured. client.ts re-exports all of it.
import type { App } from '../app.js';
import type {
  Adjudicator,
  ChannelBackend,
  Funder,
  Signer,
  Watcher,
  Wire,
  WithdrawnAmount,
} from '../interfaces.js';
import type { ChannelStore } from '../store.js';
import type { Address, Allocation, Hex, Params, PaymentRecord, Phase, State } from '../types.js';

export interface ChannelInfo {
  id: Hex;
  /** Wire ID of the other participant. */
  peer: string;
  /** Our participant index (0 = we proposed the channel). */
  idx: number;
  params: Params;
  phase: Phase;
  /** The latest state every participant signed (undefined while the opening is being signed). */
  state: State | undefined;
  /**
   * Whether we compared this channel's state with the peer's since the client started: a
   * restored channel is not synced until the peer's sync or its answer to ours arrives; a channel
   * opened since, one we only observe and a withdrawn one are.
   */
  synced: boolean;
  /** The ledger channel that funds this sub-channel or virtual channel; undefined for a ledger channel. */
  parent?: Hex;
  /** We are the intermediary of this virtual channel: we hold its states but never sign them. */
  observer?: true;
  /** Payments asked of us that wait for the next update (one update is in flight at a time). */
  queuedPayments: number;
}

export interface VirtualChannelRequest {
  /** Wire ID of the other participant. */
  peer: string;
  /** The address that signs the peer's channel states (from its verified credential). */
  peerAddress: Address;
  /** Our ledger channel with the intermediary (the peer must have one with it too). */
  parent: Hex;
  /** Initial balances, [asset][participant], we are participant 0. */
  balances: bigint[][];
  /** Seconds; default: the parent's. */
  challengeDuration?: bigint;
}

export interface SubChannelRequest {
  /** Initial balances, [asset][participant] in the parent's participant order, taken from the parent's. */
  balances: bigint[][];
  /**
   * Seconds a registered state can be refuted. Default: the parent's, or half of it for an app
   * sub-channel, which must be shorter than the parent's to leave room for an on-chain progression
   * before the parent can be concluded.
   */
  challengeDuration?: bigint;
  /** The app of an app sub-channel: one of ChannelClientOptions.apps. */
  app?: Address;
  initData?: Hex;
}

export interface ProposeRequest {
  /** Wire ID of the peer. */
  peer: string;
  /** The address that signs the peer's channel states (from its verified credential). */
  peerAddress: Address;
  /** The peer's Participant.ccAddress on a channel of two backends (../cross/): its second-chain key. */
  peerCcAddress?: Hex;
  /** Initial balances, [asset][participant], we are participant 0; no locked funds. */
  allocation: Allocation;
  /** Seconds a registered state can be refuted. */
  challengeDuration: bigint;
  /** What each participant deposits, [asset][participant]; default: the initial balances. */
  fundingAgreement?: bigint[][];
  /** The app of an app channel: one of ChannelClientOptions.apps. */
  app?: Address;
  /** The initial app data of an app channel (the app's validInit decides). */
  initData?: Hex;
}

export interface IncomingProposal {
  peer: string;
  proposalID: Hex;
  participants: Address[];
  allocation: Allocation;
  fundingAgreement: bigint[][];
  challengeDuration: bigint;
  app: Address;
  initData: Hex;
  /** The ledger channel that would fund a proposed sub-channel. */
  parent?: Hex;
  /** The proposer's index in `participants`: 0, or its index in the parent of a sub-channel. */
  proposerIdx?: number;
  /** A virtual channel: through the intermediary with this address. */
  intermediary?: Address;
}

export type Decision = { accept: true } | { accept: false; reason: string };

export interface IncomingUpdate {
  channel: ChannelInfo;
  current: State;
  next: State;
  actorIdx: number;
}

export type ClientEvent =
  | { type: 'opened'; channelId: Hex; peer: string }
  | { type: 'phase'; channelId: Hex; from: Phase; to: Phase }
  | { type: 'updated'; channelId: Hex; version: bigint; by: 'us' | 'peer'; state: State }
  /**
   * Our balance per asset went down (sent) or up (received) with this state: `amounts` per asset,
   * and the payments it made, one or a batch (an update without payment IDs counts as one payment
   * per asset, named `v<version>.<asset>`).
   */
  | {
      type: 'payment-sent' | 'payment-received';
      channelId: Hex;
      version: bigint;
      amounts: bigint[];
      payments: PaymentRecord[];
      /** The state that made them. */
      state: State;
    }
  | { type: 'funding-failed'; channelId: Hex; error: unknown }
  | { type: 'registered'; channelId: Hex; version: bigint; timeout: bigint; by: 'us' | 'chain' }
  /** An app channel's registration was progressed on chain to `state`, made by participant `actorIdx`. */
  | {
      type: 'progressed';
      channelId: Hex;
      version: bigint;
      timeout: bigint;
      by: 'us' | 'chain';
      state: State;
      actorIdx: number;
    }
  | { type: 'settled'; channelId: Hex; withdrawn: WithdrawnAmount[] }
  | { type: 'warning'; channelId?: Hex; error: unknown; context: string };

export interface ChannelClientOptions {
  wire: Wire;
  signer: Signer;
  backend: ChannelBackend;
  funder: Funder;
  adjudicator: Adjudicator;
  store: ChannelStore;
  watcher?: Watcher;
  /** The apps whose channels this client takes part in; proposals of any other app are refused. */
  apps?: readonly App[];
  /** Decides incoming channel proposals; without one every proposal is rejected. */
  onProposal?: (p: IncomingProposal) => Decision | Promise<Decision>;
  /** Decides incoming updates after they passed every check; default: accept what does not lower our balances. */
  onUpdate?: (u: IncomingUpdate) => Decision | Promise<Decision>;
  /** How long to wait for a peer's answer; default 30 s. */
  responseTimeoutMs?: number;
  /** How long funding may take; default: the funder's. */
  fundingTimeoutMs?: number;
  /** How often to read the chain while waiting for a dispute timeout or a conclusion; default 250 ms. */
  chainPollMs?: number;
  /** How long the participant that did not propose the final state waits for the other's concludeFinal; default 5 s. */
  concludeWaitMs?: number;
  /**
   * Whether we lock collateral for virtual channels between our peers (docs/protocol.md §7.2):
   * we sign both funding updates once both arrive and match. Default false.
   */
  intermediary?: boolean;
  /** How long the intermediary waits for the second funding update of a virtual channel; default 10 s. */
  virtualFundingTimeoutMs?: number;
  /** Most payments one update carries (payments asked while an update is in flight wait for the next). Default 128. */
  maxBatchPayments?: number;
  /** Most of one asset one update pays (base units); a single larger payment still goes alone. Default: no limit. */
  maxBatchAmount?: bigint;
  /** Proposals taken from one peer per minute; more are refused before any check or callback. Default 30. */
  proposalsPerMinute?: number;
  /**
   * Called at the named steps of an update (failpoints, as in etcd's gofail): fault-injection tests
   * stop the process at an exact step. Leave unset in normal use.
   */
  failpoint?: (point: Failpoint, at: { channelId: Hex; version: bigint }) => void | Promise<void>;
}

/**
 * The steps of an update a failpoint can stop at: the proposer's staged state is durable (before
 * sending), the update is sent, the responder received it, the responder's acceptance is durable
 * (before sending it), the proposer received the acceptance (before checking it), the proposer
 * took the responder's signature (before the fully signed state is written, at once or deferred).
 */
export type Failpoint =
  | 'update-staged'
  | 'update-sent'
  | 'update-received'
  | 'accept-persisted'
  | 'accept-received'
  | 'update-signed';
