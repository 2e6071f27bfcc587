// Parent updates that lock or release a child's funds: the proposer of a sub-channel funds it with
// an update of the parent, each participant of a virtual channel funds it with an update of its
// ledger channel with the intermediary (carrying the virtual channel's signed state), and a final
// child's balances go back into its parent the same way.
import { ChannelClientError } from '../errors.js';
import type { WithdrawnAmount } from '../interfaces.js';
import type { VirtualChannelUpdate } from '../messages.js';
import { lockFunds, unlockFunds } from '../subchannel.js';
import type { State } from '../types.js';
import type { Channel } from './channel.js';
import { subChannelFunded, subChannelReleased, virtualPayload } from './children.js';
import type { ClientContext } from './context.js';
import { draft, notSigned, proposeUntilAnswered } from './update.js';

/** Runs a parent update that changes locked funds (a lock or a release), retried like update(). */
async function updateParent(
  ctx: ClientContext,
  parent: Channel,
  fn: (current: State) => State,
  virtual?: VirtualChannelUpdate['virtual'],
): Promise<State> {
  return parent.local.run(async () => {
    const answer = await proposeUntilAnswered(ctx, parent, draft(fn), { locks: true, virtual });
    if (answer.kind === 'accepted') return answer.state;
    const { code, reason } = notSigned(answer);
    throw new ChannelClientError(code, `the peer did not sign the parent update: ${reason}`, {
      channelId: parent.id,
      reason,
    });
  });
}

/** The proposer's update of the parent that locks the sub-channel's initial balances; then the sub-channel is open. */
export async function fundSubChannel(ctx: ClientContext, entry: Channel): Promise<void> {
  const parent = entry.parent!;
  const initial = entry.machine.current!;
  await updateParent(
    ctx,
    parent,
    (s) => lockFunds(s, entry.id, initial.state.outcome.balances, entry.indexMap()),
    virtualPayload(entry, initial.state, initial.sigs),
  );
  await subChannelFunded(ctx, entry);
}

/** Releases a final sub-channel into its parent (an update of the parent); then the sub-channel is done. */
export async function releaseSubChannel(ctx: ClientContext, entry: Channel): Promise<WithdrawnAmount[]> {
  const parent = entry.parent!;
  const { state: final, sigs } = entry.machine.current!;
  if (parent.locks(entry.id)) {
    try {
      await updateParent(ctx, parent, (s) => unlockFunds(s, final), virtualPayload(entry, final, sigs));
    } catch (err) {
      // The peer released it first (our update then found nothing to release).
      if (parent.locks(entry.id)) throw err;
    }
  }
  await subChannelReleased(ctx, entry);
  return [];
}
