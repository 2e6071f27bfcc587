// Ending a channel, as the caller asks: settle (a final state both sign, then concludeFinal and
// withdraw, or the release of a sub-channel into its parent), dispute (on chain without the peer)
// and forceUpdate (an app channel's move enforced on chain). Also what follows a final state the
// peer proposed. The on-chain steps are in adjudicate.ts.
import { ChannelClientError } from '../errors.js';
import type { WithdrawnAmount } from '../interfaces.js';
import type { Hex, State } from '../types.js';
import { sameHex, ZERO_APP } from '../validation.js';
import { concludeAndWithdraw, disputeFlow } from './adjudicate.js';
import type { Channel } from './channel.js';
import type { ClientContext } from './context.js';
import { releaseSubChannel } from './parent-update.js';
import { notSigned, proposeUntilAnswered } from './update.js';

/**
 * Closes the channel cooperatively: a final state with the current balances, concludeFinal
 * and our withdrawal. Resolves with what we withdrew.
 */
export async function settle(ctx: ClientContext, id: Hex): Promise<WithdrawnAmount[]> {
  ctx.requireOpen();
  const entry = ctx.entry(id);
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
    if (entry.machine.phase !== 'Acting') return;
    const a = await proposeUntilAnswered(ctx, entry, (s) => ({ state: { ...s, isFinal: true } }));
    if (a.kind === 'accepted') return;
    const { code, reason } = notSigned(a);
    throw new ChannelClientError(
      code,
      'the peer did not sign the final state; dispute the channel to close it',
      {
        channelId: id,
        reason,
      },
    );
  });
  if (entry.parent !== undefined) return ctx.settlement(entry, () => releaseSubChannel(ctx, entry));
  return ctx.settlement(entry, () => concludeAndWithdraw(ctx, entry, true));
}

/**
 * Closes the channel without the peer: registers our latest state, waits out the challenge
 * duration, concludes and withdraws. Resolves with what we withdrew.
 */
export function dispute(ctx: ClientContext, id: Hex): Promise<WithdrawnAmount[]> {
  ctx.requireOpen();
  const child = ctx.entry(id);
  // A sub-channel exists on chain only as part of its parent's registration.
  const entry = child.parent ?? child;
  return ctx.settlement(entry, () => entry.local.run(() => disputeFlow(ctx, entry)));
}

/**
 * Enforces an update of an app channel on chain when the peer does not sign it (go-perun's
 * ForceUpdate): registers the latest state, progresses it once its challenge duration passed
 * to the update, signed by us alone as the app allows its actor, then concludes and withdraws.
 * The update is ours that the peer left unanswered or refused (`fn` omitted) or, when there is
 * none, `fn` of the current state. Joins a settlement that is already running (without
 * progressing).
 */
export async function forceUpdate(
  ctx: ClientContext,
  id: Hex,
  fn?: (current: State) => State,
): Promise<WithdrawnAmount[]> {
  ctx.requireOpen();
  const entry = ctx.entry(id);
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
      ctx.requirePhase(entry, 'Acting');
      const version = cur.version + 1n;
      if (m.nextVersion > version) {
        throw new ChannelClientError(
          'INVALID_REQUEST',
          `version ${version} is used up: a progression must be the next version`,
          { channelId: id, nextVersion: String(m.nextVersion) },
        );
      }
      const next: State = { ...fn(structuredClone(cur)), channelID: cur.channelID, version };
      m.stage(next, { actor: m.idx, lockedUnchanged: true, app: ctx.appRule(entry) });
      const sig = await ctx.o.signer.signState(next, m.params);
      m.addOwnSignature(sig);
      await ctx.persist(entry);
      return { to: structuredClone(next), sig };
    }),
  );
  const top = entry.parent ?? entry;
  return ctx.settlement(top, () => top.local.run(() => disputeFlow(ctx, top, { ...force, target: entry })));
}

/**
 * What follows a final state both signed that the peer proposed: a ledger channel concludes and
 * withdraws on chain; each participant of a virtual channel releases it from its own ledger
 * channel (a sub-channel is released by the one who closes it).
 */
export function settleFinal(ctx: ClientContext, entry: Channel): void {
  const m = entry.machine;
  if (m.current?.state.isFinal !== true || m.phase !== 'Final') return;
  if (entry.parent === undefined) {
    ctx.settleInBackground(entry, () => concludeAndWithdraw(ctx, entry, false));
  } else if (m.params.virtualChannel) {
    ctx.settleInBackground(entry, () => releaseSubChannel(ctx, entry));
  }
}
