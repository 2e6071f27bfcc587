// The life of sub-channels and virtual channels as their parent's states decide it: open once the
// parent locks their funds, done once it releases them, and which parent updates that change
// locked funds we sign without asking (exactly the lock of a child we agreed to, or the release of
// a final one).
import type { VirtualChannelUpdate } from '../messages.js';
import { identityMap, lockFunds, sameApartFromVersion, unlockFunds } from '../subchannel.js';
import { ChannelClientError } from '../errors.js';
import type { Allocation, Hex, State } from '../types.js';
import { sameHex } from '../validation.js';
import type { Channel } from './channel.js';
import type { ClientContext } from './context.js';

/** The parent locks the sub-channel now: it is open. */
export async function subChannelFunded(ctx: ClientContext, entry: Channel): Promise<void> {
  await entry.lock.run(async () => {
    if (entry.machine.phase !== 'Funding') return;
    entry.machine.setPhase('Acting');
    await ctx.persist(entry);
  });
  ctx.publishFamily(entry);
  ctx.emit({ type: 'opened', channelId: entry.id, peer: entry.peer });
}

export async function subChannelReleased(ctx: ClientContext, entry: Channel): Promise<void> {
  await entry.lock.run(async () => {
    const m = entry.machine;
    if (m.phase === 'Final') m.setPhase('Withdrawing');
    if (m.phase === 'Withdrawing') {
      m.setPhase('Withdrawn');
      await ctx.persist(entry);
      ctx.emit({ type: 'settled', channelId: entry.id, withdrawn: [] });
    }
  });
}

/**
 * Brings the sub-channels of `parent` in line with its latest state (after a sync, a restart or
 * a state adopted from the chain): one still funding that the parent locks is open, a final one
 * the parent no longer locks is released.
 */
export function reconcileChildren(ctx: ClientContext, parent: Channel): void {
  for (const c of parent.children) {
    const locked = parent.locks(c.id);
    if (c.machine.phase === 'Funding' && c.machine.current !== undefined && locked) {
      ctx.bg(subChannelFunded(ctx, c), c.id, 'open');
    } else if ((c.machine.phase === 'Final' || c.machine.phase === 'Withdrawing') && !locked) {
      ctx.bg(subChannelReleased(ctx, c), c.id, 'settlement');
    }
  }
}

/**
 * What a parent update that changes locked funds does, if it is exactly the lock of a sub-channel
 * we agreed to (signed initial state, still funding) or the release of a final sub-channel;
 * undefined otherwise.
 */
export function lockChange(
  ctx: ClientContext,
  parent: Channel,
  cur: State,
  next: State,
): { kind: 'fund' | 'release'; child: Channel } | undefined {
  const added = next.outcome.locked.filter((l) => !cur.outcome.locked.some((c) => sameHex(c.ID, l.ID)));
  const removed = cur.outcome.locked.filter((c) => !next.outcome.locked.some((l) => sameHex(c.ID, l.ID)));
  if (added.length + removed.length !== 1) return undefined;
  const kind = added.length === 1 ? 'fund' : 'release';
  const child = ctx.channels.get((added[0] ?? removed[0])!.ID.toLowerCase());
  if (child === undefined || child.parent !== parent) return undefined;
  const cm = child.machine;
  try {
    const expected =
      kind === 'fund'
        ? cm.phase === 'Funding' && cm.current !== undefined
          ? lockFunds(cur, child.id, cm.current.state.outcome.balances, identityMap(2))
          : undefined
        : cm.current?.state.isFinal === true
          ? unlockFunds(cur, cm.current.state)
          : undefined;
    return expected !== undefined && sameApartFromVersion(expected, next) ? { kind, child } : undefined;
  } catch {
    return undefined;
  }
}

/** The virtual channel's params and signed state a parent update of it carries to the intermediary. */
export function virtualPayload(
  entry: Channel,
  state: State,
  sigs: readonly Hex[],
): VirtualChannelUpdate['virtual'] | undefined {
  if (!entry.machine.params.virtualChannel) return undefined;
  return { params: entry.machine.params, state: structuredClone(state), sigs: [...sigs] };
}

/**
 * Our open ledger channel `id`, to fund `what` (a sub-channel, a virtual channel); INVALID_REQUEST
 * for a child channel, CHANNEL_BUSY or CHANNEL_CLOSED for one that is not open.
 */
export function ledgerParent(ctx: ClientContext, id: Hex, what: string): Channel {
  const parent = ctx.entry(id);
  if (parent.parent !== undefined || !parent.machine.params.ledgerChannel) {
    throw new ChannelClientError('INVALID_REQUEST', `${what} needs a ledger channel as parent`, {
      channelId: id,
    });
  }
  ctx.requirePhase(parent, 'Acting');
  return parent;
}

/** A child's initial allocation: the parent's assets, `balances` of them, nothing locked. */
export function childAllocation(parent: Channel, balances: bigint[][]): Allocation {
  const cur = parent.machine.current!.state;
  return {
    assets: structuredClone(cur.outcome.assets),
    backends: [...cur.outcome.backends],
    balances: structuredClone(balances),
    locked: [],
  };
}
