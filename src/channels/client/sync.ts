// Channel sync (go-perun's sync, LND's channel reestablish), the answering half: a peer sends
// its latest fully signed state of every channel we share after a restart or reconnect, in
// batches (or one `channel-sync` per channel, from a peer that knows no batch). Each channel is
// handled on its own: a newer state is adopted (every signature checked) with what follows from
// it, and the payments of the versions we missed, as the peer's log names them, go into ours when
// they add up; an older one gets ours back with the payments it missed; our update it never
// answered is sent again. A batch is answered with one (the channels where ours is newer, and
// which channels we compared), then the updates sent again; a single sync as ever. A channel is
// synced once we compared states with the peer. The sending half is ClientContext.sync.
import {
  checkSyncBatch,
  MAX_UPDATE_PAYMENTS,
  type ChannelSync,
  type ChannelSyncBatch,
  type ChannelUpdate,
  type SyncedChannel,
} from '../messages.js';
import { replayPayments } from '../transfer.js';
import type { Hex, VersionedPayment } from '../types.js';
import type { Channel } from './channel.js';
import { reconcileChildren } from './children.js';
import { type ClientContext, sameState } from './context.js';
import { fund } from './funding.js';
import { settleFinal } from './settle.js';

/** Where a channel's answers go: sent at once (a single sync) or gathered for the batch's answer. */
interface Replies {
  /** Our newer state, for a peer that is behind. */
  answer(synced: SyncedChannel): Promise<void>;
  /** Our update the peer never answered. */
  resend(update: ChannelUpdate): Promise<void>;
}

/** A single `channel-sync`: its sender knows no batch, so our syncs to it go one by one too. */
export async function onSync(ctx: ClientContext, from: string, msg: ChannelSync): Promise<void> {
  ctx.singleSyncPeers.add(from);
  await syncChannel(ctx, from, msg, {
    answer: (synced) => ctx.send(from, { type: 'channel-sync', ...synced }),
    resend: (update) => ctx.send(from, update),
  });
}

/**
 * A batch: refused whole (MalformedMessageError, nothing changed) unless it keeps the limits; its
 * sender gets batches from now on. Then each channel as a single sync (one that fails is a
 * warning, the others go on), then the answer (unless this is an answer with nothing newer to
 * tell) and the updates sent again.
 */
export async function onSyncBatch(ctx: ClientContext, from: string, msg: ChannelSyncBatch): Promise<void> {
  checkSyncBatch(msg); // again: it may come from a transport without the decoder
  ctx.singleSyncPeers.delete(from); // it knows batches (now)
  const answers: SyncedChannel[] = [];
  const resends: ChannelUpdate[] = [];
  const compared: Hex[] = [];
  const replies: Replies = {
    answer: async (synced) => void answers.push(synced),
    resend: async (update) => void resends.push(update),
  };
  for (const synced of msg.channels) {
    try {
      if (await syncChannel(ctx, from, synced, replies)) compared.push(synced.state.channelID);
    } catch (err) {
      ctx.warn(synced.state.channelID, err, 'sync');
    }
  }
  for (const id of msg.synced ?? []) {
    const entry = ctx.get(id);
    if (entry?.peer === from) entry.synced = true;
  }
  if (msg.synced === undefined ? compared.length > 0 : answers.length > 0) {
    await ctx.sendSyncs(from, answers, compared);
  }
  for (const update of resends) await ctx.send(from, update);
}

/** One channel's sync from `from`; false if it is not a channel we share with `from`. */
async function syncChannel(
  ctx: ClientContext,
  from: string,
  msg: SyncedChannel,
  replies: Replies,
): Promise<boolean> {
  const entry = ctx.channels.get(msg.state.channelID.toLowerCase());
  if (entry === undefined || entry.peer !== from) return false;
  await entry.lock.run(async () => {
    const m = entry.machine;
    const theirs = msg.state.version;
    if (theirs > m.version) {
      await adopt(ctx, entry, msg);
      entry.synced = true;
      return;
    }
    if (theirs < m.version) {
      const cur = m.current!;
      const missed = await paymentsAfter(ctx, entry.id, theirs);
      await replies.answer({
        phase: m.phase,
        state: cur.state,
        sigs: [...cur.sigs],
        ...(missed === undefined ? {} : { payments: missed }),
      });
    }
    const resend = entry.ourStagedUpdate();
    if (resend !== undefined && resend.state.version > m.version) {
      // The peer is behind or never got our update (it restarted): send it again.
      await replies.resend(resend);
    }
    entry.synced = true;
  });
  return true;
}

/** The peer's newer fully signed state becomes ours, with what follows from it. */
async function adopt(ctx: ClientContext, entry: Channel, msg: SyncedChannel): Promise<void> {
  const m = entry.machine;
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
