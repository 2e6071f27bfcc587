// Virtual channels, as a participant: a channel with a peer we share no ledger channel with,
// funded by both our ledger channels with one intermediary (docs/protocol.md §7). The proposer
// names the intermediary; the responder picks its own ledger channel with it that can fund its
// side. Each participant funds and later releases it with an update of its own ledger channel.
// The intermediary's side is intermediary.ts.
import { ChannelClientError } from '../errors.js';
import type { VirtualChannelProposal } from '../messages.js';
import { pairMap } from '../subchannel.js';
import type { Hex, Params, State } from '../types.js';
import { sameHex, ZERO_APP } from '../validation.js';
import type { Channel } from './channel.js';
import { childAllocation, ledgerParent } from './children.js';
import type { ClientContext } from './context.js';
import { admit, fundingProblem, opening, propose, random32, ZERO_SHARE } from './opening.js';
import { fundSubChannel } from './parent-update.js';
import type { ChannelInfo, VirtualChannelRequest } from './types.js';

/**
 * Opens a virtual channel with `req.peer` through the intermediary of our ledger channel
 * `req.parent`: the peer accepts (it funds from its own ledger channel with the same
 * intermediary), both sign the initial state, and each sends the intermediary an update of its
 * ledger channel that locks the virtual channel's funds, the intermediary standing in for the
 * other participant; the intermediary signs both once both arrived and match. Payments then go
 * between us and the peer only; `settle` releases the final balances into both ledger channels,
 * a dispute registers our ledger channel with the virtual channel.
 */
export async function proposeVirtualChannel(
  ctx: ClientContext,
  req: VirtualChannelRequest,
): Promise<ChannelInfo> {
  ctx.requireOpen();
  const parent = ledgerParent(ctx, req.parent, 'a virtual channel');
  const pm = parent.machine;
  const msg: VirtualChannelProposal = {
    type: 'virtual-channel-proposal',
    proposalID: random32(),
    challengeDuration: req.challengeDuration ?? pm.params.challengeDuration,
    nonceShare: random32(),
    participants: [ctx.address, req.peerAddress],
    intermediary: parent.peerAddress,
    initBals: childAllocation(parent, req.balances),
  };
  const problem = checkVirtualProposal(parent, msg, 0);
  if (problem !== undefined) throw new ChannelClientError('INVALID_REQUEST', problem);
  const entry = await propose(ctx, req.peer, msg, 'virtual-channel-accept', {
    what: 'virtual channel',
    idx: 0,
    parent,
    initial: (share) => virtualInitial(ctx, msg, share),
  });
  await fundSubChannel(ctx, entry);
  return entry.info();
}

/** A virtual channel proposal from `from`, funded on our side by a ledger channel with its intermediary. */
export async function onVirtualProposal(
  ctx: ClientContext,
  from: string,
  p: VirtualChannelProposal,
): Promise<void> {
  await admit(ctx, from, p.proposalID, {
    check: async () => {
      if (p.participants.length !== 2 || !sameHex(p.participants[1]!, ctx.address)) {
        return 'participant 1 is not our address';
      }
      // Our ledger channel with the intermediary that can fund our side.
      const parents = [...ctx.channels.values()].filter(
        (e) =>
          e.parent === undefined &&
          !e.observer &&
          e.machine.params.ledgerChannel &&
          e.machine.params.participants.some((x) => sameHex(x.ethAddress, p.intermediary)),
      );
      let problem = 'no ledger channel with the intermediary';
      for (const parent of parents) {
        const why = checkVirtualProposal(parent, p, 1);
        if (why === undefined) return { parent };
        problem = why;
      }
      return problem;
    },
    incoming: (parent) => ({
      participants: [...p.participants],
      allocation: structuredClone(p.initBals),
      fundingAgreement: structuredClone(p.initBals.balances),
      challengeDuration: p.challengeDuration,
      app: ZERO_APP,
      initData: '0x',
      parent: parent!.id,
      intermediary: p.intermediary,
    }),
    initial: (share) => virtualInitial(ctx, p, share),
    idx: () => 1,
    accept: (share, sig) => ({
      type: 'virtual-channel-accept',
      proposalID: p.proposalID,
      nonceShare: share,
      sig,
    }),
  });
}

/** Why participant `me` cannot fund the proposed virtual channel from `parent`, or undefined. */
function checkVirtualProposal(parent: Channel, p: VirtualChannelProposal, me: number): string | undefined {
  if (p.participants.length !== 2 || sameHex(p.participants[0]!, p.participants[1]!))
    return 'a virtual channel has two different participants';
  if (p.participants.some((a) => sameHex(a, p.intermediary)))
    return 'the intermediary cannot be a participant';
  return fundingProblem(parent, p, pairMap(me, parent.machine.idx), {
    notOpen: 'the ledger channel with the intermediary is not open',
    assets: 'the virtual channel must hold the ledger channel’s assets',
    funds: 'a virtual channel needs funds',
    tooLittle: 'the ledger channel with the intermediary holds too little to fund the virtual channel',
  });
}

function virtualInitial(
  ctx: ClientContext,
  p: VirtualChannelProposal,
  responderShare: Hex,
): { params: Params; state: State } {
  const participants = p.participants.map((a) => ({ ethAddress: a, ccAddress: ZERO_SHARE }));
  return opening(ctx, { ...p, app: ZERO_APP, initData: '0x' }, responderShare, participants, 'virtual');
}
