// Opening a channel, the steps every kind shares (go-perun's proposal): the proposal and its
// answer, the channel nonce from both parties' shares, the initial params and state, both
// signatures on version 0, the record stored before our signature leaves, and, on the
// responder's side, one admission step for every kind of proposal: rate limit, the kind's own
// checks, the caller's decision, our signature. The kinds are in proposal.ts (ledger channels),
// sub-channel.ts and virtual-channel.ts.
import { randomBytes } from 'node:crypto';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { ChannelClientError } from '../errors.js';
import { ChannelMachine } from '../machine.js';
import type {
  ChannelMessage,
  LedgerChannelProposal,
  SubChannelProposal,
  VirtualChannelProposal,
} from '../messages.js';
import { lockFunds } from '../subchannel.js';
import type { NewChannelRecord } from '../store.js';
import type { Allocation, Hex, Params, State } from '../types.js';
import { sameAsset, sameHex, totals, validateAllocation, ZERO_APP } from '../validation.js';
import type { Channel } from './channel.js';
import type { ClientContext } from './context.js';
import type { IncomingProposal } from './types.js';

export const hex = (b: Uint8Array): Hex => '0x' + Buffer.from(b).toString('hex');
/** A fresh random 32-byte value: a proposal ID or a nonce share. */
export const random32 = (): Hex => hex(randomBytes(32));
/** 32 zero bytes: a placeholder nonce share (and an Ethereum participant's ccAddress). */
export const ZERO_SHARE: Hex = '0x' + '00'.repeat(32);

type Proposal = LedgerChannelProposal | SubChannelProposal | VirtualChannelProposal;
type Acceptance = 'ledger-channel-accept' | 'sub-channel-accept' | 'virtual-channel-accept';

/** Channel nonce from both parties' shares: SHA3-256 (FIPS) of shareP ‖ shareR as a big-endian integer. */
export function channelNonce(proposerShare: Hex, responderShare: Hex): bigint {
  const data = Buffer.concat([
    Buffer.from(proposerShare.slice(2), 'hex'),
    Buffer.from(responderShare.slice(2), 'hex'),
  ]);
  return BigInt(hex(sha3_256(data)));
}

/**
 * The proposer's side of an opening: sends the proposal, and once the peer accepted with its
 * nonce share and signature, signs the initial state `initial` makes, stores the channel (child
 * of `parent`, if given) and sends our signature. PROPOSAL_REJECTED with the peer's reason.
 * The caller funds the channel.
 */
export async function propose<T extends Acceptance>(
  ctx: ClientContext,
  peer: string,
  msg: Proposal,
  accept: T,
  how: {
    what: string;
    idx: number;
    parent?: Channel;
    initial: (share: Hex) => { params: Params; state: State };
  },
): Promise<Channel> {
  const reply = await ask(ctx, peer, msg);
  if (reply.type === 'channel-proposal-reject') {
    throw new ChannelClientError('PROPOSAL_REJECTED', `the peer rejected the ${how.what}: ${reply.reason}`, {
      reason: reply.reason,
      peer,
    });
  }
  if (reply.type !== accept) throw new ChannelClientError('INVALID_REQUEST', 'unexpected reply');
  const accepted = reply as Extract<ChannelMessage, { type: Acceptance }>;
  const { params, state } = how.initial(accepted.nonceShare);
  const { entry, sig } = await signOpening(ctx, peer, params, state, how.idx, accepted.sig);
  entry.parent = how.parent;
  await created(ctx, entry);
  await ctx.send(peer, { type: 'channel-update-accept', channelID: entry.id, version: 0n, sig });
  return entry;
}

/** How the responder takes one kind of proposal. */
export interface Admission {
  /** Why the proposal cannot be taken, or the ledger channel that funds the proposed child (if any). */
  check(): Promise<string | { parent?: Channel }>;
  /** What the caller's onProposal is asked, besides the peer and the proposal ID. */
  incoming(parent: Channel | undefined): Omit<IncomingProposal, 'peer' | 'proposalID'>;
  /** The params and initial state, with our nonce share. */
  initial(share: Hex, parent: Channel | undefined): { params: Params; state: State };
  /** Our index in the new channel. */
  idx(parent: Channel | undefined): number;
  /** Our acceptance, carrying our share and signature. */
  accept(share: Hex, sig: Hex): ChannelMessage;
}

/**
 * The responder's side of an opening, for every kind of proposal: refuses more than
 * proposalsPerMinute from one peer, runs the kind's checks and the caller's decision, then signs
 * the initial state, stores the channel before our signature leaves, and answers. A refusal is a
 * channel-proposal-reject with the reason; the proposer has `responseTimeoutMs` to complete.
 */
export async function admit(
  ctx: ClientContext,
  from: string,
  proposalID: Hex,
  kind: Admission,
): Promise<void> {
  const reject = (reason: string) => ctx.send(from, { type: 'channel-proposal-reject', proposalID, reason });
  if (!admitProposal(ctx, from)) return reject('too many proposals; try again later');
  const checked = await kind.check();
  if (typeof checked === 'string') return reject(checked);
  const { parent } = checked;
  const decision = (await ctx.o.onProposal?.({ peer: from, proposalID, ...kind.incoming(parent) })) ?? {
    accept: false,
    reason: 'this client takes no channel proposals',
  };
  if (!decision.accept) return reject(decision.reason);
  const share = random32();
  const { params, state } = kind.initial(share, parent);
  const opened = await signResponse(ctx, from, params, state, kind.idx(parent));
  if (opened === undefined) return reject('the channel exists already');
  const { entry, sig } = opened;
  entry.parent = parent;
  await created(ctx, entry);
  armOpenTimer(ctx, entry);
  await ctx.send(from, kind.accept(share, sig));
}

/**
 * Stores a channel whose opening we signed: with its fully signed initial state when we proposed
 * it, with our signature on it while we wait for the proposer's otherwise.
 */
async function created(ctx: ClientContext, entry: Channel): Promise<void> {
  const m = entry.machine;
  const ours = await ctx.ourId(entry.peer);
  const record: NewChannelRecord = {
    id: entry.id,
    params: m.params,
    ourIndex: m.idx,
    peers: m.idx === 0 ? [ours, entry.peer] : [entry.peer, ours],
    ...(entry.parent === undefined ? {} : { parentId: entry.parent.id }),
    phase: m.phase,
  };
  await ctx.o.store.transaction(async (tx) => {
    await tx.createChannel(record);
    if (m.current !== undefined)
      await tx.saveSignedState(entry.id, { state: m.current.state, sigs: [...m.current.sigs] });
    else await tx.saveStagedState(entry.id, { state: m.staged!.state, sigs: [...m.staged!.sigs] });
  });
  if (m.current !== undefined) {
    entry.persistedVersion = 0n;
    entry.persistedState = m.current.state;
  }
  ctx.phaseChanged(entry, 'InitActing');
}

async function ask(ctx: ClientContext, peer: string, msg: Proposal): Promise<ChannelMessage> {
  const key = msg.proposalID.toLowerCase();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reply = new Promise<ChannelMessage>((resolve, reject) => {
    ctx.proposals.set(key, { peer, resolve });
    timer = setTimeout(
      () => reject(new ChannelClientError('PEER_TIMEOUT', 'the peer did not answer the proposal', { peer })),
      ctx.o.responseTimeoutMs,
    );
  });
  try {
    await ctx.o.wire.send(peer, msg);
    return await reply;
  } finally {
    clearTimeout(timer);
    ctx.proposals.delete(key);
  }
}

/** The proposer's new channel: the initial state with the peer's signature and ours (Funding). */
async function signOpening(
  ctx: ClientContext,
  peer: string,
  params: Params,
  state: State,
  idx: number,
  peerSig: Hex,
): Promise<{ entry: Channel; machine: ChannelMachine; sig: Hex }> {
  const id = state.channelID;
  if (ctx.channels.has(id.toLowerCase())) {
    throw new ChannelClientError('INVALID_REQUEST', 'the channel exists already', { channelId: id });
  }
  const machine = ChannelMachine.create({ params, channelID: id, idx }, ctx.verifier);
  machine.init(state);
  machine.addSignature(1 - idx, peerSig);
  const sig = await ctx.o.signer.signState(state, params);
  machine.addOwnSignature(sig);
  machine.enable();
  return { entry: ctx.add(id, peer, machine, 'InitActing'), machine, sig };
}

/** The responder's new channel: the initial state signed by us, awaiting the proposer's signature; undefined if it exists. */
async function signResponse(
  ctx: ClientContext,
  from: string,
  params: Params,
  state: State,
  idx: number,
): Promise<{ entry: Channel; machine: ChannelMachine; sig: Hex } | undefined> {
  if (ctx.channels.has(state.channelID.toLowerCase())) return undefined;
  const machine = ChannelMachine.create({ params, channelID: state.channelID, idx }, ctx.verifier);
  machine.init(state);
  const sig = await ctx.o.signer.signState(state, params);
  machine.addOwnSignature(sig);
  return { entry: ctx.add(state.channelID, from, machine, 'InitActing'), machine, sig };
}

/** The params and version-0 state a proposal and the responder's nonce share make. */
export function opening(
  ctx: ClientContext,
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
    channelID: ctx.o.backend.channelId(params),
    version: 0n,
    outcome: structuredClone(p.initBals),
    appData: p.initData,
    isFinal: false,
  };
  return { params, state };
}

/** Why the proposal's app (or its absence) does not fit its initial data and state, or undefined. */
export function appProblem(
  ctx: ClientContext,
  p: LedgerChannelProposal | SubChannelProposal,
  initial: () => { params: Params; state: State },
): string | undefined {
  if (sameHex(p.app, ZERO_APP)) {
    return p.initData === '0x' ? undefined : 'a channel without app has no app data';
  }
  const app = ctx.apps.get(p.app.toLowerCase());
  if (app === undefined) return `unknown app ${p.app}`;
  const { params, state } = initial();
  try {
    app.validInit(params, state);
    return undefined;
  } catch (err) {
    return `the app refuses the initial state: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Why the open ledger channel `parent` cannot fund a new two-party child with `p`'s challenge
 * duration and initial allocation, its participants sitting in the parent at `map`, or
 * undefined. `say` words the refusals for the kind of child; `tooLittle` replaces lockFunds'.
 */
export function fundingProblem(
  parent: Channel,
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

/** Sliding one-minute window of proposals per peer. */
function admitProposal(ctx: ClientContext, peer: string): boolean {
  const limit = ctx.o.proposalsPerMinute ?? 30;
  const now = Date.now();
  const recent = (ctx.proposalTimes.get(peer) ?? []).filter((t) => now - t < 60_000);
  if (recent.length >= limit) {
    ctx.proposalTimes.set(peer, recent);
    return false;
  }
  recent.push(now);
  ctx.proposalTimes.set(peer, recent);
  return true;
}

/** The responder forgets a channel whose proposer never completed the opening. */
export function armOpenTimer(ctx: ClientContext, entry: Channel): void {
  entry.openTimer = setTimeout(() => {
    const forget = entry.lock.run(async () => {
      if (entry.machine.phase !== 'InitSigning') return;
      ctx.channels.delete(entry.id.toLowerCase());
      entry.parent?.children.delete(entry);
      await ctx.o.store.deleteChannel(entry.id);
      ctx.warn(
        entry.id,
        new ChannelClientError('PEER_TIMEOUT', 'the proposer did not complete the opening'),
        'open',
      );
    });
    forget.catch((err: unknown) => ctx.warn(entry.id, err, 'open'));
  }, ctx.o.responseTimeoutMs);
  entry.openTimer.unref?.();
}
