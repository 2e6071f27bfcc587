// Restore (go-perun's restore): on start every stored channel comes back in its phase, parents
// before their children, and resumes what that phase was doing: waiting for the proposer's
// signature, funding, watching, concluding, disputing, withdrawing. Then every peer is synced and
// a final sub-channel whose release was cut short is released.
import { ChannelClientError } from '../errors.js';
import { paramsToJson, stateToJson } from '../json.js';
import { ChannelMachine } from '../machine.js';
import type { ChannelRecord } from '../store.js';
import { sameHex } from '../validation.js';
import { concludeAndWithdraw, disputeFlow, withdraw } from './adjudicate.js';
import { reconcileChildren } from './children.js';
import type { ClientContext } from './context.js';
import { fund } from './funding.js';
import { armOpenTimer } from './opening.js';
import { releaseSubChannel } from './parent-update.js';
import { watch } from './watch.js';

/** Restores every stored channel, syncs with every peer and resumes cut-short releases. */
export async function restore(ctx: ClientContext): Promise<void> {
  const records = await ctx.o.store.listChannels();
  records.sort((a, b) => Number(a.parentId !== null) - Number(b.parentId !== null));
  for (const r of records) restoreChannel(ctx, r);
  for (const e of ctx.channels.values()) if (e.parent === undefined) reconcileChildren(ctx, e);
  const peers = new Set([...ctx.channels.values()].map((e) => e.peer));
  for (const peer of peers) await ctx.sync(peer);
  for (const e of ctx.channels.values()) {
    // A final sub-channel whose release was cut short: release it now.
    if (e.parent !== undefined && e.machine.phase === 'Final' && e.parent.locks(e.id)) {
      ctx.settleInBackground(e, () => releaseSubChannel(ctx, e));
    }
  }
}

function restoreChannel(ctx: ClientContext, r: ChannelRecord): void {
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
      ctx.verifier,
    );
  } catch (err) {
    ctx.warn(r.id, err, 'restore');
    return;
  }
  const peer = r.peers[1 - r.ourIndex]!;
  if (r.params.virtualChannel && !r.params.participants.some((x) => sameHex(x.ethAddress, ctx.address))) {
    // A virtual channel we are the intermediary of: our copy of its states.
    const observer = ctx.add(r.id, peer, machine, machine.phase);
    observer.observer = true;
    observer.persistedVersion = machine.version;
    observer.persistedState = machine.current?.state;
    return;
  }
  const parent = r.parentId === null ? undefined : ctx.channels.get(r.parentId.toLowerCase());
  if (r.parentId !== null && parent === undefined) {
    ctx.warn(r.id, new ChannelClientError('UNKNOWN_CHANNEL', 'the parent channel is not stored'), 'restore');
    return;
  }
  const entry = ctx.add(r.id, peer, machine, machine.phase);
  entry.parent = parent;
  entry.persistedVersion = machine.version;
  entry.persistedState = machine.current?.state;
  entry.persistedUsed = machine.usedVersion;
  if (staged?.payments !== undefined) {
    entry.stagedPayments = { version: staged.state.version, ...staged.payments };
  }
  if (parent !== undefined) {
    // A sub-channel follows its parent: funded, released and disputed through it.
    if (machine.phase === 'InitSigning') armOpenTimer(ctx, entry);
    return;
  }
  switch (machine.phase) {
    case 'InitSigning':
      armOpenTimer(ctx, entry);
      break;
    case 'Funding':
      ctx.bg(fund(ctx, entry), r.id, 'funding');
      break;
    case 'Acting':
    case 'Signing':
      ctx.bg(watch(ctx, entry), r.id, 'watch');
      break;
    case 'Final':
      ctx.settleInBackground(entry, () => concludeAndWithdraw(ctx, entry, true));
      break;
    case 'Registering':
    case 'Registered':
    case 'Progressing':
    case 'Progressed':
      ctx.bg(watch(ctx, entry), r.id, 'watch');
      ctx.settleInBackground(entry, () => disputeFlow(ctx, entry));
      break;
    case 'Withdrawing':
      ctx.settleInBackground(entry, () => withdraw(ctx, entry));
      break;
    case 'InitActing': // not stored: a channel is stored once we signed its opening
    case 'Withdrawn':
      break;
  }
}
