// Ledger channels: proposing one to a peer (we are participant 0), and the checks a proposal must
// pass before the caller is asked: two distinct participants with the peers of this connection,
// participant 1 our address, a valid allocation without locked funds, an app we know that accepts
// the initial state, a funding agreement that adds up to the balances, and (on a channel of two
// backends) participant 1's second-chain key ours.
import { ChannelClientError } from '../errors.js';
import type { LedgerChannelProposal } from '../messages.js';
import type { Hex, Params, State } from '../types.js';
import { sameHex, totals, validateAllocation, ZERO_APP } from '../validation.js';
import type { ClientContext } from './context.js';
import { fund } from './funding.js';
import { admit, appProblem, opening, propose, random32, ZERO_SHARE } from './opening.js';
import type { ChannelInfo, ProposeRequest } from './types.js';

/** Proposes a ledger channel to `req.peer`, and once accepted signs, funds and opens it. */
export async function proposeChannel(ctx: ClientContext, req: ProposeRequest): Promise<ChannelInfo> {
  ctx.requireOpen();
  const msg: LedgerChannelProposal = {
    type: 'ledger-channel-proposal',
    proposalID: random32(),
    challengeDuration: req.challengeDuration,
    nonceShare: random32(),
    participants: [ctx.address, req.peerAddress],
    peers: [await ctx.ourId(req.peer), req.peer],
    app: req.app ?? ZERO_APP,
    initData: req.initData ?? '0x',
    initBals: structuredClone(req.allocation),
    fundingAgreement: req.fundingAgreement ?? req.allocation.balances,
    ...ccAddresses(ctx, req),
  };
  const problem = checkProposal(ctx, msg);
  if (problem !== undefined) throw new ChannelClientError('INVALID_REQUEST', problem);
  const entry = await propose(ctx, req.peer, msg, 'ledger-channel-accept', {
    what: 'channel',
    idx: 0,
    initial: (share) => initial(ctx, msg, share),
  });
  await fund(ctx, entry);
  return entry.info();
}

/** A ledger channel proposal from `from`: checked, decided by the caller, then signed. */
export async function onProposal(ctx: ClientContext, from: string, p: LedgerChannelProposal): Promise<void> {
  await admit(ctx, from, p.proposalID, {
    check: async () => {
      if (p.peers[0] !== from || p.peers[1] !== (await ctx.ourId(from))) {
        return 'the peers do not match the connection';
      }
      if (p.participants.length !== 2 || !sameHex(p.participants[1]!, ctx.address)) {
        return 'participant 1 is not our address';
      }
      if (!sameHex(p.ccAddresses?.[1] ?? ZERO_SHARE, ctx.o.signer.ccAddress ?? ZERO_SHARE)) {
        return 'participant 1 is not our second-chain key';
      }
      return checkProposal(ctx, p) ?? {};
    },
    incoming: () => ({
      participants: [...p.participants],
      allocation: structuredClone(p.initBals),
      fundingAgreement: structuredClone(p.fundingAgreement),
      challengeDuration: p.challengeDuration,
      app: p.app,
      initData: p.initData,
    }),
    initial: (share) => initial(ctx, p, share),
    idx: () => 1,
    accept: (share, sig) => ({
      type: 'ledger-channel-accept',
      proposalID: p.proposalID,
      nonceShare: share,
      sig,
    }),
  });
}

function checkProposal(ctx: ClientContext, p: LedgerChannelProposal): string | undefined {
  if (p.participants.length !== 2 || p.peers.length !== 2) return 'a ledger channel has two participants';
  if (sameHex(p.participants[0]!, p.participants[1]!)) return 'the participants must differ';
  if (p.peers[0] === p.peers[1]) return 'the peers must differ';
  if (p.ccAddresses !== undefined && p.ccAddresses.length !== 2)
    return 'one second-chain key per participant';
  if (p.challengeDuration <= 0n || p.challengeDuration >= 1n << 64n) return 'invalid challenge duration';
  if (p.initBals.locked.length > 0) return 'a new channel has no locked funds';
  try {
    validateAllocation(p.initBals, 2);
  } catch (err) {
    return err instanceof Error ? err.message : 'invalid allocation';
  }
  const app = appProblem(ctx, p, () => initial(ctx, p, ZERO_SHARE));
  if (app !== undefined) return app;
  const backend = backendProblem(ctx, p);
  if (backend !== undefined) return backend;
  const want = totals(p.initBals);
  if (p.fundingAgreement.length !== want.length) return 'funding agreement does not fit the assets';
  for (let a = 0; a < want.length; a++) {
    const row = p.fundingAgreement[a]!;
    if (row.length !== 2 || row.some((v) => v < 0n)) return 'invalid funding agreement';
    if (row[0]! + row[1]! !== want[a]) return 'funding agreement does not match the balances';
  }
  return undefined;
}

function initial(
  ctx: ClientContext,
  p: LedgerChannelProposal,
  responderShare: Hex,
): { params: Params; state: State } {
  const participants = p.participants.map((a, i) => ({
    ethAddress: a,
    ccAddress: p.ccAddresses?.[i] ?? ZERO_SHARE,
  }));
  return opening(ctx, p, responderShare, participants, 'ledger');
}

/** The participants' second-chain keys, when we or the peer have one (a channel of two backends). */
function ccAddresses(ctx: ClientContext, req: ProposeRequest): Pick<LedgerChannelProposal, 'ccAddresses'> {
  const ours = ctx.o.signer.ccAddress;
  if (ours === undefined && req.peerCcAddress === undefined) return {};
  return { ccAddresses: [ours ?? ZERO_SHARE, req.peerCcAddress ?? ZERO_SHARE] };
}

/** Why the channel's backend cannot hold this channel, or undefined. */
function backendProblem(ctx: ClientContext, p: LedgerChannelProposal): string | undefined {
  try {
    const { params, state } = initial(ctx, p, ZERO_SHARE);
    ctx.o.backend.checkChannel?.(params, state);
  } catch (err) {
    return err instanceof Error ? err.message : 'the backend cannot hold this channel';
  }
  return undefined;
}
