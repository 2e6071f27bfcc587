// Channel sync (go-perun's sync, LND's channel reestablish), the answering half: a peer sends
// its latest fully signed state of every channel we share after a restart or reconnect. A newer
// one is adopted (every signature checked) with what follows from it, and the payments of the
// versions we missed, as the peer's log names them, go into ours when they add up; an older one
// gets ours back with the payments it missed; our update it never answered is sent again. The
// sending half is ClientContext.sync.
import { MAX_UPDATE_PAYMENTS, type ChannelSync } from '../messages.js';
import { replayPayments } from '../transfer.js';
import type { Hex, VersionedPayment } from '../types.js';
import { reconcileChildren } from './children.js';
import { type ClientContext, sameState } from './context.js';
import { fund } from './funding.js';
import { settleFinal } from './settle.js';

export async function onSync(ctx: ClientContext, from: string, msg: ChannelSync): Promise<void> {
  const entry = ctx.channels.get(msg.state.channelID.toLowerCase());
  if (entry === undefined || entry.peer !== from) return;
  await entry.lock.run(async () => {
    const m = entry.machine;
    const theirs = msg.state.version;
    if (theirs > m.version) {
      const before = m.current?.state;
      const staged = m.staged;
      const transfers =
        before === undefined || msg.payments === undefined
          ? undefined
          : replayPayments(before, msg.state, msg.payments);
      // Our update counted if it is the state, or if the peer's log names its payments at its version.
      const ours = entry.stagedPayments;
      const wasOurs =
        staged !== undefined &&
        staged.actor === m.idx &&
        (sameState(staged.state, msg.state) ||
          (ours !== undefined &&
            ours.version === staged.state.version &&
            ours.payments.every((p) =>
              transfers?.some((t) => t.version === ours.version && t.payments.some((q) => q.id === p.id)),
            )));
      const enabled = m.installSigned(msg.state, msg.sigs); // verifies every signature
      if (transfers !== undefined) entry.syncedPayments = { version: msg.state.version, transfers };
      await ctx.persist(entry);
      ctx.publishFamily(entry);
      reconcileChildren(ctx, entry);
      if (before !== undefined) ctx.emitUpdated(entry, enabled.state, wasOurs ? 'us' : 'peer');
      if (staged !== undefined && staged.actor === m.idx) {
        entry.answer(
          staged.state.version,
          wasOurs ? { kind: 'accepted', state: enabled.state } : { kind: 'conflict', wait: false },
        );
      }
      if (m.phase === 'Funding' && before === undefined) {
        clearTimeout(entry.openTimer);
        if (entry.parent === undefined) ctx.bg(fund(ctx, entry), entry.id, 'funding');
        else reconcileChildren(ctx, entry.parent);
      }
      settleFinal(ctx, entry);
      return;
    }
    if (theirs < m.version) {
      const cur = m.current!;
      const missed = await paymentsAfter(ctx, entry.id, theirs);
      await ctx.send(from, {
        type: 'channel-sync',
        phase: m.phase,
        state: cur.state,
        sigs: [...cur.sigs],
        ...(missed === undefined ? {} : { payments: missed }),
      });
    }
    const resend = entry.ourStagedUpdate();
    if (resend !== undefined && resend.state.version > m.version) {
      // The peer is behind or never got our update (it restarted): send it again.
      await ctx.send(from, resend);
    }
  });
}

/** Our log's payments of channel `id` after `version`, oldest first, if there are some and not too many. */
async function paymentsAfter(
  ctx: ClientContext,
  id: Hex,
  version: bigint,
): Promise<VersionedPayment[] | undefined> {
  const log = await ctx.o.store.listPayments({ channelId: id, limit: MAX_UPDATE_PAYMENTS + 1 });
  const missed = log.filter((r) => r.version > version);
  if (missed.length === 0 || missed.length > MAX_UPDATE_PAYMENTS) return undefined;
  return missed
    .reverse()
    .map((r) => ({ version: r.version, payer: r.payer, id: r.id, asset: r.asset, amount: r.amount }));
}
