// ChannelClient: runs the two-party ledger-channel protocols of one participant (go-perun's
// client, perun-protocol.md 2.5 and 4.2) on the environment it is handed: a Wire to the peers,
// a Signer, the chain backend (channel IDs and signature checks, Funder, Adjudicator), an
// optional Watcher, and a ChannelStore. It owns the registry of open channels and, per channel,
// the order of events: one local operation at a time (update, close, dispute), and every change
// of the machine written to the store before anything that depends on it leaves the process
// (in particular every signature). Incoming messages are checked before any callback runs.
//
// Conventions: the proposer of a channel is participant 0. We never sign two different states
// with one version: a version we signed for a state that was dropped (rejected, undelivered,
// beaten) is used up, and our next state takes a higher one (versions may skip). When both sides
// propose an update at once, participant 0's goes first: participant 1 drops its own, refuses
// participant 0's if it used that version (participant 0 proposes again above it) and re-applies
// its caller's update on top of participant 0's once that is signed.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sha3_256 } from '@noble/hashes/sha3.js';
import {
  ChannelClientError,
  FundingTimeoutError,
  InvalidTransitionError,
  ValidationError,
} from './errors.js';
import type {
  Adjudicator,
  AdjudicatorEvent,
  ChannelBackend,
  Funder,
  OnChainDispute,
  SignedState,
  Signer,
  WatchedChannel,
  Watcher,
  Wire,
  WithdrawnAmount,
} from './interfaces.js';
import { stateToJson, paramsToJson } from './json.js';
import type { App } from './app.js';
import { canTransition, ChannelMachine, type Phase } from './machine.js';
import type {
  ChannelMessage,
  ChannelSync,
  ChannelUpdate,
  ChannelUpdateAccept,
  ChannelUpdateReject,
  LedgerChannelProposal,
  SubChannelProposal,
  VirtualChannelProposal,
  VirtualChannelUpdate,
} from './messages.js';
import { Mutex } from './persistence/mutex.js';
import { identityMap, lockFunds, pairMap, sameApartFromVersion, unlockFunds } from './subchannel.js';
import type { ChannelRecord, ChannelStore, NewChannelRecord } from './store.js';
import type { Address, Allocation, Hex, Params, State } from './types.js';
import {
  checkUpdate,
  type AppRule,
  MAX_VERSION_STEP,
  paymentAppRule,
  sameAsset,
  sameHex,
  sameLocked,
  totals,
  validateAllocation,
  validateState,
  ZERO_APP,
} from './validation.js';

// ---------------------------------------------------------------------------------------------
// Public types

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
  /** The ledger channel that funds this sub-channel or virtual channel; undefined for a ledger channel. */
  parent?: Hex;
  /** We are the intermediary of this virtual channel: we hold its states but never sign them. */
  observer?: true;
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
  /** Our balance per asset went down (sent) or up (received) with this state. */
  | { type: 'payment-sent' | 'payment-received'; channelId: Hex; version: bigint; amounts: bigint[] }
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
   * Whether we lock collateral for virtual channels between our peers (perun-protocol.md 2.5.3):
   * we sign both funding updates once both arrive and match. Default false.
   */
  intermediary?: boolean;
  /** How long the intermediary waits for the second funding update of a virtual channel; default 10 s. */
  virtualFundingTimeoutMs?: number;
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
 * (before sending it), the proposer received the acceptance (before persisting it).
 */
export type Failpoint =
  'update-staged' | 'update-sent' | 'update-received' | 'accept-persisted' | 'accept-received';

// ---------------------------------------------------------------------------------------------
// Internals

/** `conflict`: try again; with `wait`, once the peer's update that went first is signed. */
type Answer =
  | { kind: 'accepted'; state: State }
  | { kind: 'rejected'; reason: string; code?: string }
  | { kind: 'conflict'; wait: boolean };

interface Pending {
  version: bigint;
  resolve: (a: Answer) => void;
  /**
   * Our update, signed and sent, that we dropped to sign the peer's newer concurrent one. The
   * peer may still have signed it first (its update then builds on ours), so its answer decides.
   */
  yielded?: State;
}

interface Entry {
  id: Hex;
  peer: string;
  machine: ChannelMachine;
  /** The ledger channel funding this sub-channel or virtual channel (ours, for a virtual channel). */
  parent?: Entry;
  /** We are the intermediary of this virtual channel (a copy of its states, never signed by us). */
  observer?: boolean;
  /** Serializes machine changes and their persistence (short critical sections). */
  lock: Mutex;
  /** Serializes local operations (update, close, dispute); held while waiting for the peer. */
  local: Mutex;
  pending?: Pending;
  persistedVersion: bigint;
  persistedPhase: Phase;
  persistedUsed: bigint;
  /** The lowest version the peer said it would sign (its used-up version + 1), from a VERSION_USED refusal. */
  peerMinVersion?: bigint;
  /** Called whenever a newer fully signed state is persisted. */
  onNewer: Set<() => void>;
  watched?: WatchedChannel;
  /** The on-chain settlement in progress (dispute, conclusion, withdrawal), if any. */
  settling?: Promise<WithdrawnAmount[]>;
  /** The latest state seen registered on chain with its signatures (from watcher events). */
  registered?: SignedState;
  /** Counts the chain events seen for this channel: a dispute flow waiting for a timeout wakes on one. */
  chainEvents: number;
  /** Responder side: fires when the proposer never sends its version-0 signature. */
  openTimer?: ReturnType<typeof setTimeout>;
  /** Our funding in progress: the peer may see the channel funded first and send an update. */
  funding?: Promise<void>;
}

/** A funding update of a virtual channel the intermediary holds until the other parent's arrives. */
interface VirtualFunding {
  parent: Entry;
  from: string;
  msg: VirtualChannelUpdate;
  /** The parent's version the update builds on. */
  base: bigint;
  answer: (matched: VirtualFunding | undefined) => void;
}

interface ProposalWait {
  peer: string;
  resolve: (m: ChannelMessage) => void;
}

const hex = (b: Uint8Array): Hex => '0x' + Buffer.from(b).toString('hex');
/** 32 zero bytes: a placeholder nonce share (and an Ethereum participant's ccAddress). */
const ZERO_SHARE: Hex = '0x' + '00'.repeat(32);
const canonical = (s: State): string => JSON.stringify(stateToJson(s));
const sameState = (a: State, b: State): boolean => canonical(a) === canonical(b);

/** Channel nonce from both parties' shares: SHA3-256 (FIPS) of shareP ‖ shareR as a big-endian integer. */
export function channelNonce(proposerShare: Hex, responderShare: Hex): bigint {
  const data = Buffer.concat([
    Buffer.from(proposerShare.slice(2), 'hex'),
    Buffer.from(responderShare.slice(2), 'hex'),
  ]);
  return BigInt(hex(sha3_256(data)));
}

const lockedDiffers = (a: State, b: State): boolean => !sameLocked(a.outcome, b.outcome);

/** Our balance change per asset from `from` to `to`. */
function delta(from: State, to: State, idx: number): bigint[] {
  return to.outcome.balances.map((row, a) => row[idx]! - from.outcome.balances[a]![idx]!);
}

export class ChannelClient extends EventEmitter {
  readonly #o: Required<Pick<ChannelClientOptions, 'responseTimeoutMs' | 'chainPollMs' | 'concludeWaitMs'>> &
    ChannelClientOptions;
  readonly #channels = new Map<string, Entry>();
  readonly #proposals = new Map<string, ProposalWait>();
  readonly #proposalTimes = new Map<string, number[]>();
  /** Virtual channel ID → the first funding update, waiting for its match. */
  readonly #virtualFundings = new Map<string, VirtualFunding>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  readonly #verified = new Set<string>();
  readonly #apps: ReadonlyMap<string, App>;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(options: ChannelClientOptions) {
    super();
    this.#o = { responseTimeoutMs: 30_000, chainPollMs: 250, concludeWaitMs: 5_000, ...options };
    this.#apps = new Map((options.apps ?? []).map((a) => [a.address.toLowerCase(), a]));
  }

  /** The transition rule of the channel's app, for checkUpdate; undefined for a channel without app. */
  #appRule(entry: Entry): AppRule | undefined {
    const address = entry.machine.params.app;
    if (sameHex(address, ZERO_APP)) return undefined;
    const app = this.#apps.get(address.toLowerCase());
    if (app === undefined) {
      // Restored from a store written with the app, by a client that no longer has it.
      return () => {
        throw new InvalidTransitionError('APP_RULE', `unknown app ${address}`, { app: address });
      };
    }
    return (params, from, to, actor) => app.validTransition(params, from, to, actor);
  }

  get address(): Address {
    return this.#o.signer.address;
  }

  /** Starts receiving messages and restores every stored channel in its phase, then syncs with the peers. */
  async start(): Promise<void> {
    if (this.#unsubscribe !== undefined) return;
    this.#unsubscribe = this.#o.wire.onMessage((from, msg) => this.#dispatch(from, msg));
    const records = await this.#o.store.listChannels();
    records.sort((a, b) => Number(a.parentId !== null) - Number(b.parentId !== null));
    for (const r of records) this.#restore(r);
    for (const e of this.#channels.values()) if (e.parent === undefined) this.#reconcileChildren(e);
    const peers = new Set([...this.#channels.values()].map((e) => e.peer));
    for (const peer of peers) await this.sync(peer);
    for (const e of this.#channels.values()) {
      // A final sub-channel whose release was cut short: release it now.
      if (e.parent !== undefined && e.machine.phase === 'Final' && this.#locks(e.parent, e.id)) {
        this.#settleInBackground(e, () => this.#releaseSubChannel(e));
      }
    }
  }

  /** Stops receiving, stops watching, fails waiting calls; stored channels resume on the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort(new ChannelClientError('CLIENT_CLOSED', 'the client was closed'));
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const e of this.#channels.values()) {
      clearTimeout(e.openTimer);
      e.pending?.resolve({ kind: 'rejected', reason: 'client closed', code: 'CLIENT_CLOSED' });
      await e.watched?.stop();
    }
    for (const w of this.#proposals.values()) {
      w.resolve({ type: 'channel-proposal-reject', proposalID: '0x', reason: 'client closed' });
    }
    this.#proposals.clear();
    await Promise.allSettled([...this.#background]);
  }

  channel(id: Hex): ChannelInfo {
    return this.#info(this.#entry(id));
  }

  channels(): ChannelInfo[] {
    return [...this.#channels.values()].map((e) => this.#info(e));
  }

  /** Resolves when the channel's on-chain settlement (if one is running) has finished. */
  async settlement(id: Hex): Promise<WithdrawnAmount[] | undefined> {
    return this.#entry(id).settling;
  }

  // -------------------------------------------------------------------------------------------
  // Opening

  /** Proposes a ledger channel to `req.peer`, and once accepted signs, funds and opens it. */
  async proposeChannel(req: ProposeRequest): Promise<ChannelInfo> {
    this.#requireOpen();
    const participants = [this.address, req.peerAddress];
    const agreement = req.fundingAgreement ?? req.allocation.balances;
    const msg: LedgerChannelProposal = {
      type: 'ledger-channel-proposal',
      proposalID: hex(randomBytes(32)),
      challengeDuration: req.challengeDuration,
      nonceShare: hex(randomBytes(32)),
      participants,
      peers: [await this.#ourId(req.peer), req.peer],
      app: req.app ?? ZERO_APP,
      initData: req.initData ?? '0x',
      initBals: structuredClone(req.allocation),
      fundingAgreement: agreement,
    };
    const problem = this.#checkProposal(msg);
    if (problem !== undefined) throw new ChannelClientError('INVALID_REQUEST', problem);

    const reply = await this.#proposal(req.peer, msg, 'channel', 'ledger-channel-accept');
    const { params, state } = this.#initial(msg, reply.nonceShare);
    const { entry, machine, sig } = await this.#signOpening(req.peer, params, state, 0, reply.sig);
    const id = entry.id;
    await this.#created(entry, { id, params, ourIndex: 0, peers: msg.peers, phase: machine.phase });
    await this.#send(req.peer, { type: 'channel-update-accept', channelID: id, version: 0n, sig });
    await this.#fund(entry);
    return this.#info(entry);
  }

  /** Sends a proposal and resolves with the peer's acceptance; PROPOSAL_REJECTED with its reason otherwise. */
  async #proposal<T extends 'ledger-channel-accept' | 'sub-channel-accept' | 'virtual-channel-accept'>(
    peer: string,
    msg: LedgerChannelProposal | SubChannelProposal | VirtualChannelProposal,
    what: string,
    accept: T,
  ): Promise<Extract<ChannelMessage, { type: T }>> {
    const reply = await this.#ask(peer, msg);
    if (reply.type === 'channel-proposal-reject') {
      throw new ChannelClientError('PROPOSAL_REJECTED', `the peer rejected the ${what}: ${reply.reason}`, {
        reason: reply.reason,
        peer,
      });
    }
    if (reply.type !== accept) throw new ChannelClientError('INVALID_REQUEST', 'unexpected reply');
    return reply as Extract<ChannelMessage, { type: T }>;
  }

  /** The proposer's new channel: the initial state with the peer's signature and ours (Funding). */
  async #signOpening(
    peer: string,
    params: Params,
    state: State,
    idx: number,
    peerSig: Hex,
  ): Promise<{ entry: Entry; machine: ChannelMachine; sig: Hex }> {
    const id = state.channelID;
    if (this.#channels.has(id.toLowerCase())) {
      throw new ChannelClientError('INVALID_REQUEST', 'the channel exists already', { channelId: id });
    }
    const machine = ChannelMachine.create({ params, channelID: id, idx }, this.#verifier);
    machine.init(state);
    machine.addSignature(1 - idx, peerSig);
    const sig = await this.#o.signer.signState(state);
    machine.addOwnSignature(sig);
    machine.enable();
    return { entry: this.#add(id, peer, machine, 'InitActing'), machine, sig };
  }

  /** The responder's new channel: the initial state signed by us, awaiting the proposer's signature; undefined if it exists. */
  async #signResponse(
    from: string,
    params: Params,
    state: State,
    idx: number,
  ): Promise<{ entry: Entry; machine: ChannelMachine; sig: Hex } | undefined> {
    if (this.#channels.has(state.channelID.toLowerCase())) return undefined;
    const machine = ChannelMachine.create({ params, channelID: state.channelID, idx }, this.#verifier);
    machine.init(state);
    const sig = await this.#o.signer.signState(state);
    machine.addOwnSignature(sig);
    return { entry: this.#add(state.channelID, from, machine, 'InitActing'), machine, sig };
  }

  #checkProposal(p: LedgerChannelProposal): string | undefined {
    if (p.participants.length !== 2 || p.peers.length !== 2) return 'a ledger channel has two participants';
    if (sameHex(p.participants[0]!, p.participants[1]!)) return 'the participants must differ';
    if (p.peers[0] === p.peers[1]) return 'the peers must differ';
    if (p.challengeDuration <= 0n || p.challengeDuration >= 1n << 64n) return 'invalid challenge duration';
    if (p.initBals.locked.length > 0) return 'a new channel has no locked funds';
    try {
      validateAllocation(p.initBals, 2);
    } catch (err) {
      return err instanceof Error ? err.message : 'invalid allocation';
    }
    const appProblem = this.#appProblem(p, () => this.#initial(p, ZERO_SHARE));
    if (appProblem !== undefined) return appProblem;
    const want = totals(p.initBals);
    if (p.fundingAgreement.length !== want.length) return 'funding agreement does not fit the assets';
    for (let a = 0; a < want.length; a++) {
      const row = p.fundingAgreement[a]!;
      if (row.length !== 2 || row.some((v) => v < 0n)) return 'invalid funding agreement';
      if (row[0]! + row[1]! !== want[a]) return 'funding agreement does not match the balances';
    }
    return undefined;
  }

  /** Why the proposal's app (or its absence) does not fit its initial data and state, or undefined. */
  #appProblem(
    p: LedgerChannelProposal | SubChannelProposal,
    initial: () => { params: Params; state: State },
  ): string | undefined {
    if (sameHex(p.app, ZERO_APP)) {
      return p.initData === '0x' ? undefined : 'a channel without app has no app data';
    }
    const app = this.#apps.get(p.app.toLowerCase());
    if (app === undefined) return `unknown app ${p.app}`;
    const { params, state } = initial();
    try {
      app.validInit(params, state);
      return undefined;
    } catch (err) {
      return `the app refuses the initial state: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  #initial(p: LedgerChannelProposal, responderShare: Hex): { params: Params; state: State } {
    const participants = p.participants.map((a) => ({ ethAddress: a, ccAddress: ZERO_SHARE }));
    return this.#opening(p, responderShare, participants, 'ledger');
  }

  #subInitial(parent: Entry, p: SubChannelProposal, responderShare: Hex): { params: Params; state: State } {
    return this.#opening(p, responderShare, structuredClone(parent.machine.params.participants), 'sub');
  }

  /** The params and version-0 state a proposal and the responder's nonce share make. */
  #opening(
    p: Pick<SubChannelProposal, 'challengeDuration' | 'nonceShare' | 'app' | 'initData' | 'initBals'>,
    responderShare: Hex,
    participants: Params['participants'],
    kind: 'ledger' | 'sub' | 'virtual',
  ): { params: Params; state: State } {
    const params: Params = {
      challengeDuration: p.challengeDuration,
      nonce: channelNonce(p.nonceShare, responderShare),
      participants,
      app: p.app,
      ledgerChannel: kind === 'ledger',
      virtualChannel: kind === 'virtual',
    };
    const state: State = {
      channelID: this.#o.backend.channelId(params),
      version: 0n,
      outcome: structuredClone(p.initBals),
      appData: p.initData,
      isFinal: false,
    };
    return { params, state };
  }

  async #onProposal(from: string, p: LedgerChannelProposal): Promise<void> {
    const reject = (reason: string) =>
      this.#send(from, { type: 'channel-proposal-reject', proposalID: p.proposalID, reason });
    if (!this.#admitProposal(from)) return reject('too many proposals; try again later');
    if (p.peers[0] !== from || p.peers[1] !== (await this.#ourId(from))) {
      return reject('the peers do not match the connection');
    }
    if (p.participants.length !== 2 || !sameHex(p.participants[1]!, this.address)) {
      return reject('participant 1 is not our address');
    }
    const problem = this.#checkProposal(p);
    if (problem !== undefined) return reject(problem);
    const decision = (await this.#o.onProposal?.({
      peer: from,
      proposalID: p.proposalID,
      participants: [...p.participants],
      allocation: structuredClone(p.initBals),
      fundingAgreement: structuredClone(p.fundingAgreement),
      challengeDuration: p.challengeDuration,
      app: p.app,
      initData: p.initData,
    })) ?? { accept: false, reason: 'this client takes no channel proposals' };
    if (!decision.accept) return reject(decision.reason);

    const share = hex(randomBytes(32));
    const { params, state } = this.#initial(p, share);
    const opened = await this.#signResponse(from, params, state, 1);
    if (opened === undefined) return reject('the channel exists already');
    const { entry, machine, sig } = opened;
    const id = entry.id;
    await this.#created(entry, { id, params, ourIndex: 1, peers: [...p.peers], phase: machine.phase });
    this.#armOpenTimer(entry);
    await this.#send(from, {
      type: 'ledger-channel-accept',
      proposalID: p.proposalID,
      nonceShare: share,
      sig,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Sub-channels

  /**
   * Opens a sub-channel of the ledger channel `parentId` with the same peer (perun-protocol.md
   * 2.5.2): the peer accepts the proposal, both sign the initial state, and our update of the
   * parent moves `req.balances` out of the parent's balances into locked funds. Resolves with the
   * open sub-channel. Its payments and app moves are updates of its own; `settle` returns its
   * final balances to the parent, and a dispute of either registers the parent with it.
   */
  async proposeSubChannel(parentId: Hex, req: SubChannelRequest): Promise<ChannelInfo> {
    this.#requireOpen();
    const parent = this.#entry(parentId);
    const pm = parent.machine;
    if (parent.parent !== undefined || !pm.params.ledgerChannel) {
      throw new ChannelClientError('INVALID_REQUEST', 'a sub-channel needs a ledger channel as parent', {
        channelId: parentId,
      });
    }
    this.#requirePhase(parent, 'Acting');
    const cur = pm.current!.state;
    const app = req.app ?? ZERO_APP;
    const msg: SubChannelProposal = {
      type: 'sub-channel-proposal',
      proposalID: hex(randomBytes(32)),
      parentID: parent.id,
      challengeDuration:
        req.challengeDuration ??
        (sameHex(app, ZERO_APP) ? pm.params.challengeDuration : pm.params.challengeDuration / 2n),
      nonceShare: hex(randomBytes(32)),
      app,
      initData: req.initData ?? '0x',
      initBals: {
        assets: structuredClone(cur.outcome.assets),
        backends: [...cur.outcome.backends],
        balances: structuredClone(req.balances),
        locked: [],
      },
    };
    const problem = this.#checkSubProposal(parent, msg);
    if (problem !== undefined) throw new ChannelClientError('INVALID_REQUEST', problem);

    const reply = await this.#proposal(parent.peer, msg, 'sub-channel', 'sub-channel-accept');
    const { params, state } = this.#subInitial(parent, msg, reply.nonceShare);
    const { entry, sig } = await this.#signOpening(parent.peer, params, state, pm.idx, reply.sig);
    const id = entry.id;
    entry.parent = parent;
    await this.#created(entry, await this.#subRecord(entry, parent));
    await this.#send(parent.peer, { type: 'channel-update-accept', channelID: id, version: 0n, sig });
    await this.#fundSubChannel(entry);
    return this.#info(entry);
  }

  async #subRecord(entry: Entry, parent: Entry): Promise<NewChannelRecord> {
    const ours = await this.#ourId(parent.peer);
    const m = entry.machine;
    return {
      id: entry.id,
      params: m.params,
      ourIndex: m.idx,
      peers: m.idx === 0 ? [ours, parent.peer] : [parent.peer, ours],
      parentId: parent.id,
      phase: m.phase,
    };
  }

  /** Why a sub-channel proposal cannot be taken, or undefined. */
  /**
   * Why the open ledger channel `parent` cannot fund a new two-party child with `p`'s challenge
   * duration and initial allocation, its participants sitting in the parent at `map`, or
   * undefined. `say` words the refusals for the kind of child; `tooLittle` replaces lockFunds'.
   */
  #fundingProblem(
    parent: Entry,
    p: { challengeDuration: bigint; initBals: Allocation },
    map: number[],
    say: { notOpen: string; assets: string; funds: string; tooLittle?: string },
  ): string | undefined {
    const pm = parent.machine;
    const cur = pm.current?.state;
    if (cur === undefined || pm.phase !== 'Acting') return say.notOpen;
    if (parent.parent !== undefined || !pm.params.ledgerChannel) return 'the parent is not a ledger channel';
    if (p.challengeDuration <= 0n || p.challengeDuration >= 1n << 64n) return 'invalid challenge duration';
    if (p.initBals.locked.length > 0) return 'a new channel has no locked funds';
    try {
      validateAllocation(p.initBals, 2);
    } catch (err) {
      return err instanceof Error ? err.message : 'invalid allocation';
    }
    const assets = cur.outcome.assets;
    if (
      p.initBals.assets.length !== assets.length ||
      p.initBals.assets.some((a, i) => !sameAsset(a, assets[i]!)) ||
      p.initBals.backends.some((b, i) => b !== cur.outcome.backends[i])
    ) {
      return say.assets;
    }
    if (totals(p.initBals).every((t) => t === 0n)) return say.funds;
    try {
      lockFunds(cur, ZERO_SHARE, p.initBals.balances, map);
    } catch (err) {
      return say.tooLittle ?? (err instanceof Error ? err.message : 'the parent cannot fund the child');
    }
    return undefined;
  }

  #checkSubProposal(parent: Entry, p: SubChannelProposal): string | undefined {
    const problem = this.#fundingProblem(parent, p, identityMap(2), {
      notOpen: 'the parent channel is not open',
      assets: 'the sub-channel must hold the parent’s assets',
      funds: 'a sub-channel needs funds',
    });
    if (problem !== undefined) return problem;
    if (!sameHex(p.app, ZERO_APP) && p.challengeDuration >= parent.machine.params.challengeDuration) {
      return 'an app sub-channel needs a shorter challenge duration than its parent';
    }
    return this.#appProblem(p, () => this.#subInitial(parent, p, ZERO_SHARE));
  }

  async #onSubProposal(from: string, p: SubChannelProposal): Promise<void> {
    const reject = (reason: string) =>
      this.#send(from, { type: 'channel-proposal-reject', proposalID: p.proposalID, reason });
    if (!this.#admitProposal(from)) return reject('too many proposals; try again later');
    const parent = this.#channels.get(p.parentID.toLowerCase());
    if (parent === undefined) return reject('unknown parent channel');
    if (parent.peer !== from) return reject('not a participant of the parent channel');
    const problem = this.#checkSubProposal(parent, p);
    if (problem !== undefined) return reject(problem);
    const decision = (await this.#o.onProposal?.({
      peer: from,
      proposalID: p.proposalID,
      participants: parent.machine.params.participants.map((x) => x.ethAddress),
      allocation: structuredClone(p.initBals),
      fundingAgreement: structuredClone(p.initBals.balances),
      challengeDuration: p.challengeDuration,
      app: p.app,
      initData: p.initData,
      parent: parent.id,
      proposerIdx: 1 - parent.machine.idx,
    })) ?? { accept: false, reason: 'this client takes no channel proposals' };
    if (!decision.accept) return reject(decision.reason);

    const share = hex(randomBytes(32));
    const { params, state } = this.#subInitial(parent, p, share);
    const me = parent.machine.idx;
    const opened = await this.#signResponse(from, params, state, me);
    if (opened === undefined) return reject('the channel exists already');
    const { entry, sig } = opened;
    entry.parent = parent;
    await this.#created(entry, await this.#subRecord(entry, parent));
    this.#armOpenTimer(entry);
    await this.#send(from, { type: 'sub-channel-accept', proposalID: p.proposalID, nonceShare: share, sig });
  }

  /** The proposer's update of the parent that locks the sub-channel's initial balances; then the sub-channel is open. */
  async #fundSubChannel(entry: Entry): Promise<void> {
    const parent = entry.parent!;
    const initial = entry.machine.current!;
    await this.#updateParent(
      parent,
      (s) => lockFunds(s, entry.id, initial.state.outcome.balances, this.#indexMapOf(entry)),
      this.#virtualPayload(entry, initial.state, initial.sigs),
    );
    await this.#subChannelFunded(entry);
  }

  /**
   * How a child's participants map onto its parent's: a sub-channel's are the parent's; a virtual
   * channel's other participant is the intermediary, the other participant of our parent.
   */
  #indexMapOf(entry: Entry): number[] {
    if (!entry.machine.params.virtualChannel) return identityMap(2);
    return pairMap(entry.machine.idx, entry.parent!.machine.idx);
  }

  /** The virtual channel's params and signed state a parent update of it carries to the intermediary. */
  #virtualPayload(
    entry: Entry,
    state: State,
    sigs: readonly Hex[],
  ): VirtualChannelUpdate['virtual'] | undefined {
    if (!entry.machine.params.virtualChannel) return undefined;
    return { params: entry.machine.params, state: structuredClone(state), sigs: [...sigs] };
  }

  /** Runs a parent update that changes locked funds (a lock or a release), retried like update(). */
  async #updateParent(
    parent: Entry,
    fn: (current: State) => State,
    virtual?: VirtualChannelUpdate['virtual'],
  ): Promise<State> {
    return parent.local.run(async () => {
      for (let attempt = 0; ; attempt++) {
        const before = parent.machine.version;
        const answer = await this.#proposeUpdate(parent, fn, { locks: true, virtual });
        if (answer.kind === 'accepted') return answer.state;
        if (answer.kind === 'conflict' && attempt < 5) {
          if (answer.wait) await this.#newerThan(parent, before, this.#yieldMs);
          continue;
        }
        throw new ChannelClientError(
          answer.kind === 'rejected' && answer.code === 'PEER_TIMEOUT' ? 'PEER_TIMEOUT' : 'UPDATE_REJECTED',
          `the peer did not sign the parent update: ${answer.kind === 'rejected' ? answer.reason : 'conflict'}`,
          { channelId: parent.id, reason: answer.kind === 'rejected' ? answer.reason : 'conflict' },
        );
      }
    });
  }

  /** The parent locks the sub-channel now: it is open. */
  async #subChannelFunded(entry: Entry): Promise<void> {
    await entry.lock.run(async () => {
      if (entry.machine.phase !== 'Funding') return;
      entry.machine.setPhase('Acting');
      await this.#persist(entry);
    });
    this.#publishFamily(entry);
    this.#emit({ type: 'opened', channelId: entry.id, peer: entry.peer });
  }

  /** Releases a final sub-channel into its parent (an update of the parent); then the sub-channel is done. */
  async #releaseSubChannel(entry: Entry): Promise<WithdrawnAmount[]> {
    const parent = entry.parent!;
    const { state: final, sigs } = entry.machine.current!;
    if (this.#locks(parent, entry.id)) {
      try {
        await this.#updateParent(
          parent,
          (s) => unlockFunds(s, final),
          this.#virtualPayload(entry, final, sigs),
        );
      } catch (err) {
        // The peer released it first (our update then found nothing to release).
        if (this.#locks(parent, entry.id)) throw err;
      }
    }
    await this.#subChannelReleased(entry);
    return [];
  }

  async #subChannelReleased(entry: Entry): Promise<void> {
    await entry.lock.run(async () => {
      const m = entry.machine;
      if (m.phase === 'Final') m.setPhase('Withdrawing');
      if (m.phase === 'Withdrawing') {
        m.setPhase('Withdrawn');
        await this.#persist(entry);
        this.#emit({ type: 'settled', channelId: entry.id, withdrawn: [] });
      }
    });
  }

  /**
   * Brings the sub-channels of `parent` in line with its latest state (after a sync, a restart or
   * a state adopted from the chain): one still funding that the parent locks is open, a final one
   * the parent no longer locks is released.
   */
  #reconcileChildren(parent: Entry): void {
    for (const c of this.#channels.values()) {
      if (c.parent !== parent) continue;
      const locked = this.#locks(parent, c.id);
      if (c.machine.phase === 'Funding' && c.machine.current !== undefined && locked) {
        this.#bg(this.#subChannelFunded(c), c.id, 'open');
      } else if ((c.machine.phase === 'Final' || c.machine.phase === 'Withdrawing') && !locked) {
        this.#bg(this.#subChannelReleased(c), c.id, 'settlement');
      }
    }
  }

  /** The channels whose latest fully signed state locks funds for `childId` (two for an intermediary). */
  #lockers(childId: Hex): Entry[] {
    return [...this.#channels.values()].filter((e) => this.#locks(e, childId));
  }

  /** Whether the parent's latest fully signed state locks funds for `childId`. */
  #locks(parent: Entry, childId: Hex): boolean {
    return parent.machine.current?.state.outcome.locked.some((l) => sameHex(l.ID, childId)) ?? false;
  }

  /** The sub-channel entries a parent state locks, in its locked order (undefined for one we do not know). */
  #children(parentState: State): (Entry | undefined)[] {
    return parentState.outcome.locked.map((l) => this.#channels.get(l.ID.toLowerCase()));
  }

  /** The fully signed latest states of the sub-channels `parentState` locks, for register. */
  #subSigned(parentState: State): SignedState[] {
    return this.#children(parentState).map((c, i) => {
      const cur = c?.machine.current;
      if (c === undefined || cur === undefined) {
        throw new ChannelClientError('INVALID_REQUEST', 'a locked sub-channel is unknown to us', {
          channelId: parentState.outcome.locked[i]!.ID,
        });
      }
      return { params: c.machine.params, state: cur.state, sigs: [...cur.sigs] };
    });
  }

  /** Hands the watcher the family's latest states: a parent with its sub-channels. */
  #publishFamily(entry: Entry): void {
    const parent = entry.parent ?? entry;
    const cur = parent.machine.current;
    if (parent.watched === undefined || cur === undefined) return;
    try {
      parent.watched.publish(
        { params: parent.machine.params, state: cur.state, sigs: [...cur.sigs] },
        this.#subSigned(cur.state),
      );
    } catch (err) {
      this.#warn(parent.id, err, 'watch');
    }
  }

  /**
   * What a parent update that changes locked funds does, if it is exactly the lock of a sub-channel
   * we agreed to (signed initial state, still funding) or the release of a final sub-channel;
   * undefined otherwise.
   */
  #lockChange(
    parent: Entry,
    cur: State,
    next: State,
  ): { kind: 'fund' | 'release'; child: Entry } | undefined {
    const added = next.outcome.locked.filter((l) => !cur.outcome.locked.some((c) => sameHex(c.ID, l.ID)));
    const removed = cur.outcome.locked.filter((c) => !next.outcome.locked.some((l) => sameHex(c.ID, l.ID)));
    if (added.length + removed.length !== 1) return undefined;
    const kind = added.length === 1 ? 'fund' : 'release';
    const child = this.#channels.get((added[0] ?? removed[0])!.ID.toLowerCase());
    if (child === undefined || child.parent !== parent) return undefined;
    const cm = child.machine;
    try {
      const expected =
        kind === 'fund'
          ? cm.phase === 'Funding' && cm.current !== undefined
            ? lockFunds(cur, child.id, cm.current.state.outcome.balances, identityMap(2))
            : undefined
          : cm.current?.state.isFinal === true
            ? unlockFunds(cur, cm.current.state)
            : undefined;
      return expected !== undefined && sameApartFromVersion(expected, next) ? { kind, child } : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores a channel whose opening we signed: with its fully signed initial state when we proposed
   * it, with our signature on it while we wait for the proposer's otherwise.
   */
  async #created(entry: Entry, record: NewChannelRecord): Promise<void> {
    const m = entry.machine;
    await this.#o.store.transaction(async (tx) => {
      await tx.createChannel(record);
      if (m.current !== undefined)
        await tx.saveSignedState(entry.id, { state: m.current.state, sigs: [...m.current.sigs] });
      else await tx.saveStagedState(entry.id, { state: m.staged!.state, sigs: [...m.staged!.sigs] });
    });
    if (m.current !== undefined) entry.persistedVersion = 0n;
    this.#phaseChanged(entry, 'InitActing');
  }

  // -------------------------------------------------------------------------------------------
  // Virtual channels

  /**
   * Opens a virtual channel with `req.peer` through the intermediary of our ledger channel
   * `req.parent` (perun-protocol.md 2.5.3): the peer accepts (it funds from its own ledger channel
   * with the same intermediary), both sign the initial state, and each sends the intermediary an
   * update of its ledger channel that locks the virtual channel's funds, the intermediary standing
   * in for the other participant; the intermediary signs both once both arrived and match.
   * Payments then go between us and the peer only; `settle` releases the final balances into
   * both ledger channels, a dispute registers our ledger channel with the virtual channel.
   */
  async proposeVirtualChannel(req: VirtualChannelRequest): Promise<ChannelInfo> {
    this.#requireOpen();
    const parent = this.#entry(req.parent);
    this.#requirePhase(parent, 'Acting');
    const pm = parent.machine;
    if (parent.parent !== undefined || !pm.params.ledgerChannel) {
      throw new ChannelClientError('INVALID_REQUEST', 'a virtual channel needs a ledger channel as parent', {
        channelId: req.parent,
      });
    }
    const cur = pm.current!.state;
    const msg: VirtualChannelProposal = {
      type: 'virtual-channel-proposal',
      proposalID: hex(randomBytes(32)),
      challengeDuration: req.challengeDuration ?? pm.params.challengeDuration,
      nonceShare: hex(randomBytes(32)),
      participants: [this.address, req.peerAddress],
      intermediary: pm.params.participants[1 - pm.idx]!.ethAddress,
      initBals: {
        assets: structuredClone(cur.outcome.assets),
        backends: [...cur.outcome.backends],
        balances: structuredClone(req.balances),
        locked: [],
      },
    };
    const problem = this.#checkVirtualProposal(parent, msg, 0);
    if (problem !== undefined) throw new ChannelClientError('INVALID_REQUEST', problem);
    const reply = await this.#proposal(req.peer, msg, 'virtual channel', 'virtual-channel-accept');
    const { params, state } = this.#virtualInitial(msg, reply.nonceShare);
    const { entry, machine, sig } = await this.#signOpening(req.peer, params, state, 0, reply.sig);
    const id = entry.id;
    entry.parent = parent;
    await this.#created(entry, {
      id,
      params,
      ourIndex: 0,
      peers: [await this.#ourId(req.peer), req.peer],
      parentId: parent.id,
      phase: machine.phase,
    });
    await this.#send(req.peer, { type: 'channel-update-accept', channelID: id, version: 0n, sig });
    await this.#fundSubChannel(entry);
    return this.#info(entry);
  }

  /** Why participant `me` cannot fund the proposed virtual channel from `parent`, or undefined. */
  #checkVirtualProposal(parent: Entry, p: VirtualChannelProposal, me: number): string | undefined {
    if (p.participants.length !== 2 || sameHex(p.participants[0]!, p.participants[1]!))
      return 'a virtual channel has two different participants';
    if (p.participants.some((a) => sameHex(a, p.intermediary)))
      return 'the intermediary cannot be a participant';
    return this.#fundingProblem(parent, p, pairMap(me, parent.machine.idx), {
      notOpen: 'the ledger channel with the intermediary is not open',
      assets: 'the virtual channel must hold the ledger channel’s assets',
      funds: 'a virtual channel needs funds',
      tooLittle: 'the ledger channel with the intermediary holds too little to fund the virtual channel',
    });
  }

  #virtualInitial(p: VirtualChannelProposal, responderShare: Hex): { params: Params; state: State } {
    const participants = p.participants.map((a) => ({ ethAddress: a, ccAddress: ZERO_SHARE }));
    return this.#opening({ ...p, app: ZERO_APP, initData: '0x' }, responderShare, participants, 'virtual');
  }

  async #onVirtualProposal(from: string, p: VirtualChannelProposal): Promise<void> {
    const reject = (reason: string) =>
      this.#send(from, { type: 'channel-proposal-reject', proposalID: p.proposalID, reason });
    if (!this.#admitProposal(from)) return reject('too many proposals; try again later');
    if (p.participants.length !== 2 || !sameHex(p.participants[1]!, this.address)) {
      return reject('participant 1 is not our address');
    }
    // Our ledger channel with the intermediary that can fund our side.
    const parents = [...this.#channels.values()].filter(
      (e) =>
        e.parent === undefined &&
        !e.observer &&
        e.machine.params.ledgerChannel &&
        e.machine.params.participants.some((x) => sameHex(x.ethAddress, p.intermediary)),
    );
    if (parents.length === 0) return reject('no ledger channel with the intermediary');
    let problem: string | undefined = 'no ledger channel with the intermediary';
    const parent = parents.find((e) => (problem = this.#checkVirtualProposal(e, p, 1)) === undefined);
    if (parent === undefined) return reject(problem);
    const decision = (await this.#o.onProposal?.({
      peer: from,
      proposalID: p.proposalID,
      participants: [...p.participants],
      allocation: structuredClone(p.initBals),
      fundingAgreement: structuredClone(p.initBals.balances),
      challengeDuration: p.challengeDuration,
      app: ZERO_APP,
      initData: '0x',
      parent: parent.id,
      intermediary: p.intermediary,
    })) ?? { accept: false, reason: 'this client takes no channel proposals' };
    if (!decision.accept) return reject(decision.reason);

    const share = hex(randomBytes(32));
    const { params, state } = this.#virtualInitial(p, share);
    const opened = await this.#signResponse(from, params, state, 1);
    if (opened === undefined) return reject('the channel exists already');
    const { entry, machine, sig } = opened;
    const id = entry.id;
    entry.parent = parent;
    await this.#created(entry, {
      id,
      params,
      ourIndex: 1,
      peers: [from, await this.#ourId(from)],
      parentId: parent.id,
      phase: machine.phase,
    });
    this.#armOpenTimer(entry);
    await this.#send(from, {
      type: 'virtual-channel-accept',
      proposalID: p.proposalID,
      nonceShare: share,
      sig,
    });
  }

  /**
   * The intermediary's side: an update of our ledger channel with a participant of a virtual
   * channel that locks (funding) or releases (settlement) the virtual channel. A funding is held
   * until the matching one arrives on our other ledger channel (same virtual state, the other
   * participant), then both are signed; a release is signed when it pays exactly the final,
   * fully signed balances through the locked index map.
   */
  async #onVirtualUpdate(from: string, msg: VirtualChannelUpdate): Promise<void> {
    const reject = this.#updateRefusal(from, msg);
    const entry = await this.#updatedEntry(from, msg, reject);
    if (entry === undefined) return;
    if (this.#o.intermediary !== true) return reject('we are no intermediary of virtual channels', 'REFUSED');
    const checked = await entry.lock.run(async () => this.#checkVirtualUpdate(entry, msg));
    if (typeof checked === 'string') return reject(checked, 'REFUSED');
    if (checked.kind === 'release') {
      await this.#signVirtualUpdate(entry, from, msg, checked.base, checked.observer);
      return;
    }
    const vid = msg.virtual.state.channelID.toLowerCase();
    const waiting = this.#virtualFundings.get(vid);
    const mine: VirtualFunding = { parent: entry, from, msg, base: checked.base, answer: () => undefined };
    if (waiting === undefined) {
      const matched = await new Promise<VirtualFunding | undefined>((resolve) => {
        mine.answer = resolve;
        this.#virtualFundings.set(vid, mine);
        setTimeout(() => resolve(undefined), this.#o.virtualFundingTimeoutMs ?? 10_000).unref?.();
      });
      if (this.#virtualFundings.get(vid) === mine) this.#virtualFundings.delete(vid);
      // The second funding signs both; the first only answers when nothing matched.
      if (matched === undefined)
        return reject('the other participant did not fund the virtual channel', 'REFUSED');
      return;
    }
    this.#virtualFundings.delete(vid);
    const other = waiting.msg;
    const sameVirtual =
      sameState(other.virtual.state, msg.virtual.state) &&
      JSON.stringify(paramsToJson(other.virtual.params)) ===
        JSON.stringify(paramsToJson(msg.virtual.params)) &&
      waiting.parent !== entry &&
      !sameHex(this.#peerAddress(waiting.parent), this.#peerAddress(entry));
    if (!sameVirtual) {
      waiting.answer(undefined);
      return reject('the two fundings of the virtual channel do not match', 'REFUSED');
    }
    waiting.answer(mine);
    const observer = await this.#observe(msg.virtual, [waiting.from, from]);
    await this.#signVirtualUpdate(waiting.parent, waiting.from, waiting.msg, waiting.base, observer);
    await this.#signVirtualUpdate(entry, from, msg, checked.base, observer);
  }

  #peerAddress(entry: Entry): Address {
    return entry.machine.params.participants[1 - entry.machine.idx]!.ethAddress;
  }

  /** Checks a virtual channel's parent update against the channel it carries; the parent's version it builds on, or why not. */
  #checkVirtualUpdate(
    entry: Entry,
    msg: VirtualChannelUpdate,
  ): string | { kind: 'fund' | 'release'; base: bigint; observer?: Entry } {
    const m = entry.machine;
    const peerIdx = 1 - m.idx;
    const cur = m.current;
    if (cur === undefined || m.phase !== 'Acting' || m.staged !== undefined) return 'the channel is busy';
    if (!m.params.ledgerChannel || entry.parent !== undefined) return 'not a ledger channel';
    if (msg.actorIdx !== peerIdx) return 'the actor must be the sender';
    const { params: vp, state: vs, sigs } = msg.virtual;
    try {
      checkUpdate(m.params, cur.state, msg.state, { actor: peerIdx, minVersion: m.nextVersion });
      validateState(vp, vs, { channelID: this.#o.backend.channelId(vp) });
    } catch (err) {
      if (err instanceof ValidationError) return err.message;
      throw err;
    }
    if (!this.#verify(msg.state, msg.sig, m.params.participants[peerIdx]!.ethAddress))
      return 'the signature does not verify';
    if (!vp.virtualChannel || vp.ledgerChannel || !sameHex(vp.app, ZERO_APP) || vp.participants.length !== 2)
      return 'not a virtual payment channel';
    if (sigs.length !== 2 || vp.participants.some((x, i) => !this.#verify(vs, sigs[i]!, x.ethAddress)))
      return 'the virtual channel’s state is not signed by both participants';
    const v = vp.participants.findIndex((x) => sameHex(x.ethAddress, this.#peerAddress(entry)));
    if (v < 0 || vp.participants.some((x) => sameHex(x.ethAddress, this.address)))
      return 'the sender is not a participant of the virtual channel, or we are';
    const map = pairMap(v, peerIdx);
    const vid = vs.channelID;
    const observer = this.#channels.get(vid.toLowerCase());
    try {
      if (!this.#locks(entry, vid)) {
        if (vs.version !== 0n || (observer !== undefined && observer.observer !== true))
          return 'a virtual channel is funded with its initial state';
        const expected = lockFunds(cur.state, vid, vs.outcome.balances, map);
        if (!sameApartFromVersion(expected, msg.state))
          return 'the update does not lock exactly the virtual channel';
        return { kind: 'fund', base: cur.state.version };
      }
      if (observer === undefined || !observer.observer) return 'we do not hold this virtual channel';
      if (!vs.isFinal) return 'a virtual channel is released with its final state';
      if (JSON.stringify(paramsToJson(vp)) !== JSON.stringify(paramsToJson(observer.machine.params)))
        return 'not the virtual channel we hold';
      const expected = unlockFunds(cur.state, vs);
      if (!sameApartFromVersion(expected, msg.state))
        return 'the update does not release exactly the final balances';
      return { kind: 'release', base: cur.state.version, observer };
    } catch (err) {
      return err instanceof Error ? err.message : 'invalid update';
    }
  }

  /** Our copy of a virtual channel we are the intermediary of, stored before we sign what funds it. */
  async #observe(v: VirtualChannelUpdate['virtual'], peers: string[]): Promise<Entry> {
    const id = v.state.channelID;
    const known = this.#channels.get(id.toLowerCase());
    if (known !== undefined) return known;
    const machine = ChannelMachine.restore(
      {
        format: 1,
        params: paramsToJson(v.params),
        channelID: id,
        idx: 0,
        phase: 'Acting',
        current: { state: stateToJson(v.state), sigs: [...v.sigs] },
        staged: null,
      },
      this.#verifier,
    );
    const entry = this.#add(id, peers[0]!, machine, 'Acting');
    entry.observer = true;
    await this.#o.store.transaction(async (tx) => {
      await tx.createChannel({ id, params: v.params, ourIndex: 0, peers, phase: 'Acting' });
      await tx.saveSignedState(id, { state: v.state, sigs: [...v.sigs] });
    });
    entry.persistedVersion = v.state.version;
    return entry;
  }

  /** Signs a checked virtual-channel update of `entry` if the channel has not moved since. */
  async #signVirtualUpdate(
    entry: Entry,
    from: string,
    msg: VirtualChannelUpdate,
    base: bigint,
    observer?: Entry,
  ): Promise<void> {
    const m = entry.machine;
    const peerIdx = 1 - m.idx;
    await entry.lock.run(async () => {
      if (m.version !== base || m.phase !== 'Acting' || m.staged !== undefined) {
        return this.#send(from, {
          type: 'channel-update-reject',
          channelID: entry.id,
          version: msg.state.version,
          reason: 'the channel moved on meanwhile',
          code: 'CHANNEL_BUSY',
        });
      }
      if (observer !== undefined && msg.virtual.state.version > observer.machine.version) {
        await observer.lock.run(async () => {
          observer.machine.installSigned(msg.virtual.state, msg.virtual.sigs);
          await this.#persist(observer);
        });
      }
      const before = m.current!.state;
      m.stage(msg.state, { actor: peerIdx });
      m.addSignature(peerIdx, msg.sig);
      const sig = await this.#o.signer.signState(msg.state);
      m.addOwnSignature(sig);
      const enabled = m.enable();
      await this.#persist(entry);
      this.#publishFamily(entry);
      await this.#send(from, {
        type: 'channel-update-accept',
        channelID: entry.id,
        version: msg.state.version,
        sig,
      });
      this.#emitUpdated(entry, before, enabled.state, 'peer');
    });
    if (observer !== undefined && this.#lockers(observer.id).length === 0) {
      // Released from both ledger channels: the virtual channel is over for us.
      await this.#subChannelReleased(observer);
    }
  }

  /** Sliding one-minute window of proposals per peer. */
  #admitProposal(peer: string): boolean {
    const limit = this.#o.proposalsPerMinute ?? 30;
    const now = Date.now();
    const recent = (this.#proposalTimes.get(peer) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= limit) {
      this.#proposalTimes.set(peer, recent);
      return false;
    }
    recent.push(now);
    this.#proposalTimes.set(peer, recent);
    return true;
  }

  /** The responder forgets a channel whose proposer never completed the opening. */
  #armOpenTimer(entry: Entry): void {
    entry.openTimer = setTimeout(() => {
      void entry.lock.run(async () => {
        if (entry.machine.phase !== 'InitSigning') return;
        this.#channels.delete(entry.id.toLowerCase());
        await this.#o.store.deleteChannel(entry.id);
        this.#warn(
          entry.id,
          new ChannelClientError('PEER_TIMEOUT', 'the proposer did not complete the opening'),
          'open',
        );
      });
    }, this.#o.responseTimeoutMs);
    entry.openTimer.unref?.();
  }

  /** Funds the channel; on success it is open (Acting) and watched, on a funding timeout the deposit is recovered. */
  /** Waits for `p` (its failure is someone else's to report) at most `ms`. */
  async #within(p: Promise<unknown>, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      p.catch(() => undefined),
      new Promise((r) => {
        timer = setTimeout(r, ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  #fund(entry: Entry): Promise<void> {
    entry.funding = this.#runFunding(entry);
    entry.funding.catch(() => undefined);
    return entry.funding;
  }

  async #runFunding(entry: Entry): Promise<void> {
    const m = entry.machine;
    try {
      await this.#o.funder.fund(
        { params: m.params, state: m.current!.state, idx: m.idx },
        this.#o.fundingTimeoutMs === undefined
          ? { signal: this.#abort.signal }
          : { timeoutMs: this.#o.fundingTimeoutMs, signal: this.#abort.signal },
      );
    } catch (err) {
      this.#emit({ type: 'funding-failed', channelId: entry.id, error: err });
      if (err instanceof FundingTimeoutError) {
        // Take back what we deposited: register the initial state, conclude it, withdraw.
        this.#settleInBackground(entry, () => this.#disputeFlow(entry));
      }
      throw err;
    }
    await entry.lock.run(async () => {
      if (m.phase !== 'Funding') return; // a dispute started meanwhile
      m.setPhase('Acting');
      await this.#persist(entry);
    });
    await this.#watch(entry);
    this.#emit({ type: 'opened', channelId: entry.id, peer: entry.peer });
  }

  // -------------------------------------------------------------------------------------------
  // Updates

  /**
   * Proposes the state `fn` makes of the current one (its version and channel ID are set here)
   * and resolves with it once the peer signed it. `fn` runs again on a newer state if the peer's
   * simultaneous update took precedence. Rejections and time-outs are ChannelClientErrors; an
   * invalid state is refused with the validation error before anything is signed.
   */
  async update(id: Hex, fn: (current: State) => State): Promise<State> {
    this.#requireOpen();
    const entry = this.#entry(id);
    return entry.local.run(async () => {
      for (let attempt = 0; ; attempt++) {
        const before = entry.machine.version;
        const answer = await this.#proposeUpdate(entry, fn);
        if (answer.kind === 'accepted') return answer.state;
        if (answer.kind === 'conflict' && attempt < 5) {
          if (answer.wait) await this.#newerThan(entry, before, this.#yieldMs);
          continue;
        }
        if (answer.kind === 'conflict') {
          throw new ChannelClientError('CHANNEL_BUSY', 'the peer kept updating the channel', {
            channelId: id,
          });
        }
        if (answer.code === 'PEER_TIMEOUT') {
          throw new ChannelClientError('PEER_TIMEOUT', 'the peer did not answer the update', {
            channelId: id,
          });
        }
        if (answer.code === 'CLIENT_CLOSED')
          throw new ChannelClientError('CLIENT_CLOSED', 'the client was closed');
        throw new ChannelClientError('UPDATE_REJECTED', `the peer rejected the update: ${answer.reason}`, {
          channelId: id,
          reason: answer.reason,
          peerCode: answer.code,
        });
      }
    });
  }

  /** Pays `amount` of asset `asset` to the peer. */
  sendPayment(id: Hex, amount: bigint, asset = 0): Promise<State> {
    if (amount <= 0n)
      return Promise.reject(new ChannelClientError('INVALID_REQUEST', 'amount must be positive'));
    const entry = this.#entry(id);
    const me = entry.machine.idx;
    const peer = 1 - me;
    return this.update(id, (s) => {
      const row = s.outcome.balances[asset];
      if (row === undefined) throw new ChannelClientError('INVALID_REQUEST', 'no such asset', { asset });
      row[me] = row[me]! - amount;
      row[peer] = row[peer]! + amount;
      return s;
    });
  }

  /** `locks`: the update locks or releases a sub-channel's funds (made by the client, not a caller). */
  async #proposeUpdate(
    entry: Entry,
    fn: (current: State) => State,
    opts: { locks?: boolean; virtual?: VirtualChannelUpdate['virtual'] } = {},
  ): Promise<Answer> {
    const m = entry.machine;
    const prepared = await entry.lock.run(async () => {
      this.#requirePhase(entry, 'Acting');
      const cur = m.current!.state;
      const made = fn(structuredClone(cur));
      const next: State = { ...made, channelID: cur.channelID, version: this.#nextVersion(entry) };
      m.stage(next, { actor: m.idx, lockedUnchanged: opts.locks !== true, app: this.#appRule(entry) });
      try {
        const sig = await this.#o.signer.signState(next);
        m.addOwnSignature(sig);
        await this.#persist(entry);
        return { next, sig };
      } catch (err) {
        if (m.staged !== undefined && m.staged.state.version === next.version) {
          m.discard();
          await this.#persist(entry).catch(() => undefined);
        }
        throw err;
      }
    });
    await this.#o.failpoint?.('update-staged', { channelId: entry.id, version: prepared.next.version });
    const answer = new Promise<Answer>((resolve) => {
      entry.pending = { version: prepared.next.version, resolve };
    });
    const timer = setTimeout(
      () => entry.pending?.resolve({ kind: 'rejected', reason: 'no answer', code: 'PEER_TIMEOUT' }),
      this.#o.responseTimeoutMs,
    );
    try {
      const update = { state: prepared.next, actorIdx: m.idx, sig: prepared.sig };
      await this.#o.wire.send(
        entry.peer,
        opts.virtual === undefined
          ? { type: 'channel-update', ...update }
          : { type: 'virtual-channel-update', ...update, virtual: opts.virtual },
      );
    } catch (err) {
      // Not delivered: the peer cannot hold our signature, so the update is dropped.
      await entry.lock.run(async () => {
        if (m.staged?.state.version === prepared.next.version && m.staged.actor === m.idx) {
          m.discard();
          await this.#persist(entry);
        }
      });
      clearTimeout(timer);
      entry.pending = undefined;
      throw err;
    }
    await this.#o.failpoint?.('update-sent', { channelId: entry.id, version: prepared.next.version });
    const result = await answer;
    clearTimeout(timer);
    entry.pending = undefined;
    if (result.kind === 'rejected' && result.code === 'PEER_TIMEOUT') {
      // The staged state stays: the peer may hold it signed. A sync settles which it is.
      void this.sync(entry.peer).catch((err: unknown) => this.#warn(entry.id, err, 'sync'));
    }
    return result;
  }

  /** The version of our next state: above all we signed, and at least what the peer said it would sign. */
  #nextVersion(entry: Entry): bigint {
    const m = entry.machine;
    const ours = m.nextVersion;
    const theirs = entry.peerMinVersion;
    if (theirs === undefined || theirs <= ours || theirs - m.version > MAX_VERSION_STEP) return ours;
    return theirs;
  }

  /** How long participant 1 lets the peer's concurrent update go first before trying again. */
  get #yieldMs(): number {
    return Math.min(this.#o.responseTimeoutMs, 1_000);
  }

  /** Resolves once the channel holds a fully signed state newer than `version`, or after `ms`. */
  async #newerThan(entry: Entry, version: bigint, ms: number): Promise<void> {
    if (entry.machine.version > version) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      wake = () => {
        if (entry.machine.version > version) resolve();
      };
      entry.onNewer.add(wake);
      timer = setTimeout(resolve, ms);
    }).finally(() => {
      clearTimeout(timer);
      entry.onNewer.delete(wake!);
    });
  }

  /** Sends the refusal of an update (plain or virtual) with a reason and a code. */
  #updateRefusal(from: string, msg: { state: State }): (reason: string, code: string) => Promise<void> {
    return (reason, code) =>
      this.#send(from, {
        type: 'channel-update-reject',
        channelID: msg.state.channelID,
        version: msg.state.version,
        reason,
        code,
      });
  }

  /** The channel an update from `from` is for; undefined (after refusing it) if unknown or not the peer's. */
  async #updatedEntry(
    from: string,
    msg: { state: State },
    reject: (reason: string, code: string) => Promise<void>,
  ): Promise<Entry | undefined> {
    const entry = this.#channels.get(msg.state.channelID.toLowerCase());
    if (entry === undefined) await reject('unknown channel', 'UNKNOWN_CHANNEL');
    else if (entry.peer !== from) await reject('not a participant of this channel', 'NOT_PARTICIPANT');
    else return entry;
    return undefined;
  }

  #answer(entry: Entry, version: bigint, a: Answer): void {
    if (entry.pending?.version === version) entry.pending.resolve(a);
  }

  async #onUpdate(from: string, msg: ChannelUpdate): Promise<void> {
    const id = msg.state.channelID;
    const reject = this.#updateRefusal(from, msg);
    const entry = await this.#updatedEntry(from, msg, reject);
    if (entry === undefined) return;
    await this.#o.failpoint?.('update-received', { channelId: entry.id, version: msg.state.version });
    if (entry.machine.phase === 'Funding' && entry.funding !== undefined) {
      // The peer saw the deposits before we did: give our funder the time the peer gives us.
      await this.#within(entry.funding, this.#o.responseTimeoutMs / 2);
    }
    await entry.lock.run(async () => {
      const m = entry.machine;
      const peerIdx = 1 - m.idx;
      const next = msg.state;
      const cur = m.current;
      if (cur !== undefined && next.version === cur.state.version) {
        // A retransmission of the state we accepted: answer again, change nothing.
        if (sameState(next, cur.state) && cur.sigs[peerIdx] === msg.sig) {
          return this.#send(from, {
            type: 'channel-update-accept',
            channelID: id,
            version: next.version,
            sig: cur.sigs[m.idx]!,
          });
        }
      }
      if (cur === undefined || next.version <= cur.state.version) {
        return reject('the version is not newer than the current one', 'STALE_VERSION');
      }
      if (msg.actorIdx !== peerIdx) return reject('the actor must be the sender', 'INVALID_ACTOR');
      try {
        validateState(m.params, next, { channelID: m.channelID });
      } catch (err) {
        if (err instanceof ValidationError) return reject(err.message, err.code);
        throw err;
      }
      if (!this.#verify(next, msg.sig, m.params.participants[peerIdx]!.ethAddress)) {
        return reject('the signature does not verify', 'INVALID_SIGNATURE');
      }
      const staged = m.staged;
      if (staged !== undefined && staged.actor !== m.idx) {
        if (sameState(staged.state, next)) return; // already being handled
        return reject('another update is being signed', 'CHANNEL_BUSY');
      }
      const refuse = (reason: string, code: string) =>
        this.#send(from, {
          type: 'channel-update-reject',
          channelID: id,
          version: next.version,
          reason,
          code,
          minVersion: m.nextVersion,
        });
      if (next.version < m.nextVersion) {
        // We signed this version (or a higher one) for another state, which the peer may hold:
        // signing this one would give it two states at one version, or one that ours outranks.
        return refuse(`version ${next.version} is used up; the next is ${m.nextVersion}`, 'VERSION_USED');
      }
      if (staged !== undefined) {
        if (m.idx < peerIdx) {
          return refuse('a concurrent update of participant 0 takes precedence', 'CONFLICT');
        }
        // Participant 0's newer update goes first. Ours stays pending until the peer answers it:
        // the peer refuses it, or signed it before proposing (its update then includes it).
        m.discard();
        await this.#persist(entry);
        if (entry.pending?.version === staged.state.version) entry.pending.yielded = staged.state;
      }
      if (m.phase !== 'Acting')
        return reject(`the channel is not open for updates (${m.phase})`, 'NOT_ACTING');
      const lockChange = lockedDiffers(cur.state, next)
        ? this.#lockChange(entry, cur.state, next)
        : undefined;
      try {
        checkUpdate(m.params, cur.state, next, {
          actor: peerIdx,
          lockedUnchanged: lockChange === undefined,
          minVersion: m.nextVersion,
          app: this.#appRule(entry),
        });
      } catch (err) {
        if (err instanceof ValidationError) return reject(err.message, err.code);
        throw err;
      }
      // A lock or release of a sub-channel we agreed to is ours to sign without asking (go-perun's
      // interceptor); anything else goes to the caller's decision.
      if (lockChange === undefined) {
        const decision = await this.#decideUpdate(entry, cur.state, next, peerIdx);
        if (!decision.accept) return reject(decision.reason, 'REFUSED');
      }
      m.stage(next, { actor: peerIdx, lockedUnchanged: lockChange === undefined });
      m.addSignature(peerIdx, msg.sig);
      const sig = await this.#o.signer.signState(next);
      m.addOwnSignature(sig);
      const enabled = m.enable();
      await this.#persist(entry);
      this.#publishFamily(entry);
      await this.#o.failpoint?.('accept-persisted', { channelId: entry.id, version: next.version });
      await this.#send(from, { type: 'channel-update-accept', channelID: id, version: next.version, sig });
      this.#emitUpdated(entry, cur.state, enabled.state, 'peer');
      this.#afterEnabled(entry, lockChange);
    });
  }

  /** What follows a newly enabled state (the peer's or, with a lock change, the one we proposed). */
  #afterEnabled(entry: Entry, lockChange?: { kind: 'fund' | 'release'; child: Entry }): void {
    if (lockChange?.kind === 'fund')
      this.#bg(this.#subChannelFunded(lockChange.child), lockChange.child.id, 'open');
    if (lockChange?.kind === 'release')
      this.#bg(this.#subChannelReleased(lockChange.child), lockChange.child.id, 'settlement');
    if (entry.machine.current!.state.isFinal && entry.machine.phase === 'Final') {
      if (entry.parent === undefined)
        this.#settleInBackground(entry, () => this.#concludeAndWithdraw(entry, false));
      // Each participant of a virtual channel releases it from its own ledger channel.
      else if (entry.machine.params.virtualChannel)
        this.#settleInBackground(entry, () => this.#releaseSubChannel(entry));
    }
  }

  async #decideUpdate(entry: Entry, current: State, next: State, actorIdx: number): Promise<Decision> {
    const update: IncomingUpdate = {
      channel: this.#info(entry),
      current: structuredClone(current),
      next: structuredClone(next),
      actorIdx,
    };
    if (this.#o.onUpdate !== undefined) return this.#o.onUpdate(update);
    if (!sameHex(entry.machine.params.app, ZERO_APP)) return { accept: true }; // the app's rule passed
    try {
      paymentAppRule(entry.machine.params, current, next, actorIdx);
      return { accept: true };
    } catch {
      return { accept: false, reason: 'the update would lower our balance' };
    }
  }

  async #onAccept(from: string, msg: ChannelUpdateAccept): Promise<void> {
    const entry = this.#channels.get(msg.channelID.toLowerCase());
    if (entry === undefined || entry.peer !== from) return;
    await entry.lock.run(async () => {
      const m = entry.machine;
      const peerIdx = 1 - m.idx;
      const staged = m.staged;
      const yielded = entry.pending?.version === msg.version ? entry.pending.yielded : undefined;
      if (
        yielded !== undefined &&
        this.#verify(yielded, msg.sig, m.params.participants[peerIdx]!.ethAddress)
      ) {
        // The peer signed our update before its own, newer one, which we hold: ours counted.
        this.#answer(entry, msg.version, { kind: 'accepted', state: structuredClone(yielded) });
        return;
      }
      if (staged === undefined || staged.state.version !== msg.version) return; // late or duplicate
      if (m.phase === 'InitSigning') {
        m.addSignature(peerIdx, msg.sig);
        m.enable();
        clearTimeout(entry.openTimer);
        await this.#persist(entry);
        // A sub-channel is funded by the proposer's update of the parent, which we await; each
        // participant of a virtual channel funds it in its own ledger channel with the intermediary.
        if (entry.parent === undefined) this.#bg(this.#fund(entry), entry.id, 'funding');
        else if (m.params.virtualChannel) this.#bg(this.#fundSubChannel(entry), entry.id, 'funding');
        return;
      }
      if (staged.actor !== m.idx) return;
      await this.#o.failpoint?.('accept-received', { channelId: entry.id, version: msg.version });
      try {
        m.addSignature(peerIdx, msg.sig);
      } catch (err) {
        m.discard();
        await this.#persist(entry);
        this.#answer(entry, msg.version, {
          kind: 'rejected',
          reason: 'the peer answered with an invalid signature',
          code: 'INVALID_SIGNATURE',
        });
        this.#warn(entry.id, err, 'update accept');
        return;
      }
      const before = m.current!.state;
      const enabled = m.enable();
      await this.#persist(entry);
      this.#publishFamily(entry);
      this.#emitUpdated(entry, before, enabled.state, 'us');
      this.#answer(entry, msg.version, { kind: 'accepted', state: structuredClone(enabled.state) });
    });
  }

  async #onReject(from: string, msg: ChannelUpdateReject): Promise<void> {
    const entry = this.#channels.get(msg.channelID.toLowerCase());
    if (entry === undefined || entry.peer !== from) return;
    await entry.lock.run(async () => {
      const m = entry.machine;
      const staged = m.staged;
      const yielded = entry.pending?.version === msg.version && entry.pending.yielded !== undefined;
      if (!yielded) {
        if (staged === undefined || staged.actor !== m.idx || staged.state.version !== msg.version) return;
        m.discard();
        await this.#persist(entry);
      }
      if (msg.minVersion !== undefined) entry.peerMinVersion = msg.minVersion;
      // CONFLICT: the peer's update goes first; STALE_VERSION: the peer holds a newer state, which
      // the sync below brings; VERSION_USED: propose again with a higher version.
      const answer: Answer =
        msg.code === 'CONFLICT' || msg.code === 'STALE_VERSION'
          ? { kind: 'conflict', wait: true }
          : msg.code === 'VERSION_USED'
            ? { kind: 'conflict', wait: false }
            : { kind: 'rejected', reason: msg.reason, code: msg.code };
      this.#answer(entry, msg.version, answer);
      if (msg.code === 'STALE_VERSION')
        void this.sync(entry.peer).catch((e: unknown) => this.#warn(entry.id, e, 'sync'));
    });
  }

  // -------------------------------------------------------------------------------------------
  // Sync

  /**
   * Sends our latest fully signed state of every channel shared with `peer` (after a restart or
   * reconnect), and again every update of ours the peer has not answered: it either signs it or
   * refuses it, and either way the channel is no longer blocked by it.
   */
  async sync(peer: string): Promise<void> {
    for (const e of this.#channels.values()) {
      if (e.peer !== peer || e.observer === true) continue;
      const m = e.machine;
      const cur = m.current;
      if (cur === undefined || m.phase === 'Withdrawn') continue;
      const staged = m.staged;
      const resend =
        m.phase === 'Signing' && staged !== undefined && staged.actor === m.idx
          ? { state: staged.state, sig: staged.sigs[m.idx]! }
          : undefined;
      try {
        await this.#send(peer, {
          type: 'channel-sync',
          phase: m.phase,
          state: cur.state,
          sigs: [...cur.sigs],
        });
        if (resend !== undefined) {
          await this.#send(peer, {
            type: 'channel-update',
            state: resend.state,
            actorIdx: m.idx,
            sig: resend.sig,
          });
        }
      } catch (err) {
        this.#warn(e.id, err, 'sync');
      }
    }
  }

  async #onSync(from: string, msg: ChannelSync): Promise<void> {
    const entry = this.#channels.get(msg.state.channelID.toLowerCase());
    if (entry === undefined || entry.peer !== from) return;
    await entry.lock.run(async () => {
      const m = entry.machine;
      const theirs = msg.state.version;
      if (theirs > m.version) {
        const before = m.current?.state;
        const staged = m.staged;
        const wasOurs = staged !== undefined && staged.actor === m.idx && sameState(staged.state, msg.state);
        const enabled = m.installSigned(msg.state, msg.sigs); // verifies every signature
        await this.#persist(entry);
        this.#publishFamily(entry);
        this.#reconcileChildren(entry);
        if (before !== undefined) this.#emitUpdated(entry, before, enabled.state, wasOurs ? 'us' : 'peer');
        if (staged !== undefined && staged.actor === m.idx) {
          this.#answer(
            entry,
            staged.state.version,
            wasOurs ? { kind: 'accepted', state: enabled.state } : { kind: 'conflict', wait: false },
          );
        }
        if (m.phase === 'Funding' && before === undefined) {
          clearTimeout(entry.openTimer);
          if (entry.parent === undefined) this.#bg(this.#fund(entry), entry.id, 'funding');
          else this.#reconcileChildren(entry.parent);
        }
        if (enabled.state.isFinal && m.phase === 'Final' && entry.parent === undefined) {
          this.#settleInBackground(entry, () => this.#concludeAndWithdraw(entry, false));
        } else if (enabled.state.isFinal && m.phase === 'Final' && m.params.virtualChannel) {
          this.#settleInBackground(entry, () => this.#releaseSubChannel(entry));
        }
        return;
      }
      if (theirs < m.version) {
        const cur = m.current!;
        await this.#send(from, {
          type: 'channel-sync',
          phase: m.phase,
          state: cur.state,
          sigs: [...cur.sigs],
        });
      }
      const s = m.staged;
      if (m.phase === 'Signing' && s !== undefined && s.actor === m.idx && s.state.version > m.version) {
        // The peer is behind or never got our update (it restarted): send it again.
        await this.#send(from, {
          type: 'channel-update',
          state: s.state,
          actorIdx: m.idx,
          sig: s.sigs[m.idx]!,
        });
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Closing and disputes

  /**
   * Closes the channel cooperatively: a final state with the current balances, concludeFinal
   * and our withdrawal. Resolves with what we withdrew.
   */
  async settle(id: Hex): Promise<WithdrawnAmount[]> {
    this.#requireOpen();
    const entry = this.#entry(id);
    const open = entry.machine.current?.state.outcome.locked ?? [];
    if (entry.machine.phase === 'Acting' && open.length > 0) {
      throw new ChannelClientError(
        'SUBCHANNELS_OPEN',
        'settle the sub-channels first: their funds are locked',
        {
          channelId: id,
          subChannels: open.map((l) => l.ID),
        },
      );
    }
    await entry.local.run(async () => {
      if (entry.machine.phase === 'Acting') {
        for (let attempt = 0; ; attempt++) {
          const before = entry.machine.version;
          const a = await this.#proposeUpdate(entry, (s) => ({ ...s, isFinal: true }));
          if (a.kind === 'accepted') break;
          if (a.kind === 'conflict' && attempt < 5) {
            if (a.wait) await this.#newerThan(entry, before, this.#yieldMs);
            continue;
          }
          throw new ChannelClientError(
            a.kind === 'rejected' && a.code === 'PEER_TIMEOUT' ? 'PEER_TIMEOUT' : 'UPDATE_REJECTED',
            'the peer did not sign the final state; dispute the channel to close it',
            { channelId: id, reason: a.kind === 'rejected' ? a.reason : 'conflict' },
          );
        }
      }
    });
    if (entry.parent !== undefined)
      return this.#settleInBackground(entry, () => this.#releaseSubChannel(entry));
    return this.#settleInBackground(entry, () => this.#concludeAndWithdraw(entry, true));
  }

  /**
   * Closes the channel without the peer: registers our latest state, waits out the challenge
   * duration, concludes and withdraws. Resolves with what we withdrew.
   */
  dispute(id: Hex): Promise<WithdrawnAmount[]> {
    this.#requireOpen();
    const child = this.#entry(id);
    // A sub-channel exists on chain only as part of its parent's registration.
    const entry = child.parent ?? child;
    return this.#settleInBackground(entry, () => entry.local.run(() => this.#disputeFlow(entry)));
  }

  /**
   * Enforces an update of an app channel on chain when the peer does not sign it (go-perun's
   * ForceUpdate): registers the latest state, progresses it once its challenge duration passed
   * to the update, signed by us alone as the app allows its actor, then concludes and withdraws.
   * The update is ours that the peer left unanswered or refused (`fn` omitted) or, when there is
   * none, `fn` of the current state. Joins a settlement that is already running (without
   * progressing).
   */
  async forceUpdate(id: Hex, fn?: (current: State) => State): Promise<WithdrawnAmount[]> {
    this.#requireOpen();
    const entry = this.#entry(id);
    const m = entry.machine;
    if (sameHex(m.params.app, ZERO_APP)) {
      throw new ChannelClientError('INVALID_REQUEST', 'only an app channel can be progressed on chain', {
        channelId: id,
      });
    }
    const force = await entry.local.run(() =>
      entry.lock.run(async () => {
        const cur = m.current!.state;
        const staged = m.staged;
        if (
          m.phase === 'Signing' &&
          staged !== undefined &&
          staged.actor === m.idx &&
          staged.state.version === cur.version + 1n
        ) {
          return { to: structuredClone(staged.state), sig: staged.sigs[m.idx]! };
        }
        const used = m.usedState;
        if (fn === undefined && used !== undefined && used.state.version === cur.version + 1n) {
          // Our update the peer refused or left unanswered: it may hold it signed, so it is this one.
          return { to: structuredClone(used.state), sig: used.sig };
        }
        if (fn === undefined) {
          throw new ChannelClientError('INVALID_REQUEST', 'no unanswered update of ours to enforce', {
            channelId: id,
          });
        }
        this.#requirePhase(entry, 'Acting');
        const version = cur.version + 1n;
        if (m.nextVersion > version) {
          throw new ChannelClientError(
            'INVALID_REQUEST',
            `version ${version} is used up: a progression must be the next version`,
            { channelId: id, nextVersion: String(m.nextVersion) },
          );
        }
        const next: State = { ...fn(structuredClone(cur)), channelID: cur.channelID, version };
        m.stage(next, { actor: m.idx, lockedUnchanged: true, app: this.#appRule(entry) });
        const sig = await this.#o.signer.signState(next);
        m.addOwnSignature(sig);
        await this.#persist(entry);
        return { to: structuredClone(next), sig };
      }),
    );
    const top = entry.parent ?? entry;
    return this.#settleInBackground(top, () =>
      top.local.run(() => this.#disputeFlow(top, { ...force, target: entry })),
    );
  }

  /** Runs one settlement per channel; a second request joins the running one. */
  #settleInBackground(entry: Entry, flow: () => Promise<WithdrawnAmount[]>): Promise<WithdrawnAmount[]> {
    if (entry.settling === undefined) {
      const p = flow();
      entry.settling = p;
      this.#bg(
        p.catch((err: unknown) => {
          entry.settling = undefined;
          throw err;
        }),
        entry.id,
        'settlement',
      );
    }
    return entry.settling;
  }

  async #concludeAndWithdraw(entry: Entry, primary: boolean): Promise<WithdrawnAmount[]> {
    const m = entry.machine;
    const { adjudicator } = this.#o;
    let d = await adjudicator.dispute(entry.id);
    if (d.stage !== 'concluded' && !primary) {
      d = await this.#pollUntil(entry, (x) => x.stage === 'concluded', this.#o.concludeWaitMs);
    }
    if (d.stage !== 'concluded') {
      const cur = m.current!;
      await this.#concluding(entry, () => adjudicator.concludeFinal(m.params, cur.state, [...cur.sigs]));
    }
    return this.#withdraw(entry);
  }

  /** Sends a concluding transaction; its failure counts only if the channel is still not concluded (the peer may have won the race). */
  async #concluding(entry: Entry, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      if ((await this.#o.adjudicator.dispute(entry.id)).stage !== 'concluded') throw err;
    }
  }

  /**
   * Registers our latest state unless the chain holds it or a newer one; with `force` (an app
   * channel), progresses the registration to our state `force.to`, signed by us alone, once its
   * timeout passed; then concludes with what the chain holds once that may end (an app channel's
   * registration leaves one more challenge duration for a progression) and withdraws.
   */
  async #disputeFlow(
    entry: Entry,
    force?: { to: State; sig: Hex; target?: Entry },
  ): Promise<WithdrawnAmount[]> {
    const m = entry.machine;
    const { adjudicator } = this.#o;
    await entry.lock.run(async () => {
      if (['Funding', 'Acting', 'Signing', 'Final'].includes(m.phase)) {
        m.setPhase('Registering');
        await this.#persist(entry);
      }
    });
    let d = await adjudicator.dispute(entry.id);
    const cur = m.current!;
    const children = this.#children(cur.state);
    if (d.stage !== 'concluded') {
      if (cur.state.isFinal) {
        await this.#concluding(entry, () => adjudicator.concludeFinal(m.params, cur.state, [...cur.sigs]));
      } else if (
        d.stage === 'none' ||
        (d.stage === 'dispute' && (d.version < cur.state.version || (await this.#staleChild(children))))
      ) {
        try {
          await adjudicator.register(
            { params: m.params, state: cur.state, sigs: [...cur.sigs] },
            this.#subSigned(cur.state),
          );
        } catch (err) {
          const now = await adjudicator.dispute(entry.id);
          if (now.stage === 'none' || now.version < cur.state.version) throw err;
        }
      }
      d = await adjudicator.dispute(entry.id);
    }
    await entry.lock.run(async () => {
      if (m.phase === 'Registering') {
        m.setPhase('Registered');
        await this.#persist(entry);
      }
    });
    for (const c of children) if (c !== undefined) await this.#enterPhase(c, 'Registered');
    if (d.stage !== 'concluded') {
      this.#emit({
        type: 'registered',
        channelId: entry.id,
        version: d.version,
        timeout: d.timeout,
        by: 'us',
      });
    }
    const hasApp = !sameHex(m.params.app, ZERO_APP);
    for (;;) {
      d = await adjudicator.dispute(entry.id);
      if (d.stage === 'concluded') break;
      if (force !== undefined) {
        const target = force.target ?? entry;
        const td = target === entry ? d : await adjudicator.dispute(target.id);
        if (td.stage === 'dispute' && force.to.version === td.version + 1n) {
          await this.#waitForChainTime(td.timeout);
          const from = target.machine.current!.state;
          await this.#progress(target, td.version === from.version ? from : undefined, force);
          force = undefined;
          continue;
        }
        if (target !== entry) force = undefined; // the sub-channel's registration moved on without us
      }
      if (d.stage === 'forceexec') await this.#enterPhase(entry, 'Progressed');
      const end = d.stage === 'dispute' && hasApp ? d.timeout + m.params.challengeDuration : d.timeout;
      if ((await adjudicator.now()) < end) {
        await this.#waitForChainTime(end, entry);
        continue;
      }
      const held = await this.#heldOnChain(entry, d.version);
      const subStates: State[] = [];
      for (const c of this.#children(held)) {
        if (c === undefined)
          throw new ChannelClientError('INVALID_REQUEST', 'a locked sub-channel is unknown to us');
        subStates.push(await this.#heldOnChain(c, (await adjudicator.dispute(c.id)).version));
      }
      await this.#concluding(entry, () => adjudicator.conclude(m.params, held, subStates));
      break;
    }
    return this.#withdraw(entry);
  }

  /** Whether a sub-channel's registration on chain is older than our latest state of it. */
  async #staleChild(children: (Entry | undefined)[]): Promise<boolean> {
    for (const c of children) {
      if (c === undefined) continue;
      const cd = await this.#o.adjudicator.dispute(c.id);
      if (cd.stage === 'dispute' && cd.version < c.machine.version) return true;
    }
    return false;
  }

  /** Progresses the registered state `from` to `force.to` on chain, signed by us as its actor. */
  async #progress(entry: Entry, from: State | undefined, force: { to: State; sig: Hex }): Promise<void> {
    const m = entry.machine;
    const { adjudicator } = this.#o;
    if (from === undefined) return; // the chain holds another state than the one our update builds on
    await this.#enterPhase(entry, 'Progressing');
    try {
      await adjudicator.progress({ params: m.params, from, to: force.to, actorIdx: m.idx, sig: force.sig });
    } catch (err) {
      const now = await adjudicator.dispute(entry.id);
      if (now.stage !== 'forceexec' || now.version < force.to.version) throw err;
    }
    entry.registered = { params: m.params, state: structuredClone(force.to), sigs: [force.sig] };
    await this.#enterPhase(entry, 'Progressed');
    const d = await adjudicator.dispute(entry.id);
    this.#emit({
      type: 'progressed',
      channelId: entry.id,
      version: d.version,
      timeout: d.timeout,
      by: 'us',
      state: structuredClone(force.to),
      actorIdx: m.idx,
    });
  }

  async #enterPhase(entry: Entry, phase: Phase): Promise<void> {
    await entry.lock.run(async () => {
      if (entry.machine.phase !== phase && canTransition(entry.machine.phase, phase)) {
        entry.machine.setPhase(phase);
        await this.#persist(entry);
      }
    });
  }

  /** The state the chain holds at `version`: ours, or one the watcher reported (waited for up to concludeWaitMs). */
  async #heldOnChain(entry: Entry, version: bigint): Promise<State> {
    const deadline = Date.now() + this.#o.concludeWaitMs;
    for (;;) {
      if (entry.machine.current?.state.version === version) return entry.machine.current.state;
      if (entry.registered?.state.version === version) return entry.registered.state;
      if (Date.now() >= deadline || this.#closed) {
        throw new ChannelClientError('INVALID_REQUEST', 'the registered state is unknown to us', {
          channelId: entry.id,
          version: String(version),
        });
      }
      await new Promise((r) => setTimeout(r, this.#o.chainPollMs));
    }
  }

  async #withdraw(entry: Entry): Promise<WithdrawnAmount[]> {
    const m = entry.machine;
    await entry.lock.run(async () => {
      if (m.phase !== 'Withdrawing') {
        m.setPhase('Withdrawing');
        await this.#persist(entry);
      }
    });
    const d = await this.#o.adjudicator.dispute(entry.id);
    const state =
      d.version === m.version || entry.registered === undefined ? m.current!.state : entry.registered.state;
    const withdrawn = await this.#o.adjudicator.withdraw(m.params, state, m.idx);
    await entry.lock.run(async () => {
      m.setPhase('Withdrawn');
      await this.#persist(entry);
    });
    await entry.watched?.stop();
    entry.watched = undefined;
    this.#emit({ type: 'settled', channelId: entry.id, withdrawn });
    await this.#closeChildren(entry);
    return withdrawn;
  }

  /** After the parent's on-chain settlement: its registered sub-channels were paid out with it. */
  async #closeChildren(parent: Entry): Promise<void> {
    for (const c of [...this.#channels.values()]) {
      if (c.parent !== parent) continue;
      const done = await c.lock.run(async () => {
        const cm = c.machine;
        const from = cm.phase;
        for (const step of ['Registered', 'Withdrawing', 'Withdrawn'] as const) {
          if (cm.phase !== step && canTransition(cm.phase, step)) cm.setPhase(step);
        }
        if (cm.phase === from) return false;
        await this.#persist(c);
        return cm.phase === 'Withdrawn';
      });
      if (done) this.#emit({ type: 'settled', channelId: c.id, withdrawn: [] });
    }
  }

  /** Resolves once the chain's clock reaches `timeout` or, with `entry`, a chain event of the channel arrives. */
  async #waitForChainTime(timeout: bigint, entry?: Entry): Promise<void> {
    const seen = entry?.chainEvents;
    while ((await this.#o.adjudicator.now()) < timeout && entry?.chainEvents === seen) {
      if (this.#closed) throw new ChannelClientError('CLIENT_CLOSED', 'the client was closed');
      await new Promise((r) => setTimeout(r, this.#o.chainPollMs));
    }
  }

  async #pollUntil(entry: Entry, done: (d: OnChainDispute) => boolean, ms: number): Promise<OnChainDispute> {
    const deadline = Date.now() + ms;
    for (;;) {
      const d = await this.#o.adjudicator.dispute(entry.id);
      if (done(d) || Date.now() >= deadline || this.#closed) return d;
      await new Promise((r) =>
        setTimeout(r, Math.min(this.#o.chainPollMs, Math.max(0, deadline - Date.now()))),
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Watching

  async #watch(entry: Entry): Promise<void> {
    const w = this.#o.watcher;
    const cur = entry.machine.current;
    // A sub-channel is watched as part of its parent.
    if (w === undefined || cur === undefined || entry.watched !== undefined || entry.parent !== undefined)
      return;
    entry.watched = await w.watch(
      { params: entry.machine.params, state: cur.state, sigs: [...cur.sigs] },
      (ev) => this.#onChainEvent(entry, ev),
      this.#subSigned(cur.state),
    );
  }

  async #onChainEvent(entry: Entry, ev: AdjudicatorEvent): Promise<void> {
    const m = entry.machine;
    entry.chainEvents++;
    if (!sameHex(ev.channelID, entry.id)) {
      const child = this.#channels.get(ev.channelID.toLowerCase());
      if (
        child !== undefined &&
        (child.parent === entry || (child.observer === true && this.#locks(entry, child.id)))
      )
        await this.#onSubChainEvent(child, ev);
      return;
    }
    if (ev.kind === 'progressed' && ev.state !== undefined && ev.params !== undefined) {
      // A progression is signed by its actor alone: it is what the chain holds, not a state of ours.
      if (entry.registered?.state.version !== ev.state.version) {
        entry.registered = { params: ev.params, state: ev.state, sigs: ev.sigs ?? [] };
        this.#emit({
          type: 'progressed',
          channelId: entry.id,
          version: ev.version,
          timeout: ev.timeout,
          by: 'chain',
          state: structuredClone(ev.state),
          actorIdx: ev.actorIdx ?? -1,
        });
      }
    } else if (ev.state !== undefined && ev.sigs !== undefined && ev.params !== undefined) {
      entry.registered = { params: ev.params, state: ev.state, sigs: ev.sigs };
      if (ev.state.version > m.version) {
        // The peer registered a state newer than ours: it is signed by everyone, adopt it.
        await entry.lock.run(async () => {
          if (ev.state!.version > m.version) {
            m.installSigned(ev.state!, ev.sigs!);
            await this.#persist(entry);
          }
        });
        this.#reconcileChildren(entry);
      }
    }
    if (m.phase === 'Withdrawn' || m.phase === 'Withdrawing') return;
    if (ev.kind === 'registered' || ev.kind === 'progressed') {
      this.#emit({
        type: 'registered',
        channelId: entry.id,
        version: ev.version,
        timeout: ev.timeout,
        by: 'chain',
      });
      this.#settleInBackground(entry, () => this.#disputeFlow(entry));
    } else if (ev.kind === 'concluded') {
      this.#settleInBackground(entry, () =>
        entry.lock
          .run(async () => {
            if (
              m.phase !== 'Withdrawing' &&
              m.phase !== 'Withdrawn' &&
              m.phase !== 'Final' &&
              m.phase !== 'Registered'
            ) {
              m.setPhase('Registered');
              await this.#persist(entry);
            }
          })
          .then(() => this.#withdraw(entry)),
      );
    }
  }

  /** A sub-channel's registration or progression, seen with its parent's events: what the parent's conclusion needs. */
  async #onSubChainEvent(child: Entry, ev: AdjudicatorEvent): Promise<void> {
    const cm = child.machine;
    if (ev.state === undefined || ev.params === undefined) return;
    if (ev.kind === 'progressed') {
      if (child.registered?.state.version === ev.state.version) return;
      child.registered = { params: ev.params, state: ev.state, sigs: ev.sigs ?? [] };
      await this.#enterPhase(child, 'Progressed');
      this.#emit({
        type: 'progressed',
        channelId: child.id,
        version: ev.version,
        timeout: ev.timeout,
        by: 'chain',
        state: structuredClone(ev.state),
        actorIdx: ev.actorIdx ?? -1,
      });
    } else if (ev.kind === 'registered' && ev.sigs !== undefined) {
      child.registered = { params: ev.params, state: ev.state, sigs: ev.sigs };
      if (ev.state.version > cm.version) {
        await child.lock.run(async () => {
          if (ev.state!.version > cm.version) {
            cm.installSigned(ev.state!, ev.sigs!);
            await this.#persist(child);
          }
        });
      }
      if (child.observer === true) {
        // A participant took the virtual channel on chain: we settle every ledger channel that
        // locks it with the state the chain holds, so that we are paid what we stood in for.
        for (const p of this.#lockers(child.id)) {
          if (p.machine.phase !== 'Withdrawn')
            this.#settleInBackground(p, () => p.local.run(() => this.#disputeFlow(p)));
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Restore

  #restore(r: ChannelRecord): void {
    const staged = r.staged;
    // A stored staged state carries the signature of the one who proposed it (and no other).
    const signed = staged === null ? -1 : staged.sigs.findIndex((s) => s !== null);
    const actor = signed === -1 ? r.ourIndex : signed;
    let machine: ChannelMachine;
    try {
      machine = ChannelMachine.restore(
        {
          format: 1,
          params: paramsToJson(r.params),
          channelID: r.id,
          idx: r.ourIndex,
          phase: r.phase,
          current: r.current === null ? null : { state: stateToJson(r.current.state), sigs: r.current.sigs },
          staged: staged === null ? null : { state: stateToJson(staged.state), sigs: staged.sigs, actor },
          ...(r.usedVersion === null ? {} : { usedVersion: r.usedVersion.toString() }),
          ...(r.usedState === null
            ? {}
            : { usedState: { state: stateToJson(r.usedState.state), sig: r.usedState.sig } }),
        },
        this.#verifier,
      );
    } catch (err) {
      this.#warn(r.id, err, 'restore');
      return;
    }
    const peer = r.peers[1 - r.ourIndex]!;
    if (r.params.virtualChannel && !r.params.participants.some((x) => sameHex(x.ethAddress, this.address))) {
      // A virtual channel we are the intermediary of: our copy of its states.
      const observer = this.#add(r.id, peer, machine, machine.phase);
      observer.observer = true;
      observer.persistedVersion = machine.version;
      return;
    }
    const parent = r.parentId === null ? undefined : this.#channels.get(r.parentId.toLowerCase());
    if (r.parentId !== null && parent === undefined) {
      this.#warn(
        r.id,
        new ChannelClientError('UNKNOWN_CHANNEL', 'the parent channel is not stored'),
        'restore',
      );
      return;
    }
    const entry = this.#add(r.id, peer, machine, machine.phase);
    entry.parent = parent;
    entry.persistedVersion = machine.version;
    entry.persistedUsed = machine.usedVersion;
    if (parent !== undefined) {
      // A sub-channel follows its parent: funded, released and disputed through it.
      if (machine.phase === 'InitSigning') this.#armOpenTimer(entry);
      return;
    }
    switch (machine.phase) {
      case 'InitSigning':
        this.#armOpenTimer(entry);
        break;
      case 'Funding':
        this.#bg(this.#fund(entry), r.id, 'funding');
        break;
      case 'Acting':
      case 'Signing':
        this.#bg(this.#watch(entry), r.id, 'watch');
        break;
      case 'Final':
        this.#settleInBackground(entry, () => this.#concludeAndWithdraw(entry, true));
        break;
      case 'Registering':
      case 'Registered':
      case 'Progressing':
      case 'Progressed':
        this.#bg(this.#watch(entry), r.id, 'watch');
        this.#settleInBackground(entry, () => this.#disputeFlow(entry));
        break;
      case 'Withdrawing':
        this.#settleInBackground(entry, () => this.#withdraw(entry));
        break;
      default:
        break;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing

  #dispatch(from: string, msg: ChannelMessage): Promise<void> {
    if (this.#closed) return Promise.resolve();
    let work: Promise<void>;
    switch (msg.type) {
      case 'ledger-channel-proposal':
        work = this.#onProposal(from, msg);
        break;
      case 'sub-channel-proposal':
        work = this.#onSubProposal(from, msg);
        break;
      case 'virtual-channel-proposal':
        work = this.#onVirtualProposal(from, msg);
        break;
      case 'virtual-channel-update':
        work = this.#onVirtualUpdate(from, msg);
        break;
      case 'ledger-channel-accept':
      case 'sub-channel-accept':
      case 'virtual-channel-accept':
      case 'channel-proposal-reject': {
        const w = this.#proposals.get(msg.proposalID.toLowerCase());
        if (w !== undefined && w.peer === from) w.resolve(msg);
        work = Promise.resolve();
        break;
      }
      case 'channel-update':
        work = this.#onUpdate(from, msg);
        break;
      case 'channel-update-accept':
        work = this.#onAccept(from, msg);
        break;
      case 'channel-update-reject':
        work = this.#onReject(from, msg);
        break;
      case 'channel-sync':
        work = this.#onSync(from, msg);
        break;
    }
    return work.catch((err: unknown) => this.#warn(undefined, err, `handling ${msg.type} from ${from}`));
  }

  async #ask(
    peer: string,
    msg: LedgerChannelProposal | SubChannelProposal | VirtualChannelProposal,
  ): Promise<ChannelMessage> {
    const key = msg.proposalID.toLowerCase();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = new Promise<ChannelMessage>((resolve, reject) => {
      this.#proposals.set(key, { peer, resolve });
      timer = setTimeout(
        () =>
          reject(new ChannelClientError('PEER_TIMEOUT', 'the peer did not answer the proposal', { peer })),
        this.#o.responseTimeoutMs,
      );
    });
    try {
      await this.#o.wire.send(peer, msg);
      return await reply;
    } finally {
      clearTimeout(timer);
      this.#proposals.delete(key);
    }
  }

  async #ourId(peer: string): Promise<string> {
    return (await this.#o.wire.idFor?.(peer)) ?? this.#o.wire.id;
  }

  /** Tracks background work so close() can wait for it; its failure becomes a warning event. */
  #bg(work: Promise<unknown>, channelId: Hex | undefined, context: string): void {
    const tracked = work.then(
      () => undefined,
      (err: unknown) => this.#warn(channelId, err, context),
    );
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  async #send(peer: string, msg: ChannelMessage): Promise<void> {
    await this.#o.wire.send(peer, msg);
  }

  /** Writes the machine's current state, staged state and phase in one transaction. */
  async #persist(entry: Entry): Promise<void> {
    const m = entry.machine;
    const from = entry.persistedPhase;
    const cur = m.current;
    const writeCurrent = cur !== undefined && cur.state.version !== entry.persistedVersion;
    const used = m.usedVersion;
    await this.#o.store.transaction(async (tx) => {
      if (writeCurrent) await tx.saveSignedState(entry.id, { state: cur.state, sigs: [...cur.sigs] });
      const s = m.staged;
      await tx.saveStagedState(entry.id, s === undefined ? null : { state: s.state, sigs: [...s.sigs] });
      if (used > entry.persistedUsed) {
        const u = m.usedState;
        await tx.setUsedVersion(
          entry.id,
          used,
          u?.state.version === used ? { state: u.state, sig: u.sig } : undefined,
        );
      }
      if (m.phase !== from) await tx.setPhase(entry.id, m.phase);
    });
    entry.persistedUsed = used;
    if (writeCurrent) {
      entry.persistedVersion = cur.state.version;
      for (const wake of [...entry.onNewer]) wake();
    }
    this.#phaseChanged(entry, from);
  }

  #phaseChanged(entry: Entry, from: Phase): void {
    const to = entry.machine.phase;
    entry.persistedPhase = to;
    if (to !== from) this.#emit({ type: 'phase', channelId: entry.id, from, to });
  }

  #emitUpdated(entry: Entry, before: State, after: State, by: 'us' | 'peer'): void {
    this.#emit({
      type: 'updated',
      channelId: entry.id,
      version: after.version,
      by,
      state: structuredClone(after),
    });
    const d = delta(before, after, entry.machine.idx);
    if (d.some((x) => x < 0n) && d.every((x) => x <= 0n)) {
      this.#emit({
        type: 'payment-sent',
        channelId: entry.id,
        version: after.version,
        amounts: d.map((x) => -x),
      });
    } else if (d.some((x) => x > 0n) && d.every((x) => x >= 0n)) {
      this.#emit({ type: 'payment-received', channelId: entry.id, version: after.version, amounts: d });
    }
  }

  #add(id: Hex, peer: string, machine: ChannelMachine, persistedPhase: Phase): Entry {
    const entry: Entry = {
      id,
      peer,
      machine,
      lock: new Mutex(),
      local: new Mutex(),
      persistedVersion: -1n,
      persistedPhase,
      persistedUsed: -1n,
      onNewer: new Set(),
      chainEvents: 0,
    };
    this.#channels.set(id.toLowerCase(), entry);
    return entry;
  }

  #entry(id: Hex): Entry {
    const e = this.#channels.get(String(id).toLowerCase());
    if (e === undefined)
      throw new ChannelClientError('UNKNOWN_CHANNEL', 'unknown channel', { channelId: id });
    return e;
  }

  #info(e: Entry): ChannelInfo {
    const cur = e.machine.current;
    return {
      id: e.id,
      peer: e.peer,
      idx: e.machine.idx,
      params: structuredClone(e.machine.params),
      phase: e.machine.phase,
      state: cur === undefined ? undefined : structuredClone(cur.state),
      ...(e.parent === undefined ? {} : { parent: e.parent.id }),
      ...(e.observer === true ? { observer: true as const } : {}),
    };
  }

  /**
   * A state signature check that treats a state the backend cannot even encode as unsigned. A
   * signature found valid is remembered for a few checks: an incoming update is verified before
   * the callbacks and again by the machine when it is staged, and recovery is the costly part.
   */
  #verify(state: State, sig: Hex, address: Address): boolean {
    let key: string;
    try {
      key = `${sig}|${address}|${canonical(state)}`;
    } catch {
      return false;
    }
    if (this.#verified.has(key)) return true;
    let ok: boolean;
    try {
      ok = this.#o.backend.verifyState(state, sig, address);
    } catch {
      return false;
    }
    if (ok) {
      this.#verified.add(key);
      if (this.#verified.size > 16) this.#verified.delete(this.#verified.values().next().value!);
    }
    return ok;
  }

  readonly #verifier = (state: State, sig: Hex, address: Address): boolean =>
    this.#verify(state, sig, address);

  #requirePhase(entry: Entry, phase: Phase): void {
    const now = entry.machine.phase;
    if (now === phase) return;
    const closed = [
      'Final',
      'Registering',
      'Registered',
      'Progressing',
      'Progressed',
      'Withdrawing',
      'Withdrawn',
    ];
    throw new ChannelClientError(
      closed.includes(now) ? 'CHANNEL_CLOSED' : 'CHANNEL_BUSY',
      `the channel is ${now}, not ${phase}`,
      { channelId: entry.id, phase: now },
    );
  }

  #requireOpen(): void {
    if (this.#closed || this.#unsubscribe === undefined) {
      throw new ChannelClientError('CLIENT_CLOSED', 'the client is not running; call start()');
    }
  }

  #emit(e: ClientEvent): void {
    this.emit('event', e);
  }

  #warn(channelId: Hex | undefined, error: unknown, context: string): void {
    this.#emit({ type: 'warning', channelId, error, context });
  }
}
