// Restore (go-perun's restore): on start every stored channel comes back in its phase, parents
// before their children, and is listed at once. In the background, a few milliseconds at a time,
// each then resumes what its phase was doing: waiting for the proposer's signature, funding,
// watching, concluding, disputing, withdrawing; every peer is synced meanwhile, and a final
// sub-channel whose release was cut short is released once its peer's sync went out. The stored
// signatures are checked lazily: the machine checks them before any use of the states (signing on
// a channel, answering or adopting in a sync, funding, disputing), and once the syncs are done a
// background pass checks the channels nothing used yet. A channel whose stored signatures do not
// verify is dropped with a warning, never signed on; only the watcher is handed its states
// unchecked at first (it refutes with them; nothing is signed on them).
import { ChannelClientError } from '../errors.js';
import { paramsToJson, stateToJson } from '../json.js';
import { ChannelMachine } from '../machine.js';
import type { ChannelRecord } from '../store.js';
import { sameHex } from '../validation.js';
import { concludeAndWithdraw, disputeFlow, withdraw } from './adjudicate.js';
import type { Channel } from './channel.js';
import { reconcileChildren } from './children.js';
import type { ClientContext } from './context.js';
import { fund } from './funding.js';
import { armOpenTimer } from './opening.js';
import { releaseSubChannel } from './parent-update.js';
import { watch } from './watch.js';

/** How long the background check runs before it lets other work in, ms. */
const SLICE_MS = 5;

/**
 * Restores every stored channel; starts syncing with every peer, resuming the channels and
 * checking them, in the background.
 */
export async function restore(ctx: ClientContext): Promise<void> {
  const records = await ctx.o.store.listChannels();
  records.sort((a, b) => Number(a.parentId !== null) - Number(b.parentId !== null));
  const restored = records.flatMap((r) => restoreChannel(ctx, r) ?? []);
  const syncs = new Map<string, Promise<void>>();
  for (const peer of new Set(restored.map((e) => e.peer))) {
    const sync = ctx.sync(peer);
    syncs.set(peer, sync);
    ctx.bg(sync, undefined, 'sync');
  }
  ctx.bg(resumeAndCheck(ctx, restored, syncs), undefined, 'restore');
}

/** Runs `work` on each channel still registered, a few milliseconds at a time; false once closed. */
async function inSlices(
  ctx: ClientContext,
  channels: Channel[],
  work: (e: Channel) => void,
): Promise<boolean> {
  let slice = performance.now();
  for (const e of channels) {
    if (performance.now() - slice > SLICE_MS) {
      await new Promise((r) => setImmediate(r));
      slice = performance.now();
    }
    if (ctx.closed) return false;
    if (ctx.get(e.id) === e) work(e); // else dropped with its parent
  }
  return true;
}

/** Resumes each restored channel's phase; once the syncs are done, checks those nothing used yet. */
async function resumeAndCheck(
  ctx: ClientContext,
  restored: Channel[],
  syncs: ReadonlyMap<string, Promise<void>>,
): Promise<void> {
  const resumed = await inSlices(ctx, restored, (e) => resume(ctx, e, syncs.get(e.peer)));
  if (!resumed) return;
  for (const parent of new Set(restored.map((e) => e.parent))) {
    if (parent === undefined || ctx.get(parent.id) !== parent) continue;
    try {
      reconcileChildren(ctx, parent);
    } catch (err) {
      ctx.warn(parent.id, err, 'restore');
    }
  }
  await Promise.allSettled(syncs.values());
  await inSlices(ctx, restored, (e) => {
    try {
      e.machine.check();
    } catch (err) {
      drop(ctx, e, err);
    }
  });
}

/** A channel whose stored signatures do not verify is not ours to use: gone, with its children. */
function drop(ctx: ClientContext, entry: Channel, err: unknown): void {
  ctx.warn(entry.id, err, 'restore');
  for (const e of [entry, ...entry.children]) ctx.channels.delete(e.id.toLowerCase());
  entry.parent = undefined;
  const watched = entry.watched;
  entry.watched = undefined;
  if (watched !== undefined) ctx.bg(watched.stop(), entry.id, 'restore');
}

/** The stored channel `r` back in the registry, its signatures left for checkAndResume. */
function restoreChannel(ctx: ClientContext, r: ChannelRecord): Channel | undefined {
  const staged = r.staged;
  // A stored staged state carries the signature of the one who proposed it (and no other).
  const signed = staged === null ? -1 : staged.sigs.findIndex((s) => s !== null);
  const actor = signed === -1 ? r.ourIndex : signed;
  let machine: ChannelMachine;
  try {
    ctx.o.backend.adopt?.(r.params);
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
      { verify: 'later' },
    );
  } catch (err) {
    ctx.warn(r.id, err, 'restore');
    return undefined;
  }
  const peer = r.peers[1 - r.ourIndex]!;
  if (r.params.virtualChannel && !r.params.participants.some((x) => sameHex(x.ethAddress, ctx.address))) {
    // A virtual channel we are the intermediary of: our copy of its states.
    const observer = ctx.add(r.id, peer, machine, machine.phase);
    observer.observer = true;
    observer.persistedVersion = machine.version;
    observer.persistedState = machine.latest?.state;
    return observer;
  }
  const parent = r.parentId === null ? undefined : ctx.channels.get(r.parentId.toLowerCase());
  if (r.parentId !== null && parent === undefined) {
    ctx.warn(r.id, new ChannelClientError('UNKNOWN_CHANNEL', 'the parent channel is not stored'), 'restore');
    return undefined;
  }
  const entry = ctx.add(r.id, peer, machine, machine.phase);
  entry.synced = machine.latest === undefined || machine.phase === 'Withdrawn';
  entry.parent = parent;
  entry.persistedVersion = machine.version;
  entry.persistedState = machine.latest?.state;
  entry.persistedUsed = machine.usedVersion;
  if (staged?.payments !== undefined) {
    entry.stagedPayments = { version: staged.state.version, ...staged.payments };
  }
  return entry;
}

/** Resumes what the phase of the checked channel `entry` was doing. */
function resume(ctx: ClientContext, entry: Channel, synced: Promise<void> | undefined): void {
  const machine = entry.machine;
  if (entry.observer === true) return;
  const parent = entry.parent;
  if (parent !== undefined) {
    // A sub-channel follows its parent: funded, released and disputed through it.
    if (machine.phase === 'InitSigning') armOpenTimer(ctx, entry);
    if (machine.phase === 'Final' && parent.locks(entry.id)) {
      // Its release was cut short: release it once the peer has our states.
      ctx.settleInBackground(entry, async () => {
        await synced;
        return releaseSubChannel(ctx, entry);
      });
    }
    return;
  }
  switch (machine.phase) {
    case 'InitSigning':
      armOpenTimer(ctx, entry);
      break;
    case 'Funding':
      ctx.bg(fund(ctx, entry), entry.id, 'funding');
      break;
    case 'Acting':
    case 'Signing':
      ctx.bg(watch(ctx, entry), entry.id, 'watch');
      break;
    case 'Final':
      ctx.settleInBackground(entry, () => concludeAndWithdraw(ctx, entry, true));
      break;
    case 'Registering':
    case 'Registered':
    case 'Progressing':
    case 'Progressed':
      ctx.bg(watch(ctx, entry), entry.id, 'watch');
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
