// Settling on chain (go-perun's adjudicate): the cooperative ending (concludeFinal of a final
// state, then withdraw), the dispute (register our latest state unless the chain holds it or a
// newer one, progress an app channel with a move of ours, wait out the challenge, conclude with
// what the chain holds and the sub-channels it locks), and the withdrawal, after which the
// channel and its sub-channels are done.
import { ChannelClientError } from '../errors.js';
import type { OnChainDispute, WithdrawnAmount } from '../interfaces.js';
import { canTransition } from '../machine.js';
import type { Hex, State } from '../types.js';
import { sameHex, ZERO_APP } from '../validation.js';
import type { Channel } from './channel.js';
import type { ClientContext } from './context.js';

export async function concludeAndWithdraw(
  ctx: ClientContext,
  entry: Channel,
  primary: boolean,
): Promise<WithdrawnAmount[]> {
  const m = entry.machine;
  const { adjudicator } = ctx.o;
  let d = await adjudicator.dispute(entry.id);
  if (d.stage !== 'concluded' && !primary) {
    d = await pollUntil(ctx, entry, (x) => x.stage === 'concluded', ctx.o.concludeWaitMs);
  }
  if (d.stage !== 'concluded') {
    const cur = m.current!;
    await concluding(ctx, entry, () => adjudicator.concludeFinal(m.params, cur.state, [...cur.sigs]));
  }
  return withdraw(ctx, entry);
}

/**
 * Sends a concluding transaction; its failure counts only if the channel does not show as
 * concluded within concludeWaitMs (the peer may have won the race).
 */
async function concluding(ctx: ClientContext, entry: Channel, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (!(await chainShows(ctx, entry, (d) => d.stage === 'concluded'))) throw err;
  }
}

/**
 * Whether the chain shows `done` now or within concludeWaitMs, after a transaction of ours
 * failed: a node estimates against its pending block, so the peer's transaction that made ours
 * revert may not be in the latest block that our next read sees.
 */
async function chainShows(
  ctx: ClientContext,
  entry: Channel,
  done: (d: OnChainDispute) => boolean,
): Promise<boolean> {
  return done(await pollUntil(ctx, entry, done, ctx.o.concludeWaitMs));
}

/**
 * Registers our latest state unless the chain holds it or a newer one; with `force` (an app
 * channel), progresses the registration to our state `force.to`, signed by us alone, once its
 * timeout passed; then concludes with what the chain holds once that may end (an app channel's
 * registration leaves one more challenge duration for a progression) and withdraws.
 */
export async function disputeFlow(
  ctx: ClientContext,
  entry: Channel,
  force?: { to: State; sig: Hex; target?: Channel },
): Promise<WithdrawnAmount[]> {
  const m = entry.machine;
  const { adjudicator } = ctx.o;
  await entry.lock.run(async () => {
    if (['Funding', 'Acting', 'Signing', 'Final'].includes(m.phase)) {
      m.setPhase('Registering');
      await ctx.persist(entry);
    }
  });
  let d = await adjudicator.dispute(entry.id);
  const cur = m.current!;
  const children = ctx.children(cur.state);
  if (d.stage !== 'concluded') {
    if (cur.state.isFinal) {
      await concluding(ctx, entry, () => adjudicator.concludeFinal(m.params, cur.state, [...cur.sigs]));
    } else if (
      d.stage === 'none' ||
      (d.stage === 'dispute' && (d.version < cur.state.version || (await staleChild(ctx, children))))
    ) {
      try {
        await adjudicator.register(
          { params: m.params, state: cur.state, sigs: [...cur.sigs] },
          ctx.subSigned(cur.state),
        );
      } catch (err) {
        const v = cur.state.version;
        if (!(await chainShows(ctx, entry, (now) => now.stage !== 'none' && now.version >= v))) throw err;
      }
    }
    d = await adjudicator.dispute(entry.id);
  }
  await entry.lock.run(async () => {
    if (m.phase === 'Registering') {
      m.setPhase('Registered');
      await ctx.persist(entry);
    }
  });
  for (const c of children) if (c !== undefined) await ctx.enterPhase(c, 'Registered');
  if (d.stage !== 'concluded') {
    ctx.emit({
      type: 'registered',
      channelId: entry.id,
      version: d.version,
      timeout: d.timeout,
      by: 'us',
    });
  }
  const hasApp = !sameHex(m.params.app, ZERO_APP);
  for (;;) {
    d = await adjudicator.dispute(entry.id);
    if (d.stage === 'concluded') break;
    if (force !== undefined) {
      const target = force.target ?? entry;
      const td = target === entry ? d : await adjudicator.dispute(target.id);
      if (td.stage === 'dispute' && force.to.version === td.version + 1n) {
        await waitForStageEnd(ctx, target.id, td.timeout, 0n);
        const from = target.machine.current!.state;
        await progress(ctx, target, td.version === from.version ? from : undefined, force);
        force = undefined;
        continue;
      }
      if (target !== entry) force = undefined; // the sub-channel's registration moved on without us
    }
    if (d.stage === 'forceexec') await ctx.enterPhase(entry, 'Progressed');
    const extra = d.stage === 'dispute' && hasApp ? m.params.challengeDuration : 0n;
    if (!(await stageEnded(ctx, entry.id, d.timeout, extra))) {
      await waitForStageEnd(ctx, entry.id, d.timeout, extra, entry);
      continue;
    }
    const held = await heldOnChain(ctx, entry, d.version);
    const subStates: State[] = [];
    for (const c of ctx.children(held)) {
      if (c === undefined)
        throw new ChannelClientError('INVALID_REQUEST', 'a locked sub-channel is unknown to us');
      subStates.push(await heldOnChain(ctx, c, (await adjudicator.dispute(c.id)).version));
    }
    await concluding(ctx, entry, () => adjudicator.conclude(m.params, held, subStates));
    break;
  }
  return withdraw(ctx, entry);
}

/** Whether a sub-channel's registration on chain is older than our latest state of it. */
async function staleChild(ctx: ClientContext, children: (Channel | undefined)[]): Promise<boolean> {
  for (const c of children) {
    if (c === undefined) continue;
    const cd = await ctx.o.adjudicator.dispute(c.id);
    if (cd.stage === 'dispute' && cd.version < c.machine.version) return true;
  }
  return false;
}

/** Progresses the registered state `from` to `force.to` on chain, signed by us as its actor. */
async function progress(
  ctx: ClientContext,
  entry: Channel,
  from: State | undefined,
  force: { to: State; sig: Hex },
): Promise<void> {
  const m = entry.machine;
  const { adjudicator } = ctx.o;
  if (from === undefined) return; // the chain holds another state than the one our update builds on
  await ctx.enterPhase(entry, 'Progressing');
  try {
    await adjudicator.progress({ params: m.params, from, to: force.to, actorIdx: m.idx, sig: force.sig });
  } catch (err) {
    const v = force.to.version;
    if (!(await chainShows(ctx, entry, (now) => now.stage === 'forceexec' && now.version >= v))) throw err;
  }
  entry.registered = { params: m.params, state: structuredClone(force.to), sigs: [force.sig] };
  await ctx.enterPhase(entry, 'Progressed');
  const d = await adjudicator.dispute(entry.id);
  ctx.emit({
    type: 'progressed',
    channelId: entry.id,
    version: d.version,
    timeout: d.timeout,
    by: 'us',
    state: structuredClone(force.to),
    actorIdx: m.idx,
  });
}

/** The state the chain holds at `version`: ours, or one the watcher reported (waited for up to concludeWaitMs). */
async function heldOnChain(ctx: ClientContext, entry: Channel, version: bigint): Promise<State> {
  const deadline = Date.now() + ctx.o.concludeWaitMs;
  for (;;) {
    if (entry.machine.current?.state.version === version) return entry.machine.current.state;
    if (entry.registered?.state.version === version) return entry.registered.state;
    if (Date.now() >= deadline || ctx.closed) {
      throw new ChannelClientError('INVALID_REQUEST', 'the registered state is unknown to us', {
        channelId: entry.id,
        version: String(version),
      });
    }
    await new Promise((r) => setTimeout(r, ctx.o.chainPollMs));
  }
}

export async function withdraw(ctx: ClientContext, entry: Channel): Promise<WithdrawnAmount[]> {
  const m = entry.machine;
  await entry.lock.run(async () => {
    if (m.phase !== 'Withdrawing') {
      m.setPhase('Withdrawing');
      await ctx.persist(entry);
    }
  });
  const d = await ctx.o.adjudicator.dispute(entry.id);
  const state =
    d.version === m.version || entry.registered === undefined ? m.current!.state : entry.registered.state;
  const withdrawn = await ctx.o.adjudicator.withdraw(m.params, state, m.idx);
  await entry.lock.run(async () => {
    m.setPhase('Withdrawn');
    await ctx.persist(entry);
  });
  await entry.watched?.stop();
  entry.watched = undefined;
  ctx.emit({ type: 'settled', channelId: entry.id, withdrawn });
  await closeChildren(ctx, entry);
  return withdrawn;
}

/** After the parent's on-chain settlement: its registered sub-channels were paid out with it. */
async function closeChildren(ctx: ClientContext, parent: Channel): Promise<void> {
  for (const c of [...parent.children]) {
    const done = await c.lock.run(async () => {
      const cm = c.machine;
      const from = cm.phase;
      for (const step of ['Registered', 'Withdrawing', 'Withdrawn'] as const) {
        if (cm.phase !== step && canTransition(cm.phase, step)) cm.setPhase(step);
      }
      if (cm.phase === from) return false;
      await ctx.persist(c);
      return cm.phase === 'Withdrawn';
    });
    if (done) ctx.emit({ type: 'settled', channelId: c.id, withdrawn: [] });
  }
}

/** Whether the dispute stage ending at `timeout` ended `extra` seconds ago, by the backend's stageEnded() where it has one. */
function stageEnded(ctx: ClientContext, id: Hex, timeout: bigint, extra: bigint): Promise<boolean> {
  const a = ctx.o.adjudicator;
  if (a.stageEnded !== undefined) return a.stageEnded(id, extra);
  return a.now().then((now) => now >= timeout + extra);
}

/** Resolves once the stage ended (stageEnded) or, with `entry`, a chain event of the channel arrives. */
export async function waitForStageEnd(
  ctx: ClientContext,
  id: Hex,
  timeout: bigint,
  extra: bigint,
  entry?: Channel,
): Promise<void> {
  const seen = entry?.chainEvents;
  while (!(await stageEnded(ctx, id, timeout, extra)) && entry?.chainEvents === seen) {
    if (ctx.closed) throw new ChannelClientError('CLIENT_CLOSED', 'the client was closed');
    await new Promise((r) => setTimeout(r, ctx.o.chainPollMs));
  }
}

async function pollUntil(
  ctx: ClientContext,
  entry: Channel,
  done: (d: OnChainDispute) => boolean,
  ms: number,
): Promise<OnChainDispute> {
  const deadline = Date.now() + ms;
  for (;;) {
    const d = await ctx.o.adjudicator.dispute(entry.id);
    if (done(d) || Date.now() >= deadline || ctx.closed) return d;
    await new Promise((r) => setTimeout(r, Math.min(ctx.o.chainPollMs, Math.max(0, deadline - Date.now()))));
  }
}
