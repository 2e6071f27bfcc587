// Update messages from the peer (go-perun's update, their side): its proposed next state, checked
// in full (version, actor, signature, validity, the app's rule, locked funds, our decision) before
// we sign, persist and answer; and its answers to ours (signature, refusal, conflict), which
// resolve the update waiting in update.ts. Concurrent updates: participant 0's goes first.
import { copyState } from '../copy.js';
import { ChannelClientError, ValidationError } from '../errors.js';
import type { ChannelUpdate, ChannelUpdateAccept, ChannelUpdateReject } from '../messages.js';
import type { PaymentRecord, State } from '../types.js';
import { checkUpdate, paymentAppRule, sameHex, sameLocked, validateState, ZERO_APP } from '../validation.js';
import { stage } from '../stage-trace.js';
import { transferOf } from '../transfer.js';
import type { Answer, Channel, Labelled } from './channel.js';
import { lockChange, subChannelFunded, subChannelReleased } from './children.js';
import { type ClientContext, sameState } from './context.js';
import { fund } from './funding.js';
import { fundSubChannel } from './parent-update.js';
import { settleFinal } from './settle.js';
import type { Decision, IncomingUpdate } from './types.js';
import { updatedEntry, updateRefusal } from './update.js';

const lockedDiffers = (a: State, b: State): boolean => !sameLocked(a.outcome, b.outcome);

export async function onUpdate(ctx: ClientContext, from: string, msg: ChannelUpdate): Promise<void> {
  const id = msg.state.channelID;
  const reject = updateRefusal(ctx, from, msg);
  const entry = await updatedEntry(ctx, from, msg, reject);
  if (entry === undefined) return;
  await ctx.o.failpoint?.('update-received', { channelId: entry.id, version: msg.state.version });
  if (entry.machine.phase === 'Funding' && entry.funding !== undefined) {
    // The peer saw the deposits before we did: give our funder the time the peer gives us.
    await ctx.within(entry.funding, ctx.o.responseTimeoutMs / 2);
  }
  await entry.lock.run(async () => {
    const m = entry.machine;
    const peerIdx = 1 - m.idx;
    const next = msg.state;
    const cur = m.current;
    if (cur !== undefined && next.version === cur.state.version) {
      // A retransmission of the state we accepted: answer again, change nothing.
      if (sameState(next, cur.state) && cur.sigs[peerIdx] === msg.sig) {
        return ctx.send(from, {
          type: 'channel-update-accept',
          channelID: id,
          version: next.version,
          sig: cur.sigs[m.idx]!,
        });
      }
    }
    if (cur === undefined || next.version <= cur.state.version) {
      return reject('the version is not newer than the current one', 'STALE_VERSION');
    }
    if (msg.actorIdx !== peerIdx) return reject('the actor must be the sender', 'INVALID_ACTOR');
    try {
      validateState(m.params, next, { channelID: m.channelID });
    } catch (err) {
      if (err instanceof ValidationError) return reject(err.message, err.code);
      throw err;
    }
    if (!ctx.verify(next, msg.sig, m.params.participants[peerIdx]!.ethAddress, m.params)) {
      return reject('the signature does not verify', 'INVALID_SIGNATURE');
    }
    stage('update.verified');
    const staged = m.staged;
    if (staged !== undefined && staged.actor !== m.idx) {
      if (sameState(staged.state, next)) return; // already being handled
      return reject('another update is being signed', 'CHANNEL_BUSY');
    }
    const refuse = (reason: string, code: string) =>
      ctx.send(from, {
        type: 'channel-update-reject',
        channelID: id,
        version: next.version,
        reason,
        code,
        minVersion: m.nextVersion,
      });
    if ((staged !== undefined || entry.proposing) && m.idx < peerIdx) {
      // Both proposed at once: ours, participant 0's, goes first (the peer proposes again on top
      // of it), also while ours is between attempts, and our next update lets the peer's go
      // first, so that turns alternate.
      entry.owedTurn = true;
      return refuse('a concurrent update of participant 0 takes precedence', 'CONFLICT');
    }
    if (next.version < m.nextVersion) {
      // We signed this version (or a higher one) for another state, which the peer may hold:
      // signing this one would give it two states at one version, or one that ours outranks.
      return refuse(`version ${next.version} is used up; the next is ${m.nextVersion}`, 'VERSION_USED');
    }
    if (staged !== undefined) {
      // Participant 0's newer update goes first. Ours stays pending until the peer answers it:
      // the peer refuses it, or signed it before proposing (its update then includes it).
      m.discard();
      await ctx.persist(entry);
      if (entry.pending?.version === staged.state.version) entry.pending.yielded = staged.state;
    }
    if (m.phase !== 'Acting') return reject(`the channel is not open for updates (${m.phase})`, 'NOT_ACTING');
    const change = lockedDiffers(cur.state, next) ? lockChange(ctx, entry, cur.state, next) : undefined;
    try {
      checkUpdate(m.params, cur.state, next, {
        actor: peerIdx,
        lockedUnchanged: change === undefined,
        minVersion: m.nextVersion,
        app: ctx.appRule(entry),
      });
    } catch (err) {
      if (err instanceof ValidationError) return reject(err.message, err.code);
      throw err;
    }
    // The payments name what the update does; names that do not fit it are dropped, and the
    // update counts as what it does. One case fits from another state than ours: the peer signed
    // our own update (we had restarted and lost its answer) and built this one on it; then both
    // updates' payments are logged, each at its version.
    let payments = msg.payments;
    let earlier: Labelled | undefined;
    const ownLabels = entry.stagedPayments;
    let mislabelled =
      payments === undefined ? undefined : paymentsProblem(cur.state, next, payments, peerIdx);
    if (
      mislabelled !== undefined &&
      staged !== undefined &&
      staged.actor === m.idx &&
      ownLabels?.version === staged.state.version &&
      paymentsProblem(staged.state, next, payments!, peerIdx) === undefined
    ) {
      earlier = { ...ownLabels, balances: staged.state.outcome.balances };
      mislabelled = undefined;
    }
    if (mislabelled !== undefined) {
      payments = undefined;
      ctx.warn(entry.id, new ChannelClientError('INVALID_PAYMENTS', mislabelled), 'update');
    }
    // A lock or release of a sub-channel we agreed to is ours to sign without asking (go-perun's
    // interceptor); anything else goes to the caller's decision.
    if (change === undefined) {
      const decision = await decideUpdate(ctx, entry, cur.state, next, peerIdx);
      if (!decision.accept) return reject(decision.reason, 'REFUSED');
    }
    m.stage(next, { actor: peerIdx, lockedUnchanged: change === undefined });
    entry.stagedPayments =
      payments === undefined ? undefined : { version: next.version, payer: peerIdx, payments };
    entry.syncedPayments =
      earlier === undefined || payments === undefined
        ? undefined
        : {
            version: next.version,
            transfers: [
              { ...earlier, balances: earlier.balances! },
              { version: next.version, payer: peerIdx, payments, balances: next.outcome.balances },
            ],
          };
    m.addSignature(peerIdx, msg.sig);
    const sig = await ctx.o.signer.signState(next, m.params);
    stage('update.signed');
    m.addOwnSignature(sig);
    const enabled = m.enable();
    await ctx.persist(entry);
    ctx.publishFamily(entry);
    await ctx.o.failpoint?.('accept-persisted', { channelId: entry.id, version: next.version });
    await ctx.send(from, { type: 'channel-update-accept', channelID: id, version: next.version, sig });
    ctx.emitUpdated(entry, enabled.state, 'peer');
    if (change?.kind === 'fund') ctx.bg(subChannelFunded(ctx, change.child), change.child.id, 'open');
    if (change?.kind === 'release')
      ctx.bg(subChannelReleased(ctx, change.child), change.child.id, 'settlement');
    settleFinal(ctx, entry);
  });
}

async function decideUpdate(
  ctx: ClientContext,
  entry: Channel,
  current: State,
  next: State,
  actorIdx: number,
): Promise<Decision> {
  if (ctx.o.onUpdate !== undefined) {
    const update: IncomingUpdate = {
      channel: entry.info(),
      current: copyState(current),
      next: copyState(next),
      actorIdx,
    };
    return ctx.o.onUpdate(update);
  }
  if (!sameHex(entry.machine.params.app, ZERO_APP)) return { accept: true }; // the app's rule passed
  try {
    paymentAppRule(entry.machine.params, current, next, actorIdx);
    return { accept: true };
  } catch {
    return { accept: false, reason: 'the update would lower our balance' };
  }
}

export async function onAccept(ctx: ClientContext, from: string, msg: ChannelUpdateAccept): Promise<void> {
  const entry = ctx.channels.get(msg.channelID.toLowerCase());
  if (entry === undefined || entry.peer !== from) return;
  await entry.lock.run(async () => {
    const m = entry.machine;
    const peerIdx = 1 - m.idx;
    const staged = m.staged;
    const yielded = entry.pending?.version === msg.version ? entry.pending.yielded : undefined;
    if (
      yielded !== undefined &&
      ctx.verify(yielded, msg.sig, m.params.participants[peerIdx]!.ethAddress, m.params)
    ) {
      // The peer signed our update before its own, newer one, which we hold: ours counted.
      entry.answer(msg.version, { kind: 'accepted', state: structuredClone(yielded) });
      return;
    }
    if (staged === undefined || staged.state.version !== msg.version) return; // late or duplicate
    if (m.phase === 'InitSigning') {
      m.addSignature(peerIdx, msg.sig);
      m.enable();
      clearTimeout(entry.openTimer);
      await ctx.persist(entry);
      // A sub-channel is funded by the proposer's update of the parent, which we await; each
      // participant of a virtual channel funds it in its own ledger channel with the intermediary.
      if (entry.parent === undefined) ctx.bg(fund(ctx, entry), entry.id, 'funding');
      else if (m.params.virtualChannel) ctx.bg(fundSubChannel(ctx, entry), entry.id, 'funding');
      return;
    }
    if (staged.actor !== m.idx) return;
    await ctx.o.failpoint?.('accept-received', { channelId: entry.id, version: msg.version });
    try {
      m.addSignature(peerIdx, msg.sig);
    } catch (err) {
      m.discard();
      await ctx.persist(entry);
      entry.answer(msg.version, {
        kind: 'rejected',
        reason: 'the peer answered with an invalid signature',
        code: 'INVALID_SIGNATURE',
      });
      ctx.warn(entry.id, err, 'update accept');
      return;
    }
    stage('accept.verified');
    const enabled = m.enable();
    await ctx.o.failpoint?.('update-signed', { channelId: entry.id, version: msg.version });
    const labels = entry.stagedPayments;
    if (labels?.version === msg.version && deferrable(entry, enabled.state)) {
      ctx.defer(entry, { state: enabled.state, sigs: [...enabled.sigs] }, labels);
      ctx.publishFamily(entry);
    } else {
      await ctx.persist(entry);
      ctx.publishFamily(entry);
      ctx.emitUpdated(entry, enabled.state, 'us');
    }
    entry.answer(msg.version, { kind: 'accepted', state: copyState(enabled.state) });
  });
}

export async function onReject(ctx: ClientContext, from: string, msg: ChannelUpdateReject): Promise<void> {
  const entry = ctx.channels.get(msg.channelID.toLowerCase());
  if (entry === undefined || entry.peer !== from) return;
  await entry.lock.run(async () => {
    const m = entry.machine;
    const staged = m.staged;
    const yielded = entry.pending?.version === msg.version && entry.pending.yielded !== undefined;
    if (!yielded) {
      if (staged === undefined || staged.actor !== m.idx || staged.state.version !== msg.version) return;
      m.discard();
      await ctx.persist(entry);
    }
    if (msg.minVersion !== undefined) entry.peerMinVersion = msg.minVersion;
    // CONFLICT: the peer's update goes first; STALE_VERSION: the peer holds a newer state, which
    // the sync below brings; VERSION_USED: propose again with a higher version.
    const answer: Answer =
      msg.code === 'CONFLICT' || msg.code === 'STALE_VERSION'
        ? { kind: 'conflict', wait: true }
        : msg.code === 'VERSION_USED'
          ? { kind: 'conflict', wait: false }
          : { kind: 'rejected', reason: msg.reason, code: msg.code };
    entry.answer(msg.version, answer);
    if (msg.code === 'STALE_VERSION')
      void ctx.sync(entry.peer).catch((e: unknown) => ctx.warn(entry.id, e, 'sync'));
  });
}

/**
 * Why `payments` are not exactly what the update from `cur` to `next` does (a transfer from the
 * payer: each asset's payments add up to what moved), or undefined.
 */
function paymentsProblem(
  cur: State,
  next: State,
  payments: PaymentRecord[],
  payer: number,
): string | undefined {
  const moved = transferOf(cur, next);
  if (moved === undefined || moved.payer !== payer || next.isFinal) {
    return 'payments name an update that moves balances from their payer only';
  }
  const sums = new Map<number, bigint>();
  for (const p of payments) sums.set(p.asset, (sums.get(p.asset) ?? 0n) + p.amount);
  const want = new Map(moved.payments.map((p) => [p.asset, p.amount]));
  if (sums.size !== want.size || [...sums].some(([asset, sum]) => want.get(asset) !== sum)) {
    return 'the payments do not add up to what the update moves';
  }
  return undefined;
}

/**
 * Whether our update to `next`, just signed by the peer, may wait for the channel's next write:
 * a payment of ours in a ledger channel without sub-channels, which only lowers our balances, so
 * that the state before it is never worse for us than it.
 */
function deferrable(entry: Channel, next: State): boolean {
  const m = entry.machine;
  const before = entry.persistedState;
  if (entry.parent !== undefined || before === undefined || next.isFinal || m.phase !== 'Acting')
    return false;
  if (next.outcome.locked.length > 0 || before.outcome.locked.length > 0) return false;
  return next.outcome.balances.every((row, asset) => row[m.idx]! <= before.outcome.balances[asset]![m.idx]!);
}
