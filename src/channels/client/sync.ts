// Channel sync (go-perun's sync, LND's channel reestablish), the answering half: a peer sends
// its latest fully signed state of every channel we share after a restart or reconnect. A newer
// one is adopted (every signature checked) with what follows from it; an older one gets ours
// back; our update it never answered is sent again. The sending half is ClientContext.sync.
import type { ChannelSync } from '../messages.js';
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
      const wasOurs = staged !== undefined && staged.actor === m.idx && sameState(staged.state, msg.state);
      const enabled = m.installSigned(msg.state, msg.sigs); // verifies every signature
      await ctx.persist(entry);
      ctx.publishFamily(entry);
      reconcileChildren(ctx, entry);
      if (before !== undefined) ctx.emitUpdated(entry, before, enabled.state, wasOurs ? 'us' : 'peer');
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
      await ctx.send(from, {
        type: 'channel-sync',
        phase: m.phase,
        state: cur.state,
        sigs: [...cur.sigs],
      });
    }
    const s = m.staged;
    if (m.phase === 'Signing' && s !== undefined && s.actor === m.idx && s.state.version > m.version) {
      // The peer is behind or never got our update (it restarted): send it again.
      await ctx.send(from, {
        type: 'channel-update',
        state: s.state,
        actorIdx: m.idx,
        sig: s.sigs[m.idx]!,
      });
    }
  });
}
