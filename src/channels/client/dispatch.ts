// Incoming channel messages, each to its protocol phase's handler. A message from a peer that is
// not the channel's is dropped or refused by the handler; a handler's failure becomes a warning
// event, never an exception in the wire.
import type { ChannelMessage } from '../messages.js';
import type { ClientContext } from './context.js';
import { onVirtualUpdate } from './intermediary.js';
import { onProposal } from './proposal.js';
import { onSubProposal } from './sub-channel.js';
import { onSync, onSyncBatch } from './sync.js';
import { onAccept, onReject, onUpdate } from './update-incoming.js';
import { onVirtualProposal } from './virtual-channel.js';

export function dispatch(ctx: ClientContext, from: string, msg: ChannelMessage): Promise<void> {
  if (ctx.closed) return Promise.resolve();
  let work: Promise<void>;
  switch (msg.type) {
    case 'ledger-channel-proposal':
      work = onProposal(ctx, from, msg);
      break;
    case 'sub-channel-proposal':
      work = onSubProposal(ctx, from, msg);
      break;
    case 'virtual-channel-proposal':
      work = onVirtualProposal(ctx, from, msg);
      break;
    case 'virtual-channel-update':
      work = onVirtualUpdate(ctx, from, msg);
      break;
    case 'ledger-channel-accept':
    case 'sub-channel-accept':
    case 'virtual-channel-accept':
    case 'channel-proposal-reject': {
      const w = ctx.proposals.get(msg.proposalID.toLowerCase());
      if (w !== undefined && w.peer === from) w.resolve(msg);
      work = Promise.resolve();
      break;
    }
    case 'channel-update':
      work = onUpdate(ctx, from, msg);
      break;
    case 'channel-update-accept':
      work = onAccept(ctx, from, msg);
      break;
    case 'channel-update-reject':
      work = onReject(ctx, from, msg);
      break;
    case 'channel-sync':
      work = onSync(ctx, from, msg);
      break;
    case 'channel-sync-batch':
      work = onSyncBatch(ctx, from, msg);
      break;
  }
  return work.catch((err: unknown) => ctx.warn(undefined, err, `handling ${msg.type} from ${from}`));
}
