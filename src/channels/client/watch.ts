// Watching the chain: a ledger channel (with its sub-channels) is handed to the watcher once open;
// its events adopt a newer state a peer registered, record what the chain holds, and start our
// side of the dispute or withdrawal. An intermediary seeing a virtual channel registered settles
// every ledger channel that locks it.
import type { AdjudicatorEvent } from '../interfaces.js';
import { sameHex } from '../validation.js';
import { disputeFlow, withdraw } from './adjudicate.js';
import type { Channel } from './channel.js';
import { reconcileChildren } from './children.js';
import type { ClientContext } from './context.js';

export async function watch(ctx: ClientContext, entry: Channel): Promise<void> {
  const w = ctx.o.watcher;
  // As stored: a restored channel's signatures may be checked later (the watcher refutes with
  // them, and nothing is signed on them).
  const cur = entry.machine.latest;
  // A sub-channel is watched as part of its parent.
  if (w === undefined || cur === undefined || entry.watched !== undefined || entry.parent !== undefined)
    return;
  entry.watched = await w.watch(
    { params: entry.machine.params, state: cur.state, sigs: [...cur.sigs] },
    (ev) => onChainEvent(ctx, entry, ev),
    ctx.subSigned(cur.state),
  );
}

async function onChainEvent(ctx: ClientContext, entry: Channel, ev: AdjudicatorEvent): Promise<void> {
  const m = entry.machine;
  entry.chainEvents++;
  if (!sameHex(ev.channelID, entry.id)) {
    const child = ctx.channels.get(ev.channelID.toLowerCase());
    if (child !== undefined && (child.parent === entry || (child.observer === true && entry.locks(child.id))))
      await onSubChainEvent(ctx, child, ev);
    return;
  }
  if (ev.kind === 'progressed' && ev.state !== undefined && ev.params !== undefined) {
    // A progression is signed by its actor alone: it is what the chain holds, not a state of ours.
    if (entry.registered?.state.version !== ev.state.version) {
      entry.registered = { params: ev.params, state: ev.state, sigs: ev.sigs ?? [] };
      ctx.emit({
        type: 'progressed',
        channelId: entry.id,
        version: ev.version,
        timeout: ev.timeout,
        by: 'chain',
        state: structuredClone(ev.state),
        actorIdx: ev.actorIdx ?? -1,
      });
    }
  } else if (ev.state !== undefined && ev.sigs !== undefined && ev.params !== undefined) {
    entry.registered = { params: ev.params, state: ev.state, sigs: ev.sigs };
    if (ev.state.version > m.version) {
      // The peer registered a state newer than ours: it is signed by everyone, adopt it.
      await entry.lock.run(async () => {
        if (ev.state!.version > m.version) {
          m.installSigned(ev.state!, ev.sigs!);
          await ctx.persist(entry);
        }
      });
      reconcileChildren(ctx, entry);
    }
  }
  if (m.phase === 'Withdrawn' || m.phase === 'Withdrawing') return;
  if (ev.kind === 'registered' || ev.kind === 'progressed') {
    ctx.emit({
      type: 'registered',
      channelId: entry.id,
      version: ev.version,
      timeout: ev.timeout,
      by: 'chain',
    });
    ctx.settleInBackground(entry, () => disputeFlow(ctx, entry));
  } else if (ev.kind === 'concluded') {
    ctx.settleInBackground(entry, () =>
      entry.lock
        .run(async () => {
          if (
            m.phase !== 'Withdrawing' &&
            m.phase !== 'Withdrawn' &&
            m.phase !== 'Final' &&
            m.phase !== 'Registered'
          ) {
            m.setPhase('Registered');
            await ctx.persist(entry);
          }
        })
        .then(() => withdraw(ctx, entry)),
    );
  }
}

/** A sub-channel's registration or progression, seen with its parent's events: what the parent's conclusion needs. */
async function onSubChainEvent(ctx: ClientContext, child: Channel, ev: AdjudicatorEvent): Promise<void> {
  const cm = child.machine;
  if (ev.state === undefined || ev.params === undefined) return;
  if (ev.kind === 'progressed') {
    if (child.registered?.state.version === ev.state.version) return;
    child.registered = { params: ev.params, state: ev.state, sigs: ev.sigs ?? [] };
    await ctx.enterPhase(child, 'Progressed');
    ctx.emit({
      type: 'progressed',
      channelId: child.id,
      version: ev.version,
      timeout: ev.timeout,
      by: 'chain',
      state: structuredClone(ev.state),
      actorIdx: ev.actorIdx ?? -1,
    });
  } else if (ev.kind === 'registered' && ev.sigs !== undefined) {
    child.registered = { params: ev.params, state: ev.state, sigs: ev.sigs };
    if (ev.state.version > cm.version) {
      await child.lock.run(async () => {
        if (ev.state!.version > cm.version) {
          cm.installSigned(ev.state!, ev.sigs!);
          await ctx.persist(child);
        }
      });
    }
    if (child.observer === true) {
      // A participant took the virtual channel on chain: we settle every ledger channel that
      // locks it with the state the chain holds, so that we are paid what we stood in for.
      for (const p of ctx.lockers(child.id)) {
        if (p.machine.phase !== 'Withdrawn')
          ctx.settleInBackground(p, () => p.local.run(() => disputeFlow(ctx, p)));
      }
    }
  }
}
