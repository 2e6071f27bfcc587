// Sub-channels: a channel with the same peer funded by locking part of an open ledger channel's
// balances (its parent). The proposer opens it like a ledger channel and funds it with an update
// of the parent; the responder checks that the parent can fund it and, for an app sub-channel,
// that its challenge duration leaves room for a progression before the parent concludes.
import { ChannelClientError } from '../errors.js';
import type { SubChannelProposal } from '../messages.js';
import { identityMap } from '../subchannel.js';
import type { Hex, Params, State } from '../types.js';
import { sameHex, ZERO_APP } from '../validation.js';
import type { Channel } from './channel.js';
import { childAllocation, ledgerParent } from './children.js';
import type { ClientContext } from './context.js';
import { admit, appProblem, fundingProblem, opening, propose, random32, ZERO_SHARE } from './opening.js';
import { fundSubChannel } from './parent-update.js';
import type { ChannelInfo, SubChannelRequest } from './types.js';

/**
 * Opens a sub-channel of the ledger channel `parentId` with the same peer (docs/protocol.md §6.1):
 * the peer accepts the proposal, both sign the initial state, and our update of the parent moves
 * `req.balances` out of the parent's balances into locked funds. Resolves with the open
 * sub-channel. Its payments and app moves are updates of its own; `settle` returns its final
 * balances to the parent, and a dispute of either registers the parent with it.
 */
export async function proposeSubChannel(
  ctx: ClientContext,
  parentId: Hex,
  req: SubChannelRequest,
): Promise<ChannelInfo> {
  ctx.requireOpen();
  const parent = ledgerParent(ctx, parentId, 'a sub-channel');
  const pm = parent.machine;
  const app = req.app ?? ZERO_APP;
  const msg: SubChannelProposal = {
    type: 'sub-channel-proposal',
    proposalID: random32(),
    parentID: parent.id,
    challengeDuration:
      req.challengeDuration ??
      (sameHex(app, ZERO_APP) ? pm.params.challengeDuration : pm.params.challengeDuration / 2n),
    nonceShare: random32(),
    app,
    initData: req.initData ?? '0x',
    initBals: childAllocation(parent, req.balances),
  };
  const problem = checkSubProposal(ctx, parent, msg);
  if (problem !== undefined) throw new ChannelClientError('INVALID_REQUEST', problem);
  const entry = await propose(ctx, parent.peer, msg, 'sub-channel-accept', {
    what: 'sub-channel',
    idx: pm.idx,
    parent,
    initial: (share) => subInitial(ctx, parent, msg, share),
  });
  await fundSubChannel(ctx, entry);
  return entry.info();
}

/** A sub-channel proposal from `from`, the other participant of the parent. */
export async function onSubProposal(ctx: ClientContext, from: string, p: SubChannelProposal): Promise<void> {
  await admit(ctx, from, p.proposalID, {
    check: async () => {
      const parent = ctx.get(p.parentID);
      if (parent === undefined) return 'unknown parent channel';
      if (parent.peer !== from) return 'not a participant of the parent channel';
      return checkSubProposal(ctx, parent, p) ?? { parent };
    },
    incoming: (parent) => ({
      participants: parent!.machine.params.participants.map((x) => x.ethAddress),
      allocation: structuredClone(p.initBals),
      fundingAgreement: structuredClone(p.initBals.balances),
      challengeDuration: p.challengeDuration,
      app: p.app,
      initData: p.initData,
      parent: parent!.id,
      proposerIdx: 1 - parent!.machine.idx,
    }),
    initial: (share, parent) => subInitial(ctx, parent!, p, share),
    idx: (parent) => parent!.machine.idx,
    accept: (share, sig) => ({
      type: 'sub-channel-accept',
      proposalID: p.proposalID,
      nonceShare: share,
      sig,
    }),
  });
}

function checkSubProposal(ctx: ClientContext, parent: Channel, p: SubChannelProposal): string | undefined {
  const problem = fundingProblem(parent, p, identityMap(2), {
    notOpen: 'the parent channel is not open',
    assets: 'the sub-channel must hold the parent’s assets',
    funds: 'a sub-channel needs funds',
  });
  if (problem !== undefined) return problem;
  if (!sameHex(p.app, ZERO_APP) && p.challengeDuration >= parent.machine.params.challengeDuration) {
    return 'an app sub-channel needs a shorter challenge duration than its parent';
  }
  return appProblem(ctx, p, () => subInitial(ctx, parent, p, ZERO_SHARE));
}

function subInitial(
  ctx: ClientContext,
  parent: Channel,
  p: SubChannelProposal,
  responderShare: Hex,
): { params: Params; state: State } {
  return opening(ctx, p, responderShare, structuredClone(parent.machine.params.participants), 'sub');
}
