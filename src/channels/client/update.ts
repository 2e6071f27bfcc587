// Proposing an update (go-perun's update, our side): stage the next state, sign it, persist it,
// then send it; the peer's answer (signature, refusal, conflict) arrives through the handlers in
// update-incoming.ts. A version we signed is used up whatever happens to its state, so a retry
// always takes a higher one. Also the refusals the update handlers share.
import { copyState } from '../copy.js';
import { ChannelClientError } from '../errors.js';
import type { VirtualChannelUpdate } from '../messages.js';
import type { Hex, PaymentRecord, State } from '../types.js';
import { MAX_VERSION_STEP } from '../validation.js';
import { stage } from '../stage-trace.js';
import type { Answer, Channel } from './channel.js';
import type { ClientContext } from './context.js';

type UpdateOptions = { locks?: boolean; virtual?: VirtualChannelUpdate['virtual'] };

/** The next state an update proposes, and the payments it makes (sent with it, kept with it). */
export interface Draft {
  state: State;
  payments?: PaymentRecord[];
}

/** A caller's state function as a draft maker. */
export const draft =
  (fn: (current: State) => State) =>
  (current: State): Draft => ({ state: fn(current) });

/**
 * Proposes the state `fn` makes of the current one (its version and channel ID are set here)
 * and resolves with it once the peer signed it. `fn` runs again on a newer state if the peer's
 * simultaneous update took precedence. Rejections and time-outs are ChannelClientErrors; an
 * invalid state is refused with the validation error before anything is signed.
 */
export async function update(ctx: ClientContext, id: Hex, fn: (current: State) => State): Promise<State> {
  ctx.requireOpen();
  const entry = ctx.entry(id);
  return entry.local.run(async () => {
    const answer = await proposeUntilAnswered(ctx, entry, draft(fn));
    if (answer.kind === 'accepted') return answer.state;
    throw updateFailure(id, answer);
  });
}

/** The error an update the peer did not sign fails with. */
export function updateFailure(id: Hex, answer: Exclude<Answer, { kind: 'accepted' }>): ChannelClientError {
  if (answer.kind === 'conflict') {
    return new ChannelClientError('CHANNEL_BUSY', 'the peer kept updating the channel', { channelId: id });
  }
  if (answer.code === 'PEER_TIMEOUT') {
    return new ChannelClientError('PEER_TIMEOUT', 'the peer did not answer the update', { channelId: id });
  }
  if (answer.code === 'CLIENT_CLOSED')
    return new ChannelClientError('CLIENT_CLOSED', 'the client was closed');
  return new ChannelClientError('UPDATE_REJECTED', `the peer rejected the update: ${answer.reason}`, {
    channelId: id,
    reason: answer.reason,
    peerCode: answer.code,
  });
}

/**
 * Proposes `make` of the current state until the peer signs it or refuses it for good: a conflict
 * (the peer's concurrent update went first, or our version was used up) is tried again on the
 * newer state, up to five times, after the peer's update is signed where that was the reason.
 * When we made the peer's update wait for ours (participant 0 goes first), the peer's next
 * update goes before this one: turns alternate, so neither side starves. The caller holds
 * `entry.local`. Resolves with the last answer: accepted, rejected, or a conflict that persisted.
 */
export async function proposeUntilAnswered(
  ctx: ClientContext,
  entry: Channel,
  make: (current: State) => Draft,
  opts: UpdateOptions = {},
): Promise<Answer> {
  if (entry.owedTurn) {
    await ctx.newerThan(entry, entry.machine.version, ctx.yieldMs);
    entry.owedTurn = false;
  }
  entry.proposing = true;
  try {
    for (let attempt = 0; ; attempt++) {
      const before = entry.machine.version;
      const answer = await proposeUpdate(ctx, entry, make, opts);
      if (answer.kind !== 'conflict' || attempt >= 5) return answer;
      if (answer.wait) await ctx.newerThan(entry, before, ctx.yieldMs);
    }
  } finally {
    entry.proposing = false;
  }
}

/** Why an update the peer did not sign failed, for callers that only tell signed from not signed. */
export function notSigned(answer: Exclude<Answer, { kind: 'accepted' }>): {
  code: 'PEER_TIMEOUT' | 'UPDATE_REJECTED';
  reason: string;
} {
  if (answer.kind === 'conflict') return { code: 'UPDATE_REJECTED', reason: 'conflict' };
  return { code: answer.code === 'PEER_TIMEOUT' ? 'PEER_TIMEOUT' : 'UPDATE_REJECTED', reason: answer.reason };
}

/** `locks`: the update locks or releases a sub-channel's funds (made by the client, not a caller). */
async function proposeUpdate(
  ctx: ClientContext,
  entry: Channel,
  make: (current: State) => Draft,
  opts: UpdateOptions = {},
): Promise<Answer> {
  const m = entry.machine;
  const prepared = await entry.lock.run(async () => {
    ctx.requirePhase(entry, 'Acting');
    const cur = m.current!.state;
    const made = make(copyState(cur));
    const next: State = { ...made.state, channelID: cur.channelID, version: nextVersion(ctx, entry) };
    m.stage(next, { actor: m.idx, lockedUnchanged: opts.locks !== true, app: ctx.appRule(entry) });
    entry.stagedPayments =
      made.payments === undefined
        ? undefined
        : { version: next.version, payer: m.idx, payments: made.payments };
    try {
      const sig = await ctx.o.signer.signState(next, m.params);
      stage('pay.signed');
      m.addOwnSignature(sig);
      await ctx.persist(entry);
      return { next, sig, payments: made.payments };
    } catch (err) {
      if (m.staged !== undefined && m.staged.state.version === next.version) {
        m.discard();
        await ctx.persist(entry).catch(() => undefined);
      }
      throw err;
    }
  });
  await ctx.o.failpoint?.('update-staged', { channelId: entry.id, version: prepared.next.version });
  const answer = new Promise<Answer>((resolve) => {
    entry.pending = { version: prepared.next.version, resolve };
  });
  const timer = setTimeout(
    () => entry.pending?.resolve({ kind: 'rejected', reason: 'no answer', code: 'PEER_TIMEOUT' }),
    ctx.o.responseTimeoutMs,
  );
  try {
    const update = { state: prepared.next, actorIdx: m.idx, sig: prepared.sig };
    await ctx.o.wire.send(
      entry.peer,
      opts.virtual !== undefined
        ? { type: 'virtual-channel-update', ...update, virtual: opts.virtual }
        : prepared.payments !== undefined
          ? { type: 'channel-update', ...update, payments: prepared.payments }
          : { type: 'channel-update', ...update },
    );
  } catch (err) {
    // Not delivered: the peer cannot hold our signature, so the update is dropped.
    await entry.lock.run(async () => {
      if (m.staged?.state.version === prepared.next.version && m.staged.actor === m.idx) {
        m.discard();
        await ctx.persist(entry);
      }
    });
    clearTimeout(timer);
    entry.pending = undefined;
    throw err;
  }
  await ctx.o.failpoint?.('update-sent', { channelId: entry.id, version: prepared.next.version });
  const result = await answer;
  clearTimeout(timer);
  entry.pending = undefined;
  if (result.kind === 'rejected' && result.code === 'PEER_TIMEOUT') {
    // The staged state stays: the peer may hold it signed. A sync settles which it is.
    void ctx.sync(entry.peer).catch((err: unknown) => ctx.warn(entry.id, err, 'sync'));
  }
  return result;
}

/** The version of our next state: above all we signed, and at least what the peer said it would sign. */
function nextVersion(ctx: ClientContext, entry: Channel): bigint {
  const m = entry.machine;
  const ours = m.nextVersion;
  const theirs = entry.peerMinVersion;
  if (theirs === undefined || theirs <= ours || theirs - m.version > MAX_VERSION_STEP) return ours;
  return theirs;
}

/** Sends the refusal of an update (plain or virtual) with a reason and a code. */
export function updateRefusal(
  ctx: ClientContext,
  from: string,
  msg: { state: State },
): (reason: string, code: string) => Promise<void> {
  return (reason, code) =>
    ctx.send(from, {
      type: 'channel-update-reject',
      channelID: msg.state.channelID,
      version: msg.state.version,
      reason,
      code,
    });
}

/** The channel an update from `from` is for; undefined (after refusing it) if unknown or not the peer's. */
export async function updatedEntry(
  ctx: ClientContext,
  from: string,
  msg: { state: State },
  reject: (reason: string, code: string) => Promise<void>,
): Promise<Channel | undefined> {
  const entry = ctx.channels.get(msg.state.channelID.toLowerCase());
  if (entry === undefined) await reject('unknown channel', 'UNKNOWN_CHANNEL');
  else if (entry.peer !== from) await reject('not a participant of this channel', 'NOT_PARTICIPANT');
  else return entry;
  return undefined;
}
