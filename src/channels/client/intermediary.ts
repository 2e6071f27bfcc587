// The intermediary of virtual channels (docs/protocol.md §7.2), opt-in by `intermediary`: an
// update of our ledger channel with a participant that locks a virtual channel is held until the
// matching one arrives on our ledger channel with the other participant (same virtual state,
// signed by both), then both are signed; one that releases it is signed when it pays exactly the
// final balances through the locked index map. We keep a copy of the virtual channel (an
// observer, never signing its states) to dispute with if a participant goes on chain.
import { ValidationError } from '../errors.js';
import { paramsToJson, stateToJson } from '../json.js';
import { ChannelMachine } from '../machine.js';
import type { VirtualChannelUpdate } from '../messages.js';
import { lockFunds, pairMap, sameApartFromVersion, unlockFunds } from '../subchannel.js';
import { checkUpdate, sameHex, validateState, ZERO_APP } from '../validation.js';
import type { Channel } from './channel.js';
import { subChannelReleased } from './children.js';
import { type ClientContext, sameState, type VirtualFunding } from './context.js';
import { updatedEntry, updateRefusal } from './update.js';

/**
 * The intermediary's side: an update of our ledger channel with a participant of a virtual
 * channel that locks (funding) or releases (settlement) the virtual channel. A funding is held
 * until the matching one arrives on our other ledger channel (same virtual state, the other
 * participant), then both are signed; a release is signed when it pays exactly the final,
 * fully signed balances through the locked index map.
 */
export async function onVirtualUpdate(
  ctx: ClientContext,
  from: string,
  msg: VirtualChannelUpdate,
): Promise<void> {
  const reject = updateRefusal(ctx, from, msg);
  const entry = await updatedEntry(ctx, from, msg, reject);
  if (entry === undefined) return;
  if (ctx.o.intermediary !== true) return reject('we are no intermediary of virtual channels', 'REFUSED');
  const checked = await entry.lock.run(async () => checkVirtualUpdate(ctx, entry, msg));
  if (typeof checked === 'string') return reject(checked, 'REFUSED');
  if (checked.kind === 'release') {
    await signVirtualUpdate(ctx, entry, from, msg, checked.base, checked.observer);
    return;
  }
  const vid = msg.virtual.state.channelID.toLowerCase();
  const waiting = ctx.virtualFundings.get(vid);
  const mine: VirtualFunding = { parent: entry, from, msg, base: checked.base, answer: () => undefined };
  if (waiting === undefined) {
    const matched = await new Promise<VirtualFunding | undefined>((resolve) => {
      mine.answer = resolve;
      ctx.virtualFundings.set(vid, mine);
      setTimeout(() => resolve(undefined), ctx.o.virtualFundingTimeoutMs ?? 10_000).unref?.();
    });
    if (ctx.virtualFundings.get(vid) === mine) ctx.virtualFundings.delete(vid);
    // The second funding signs both; the first only answers when nothing matched.
    if (matched === undefined)
      return reject('the other participant did not fund the virtual channel', 'REFUSED');
    return;
  }
  ctx.virtualFundings.delete(vid);
  const other = waiting.msg;
  const sameVirtual =
    sameState(other.virtual.state, msg.virtual.state) &&
    JSON.stringify(paramsToJson(other.virtual.params)) === JSON.stringify(paramsToJson(msg.virtual.params)) &&
    waiting.parent !== entry &&
    !sameHex(waiting.parent.peerAddress, entry.peerAddress);
  if (!sameVirtual) {
    waiting.answer(undefined);
    return reject('the two fundings of the virtual channel do not match', 'REFUSED');
  }
  waiting.answer(mine);
  const observer = await observe(ctx, msg.virtual, [waiting.from, from]);
  await signVirtualUpdate(ctx, waiting.parent, waiting.from, waiting.msg, waiting.base, observer);
  await signVirtualUpdate(ctx, entry, from, msg, checked.base, observer);
}

/** Checks a virtual channel's parent update against the channel it carries; the parent's version it builds on, or why not. */
function checkVirtualUpdate(
  ctx: ClientContext,
  entry: Channel,
  msg: VirtualChannelUpdate,
): string | { kind: 'fund' | 'release'; base: bigint; observer?: Channel } {
  const m = entry.machine;
  const peerIdx = 1 - m.idx;
  const cur = m.current;
  if (cur === undefined || m.phase !== 'Acting' || m.staged !== undefined) return 'the channel is busy';
  if (!m.params.ledgerChannel || entry.parent !== undefined) return 'not a ledger channel';
  if (msg.actorIdx !== peerIdx) return 'the actor must be the sender';
  const { params: vp, state: vs, sigs } = msg.virtual;
  try {
    checkUpdate(m.params, cur.state, msg.state, { actor: peerIdx, minVersion: m.nextVersion });
    validateState(vp, vs, { channelID: ctx.o.backend.channelId(vp) });
  } catch (err) {
    if (err instanceof ValidationError) return err.message;
    throw err;
  }
  if (!ctx.verify(msg.state, msg.sig, m.params.participants[peerIdx]!.ethAddress, m.params))
    return 'the signature does not verify';
  if (!vp.virtualChannel || vp.ledgerChannel || !sameHex(vp.app, ZERO_APP) || vp.participants.length !== 2)
    return 'not a virtual payment channel';
  if (sigs.length !== 2 || vp.participants.some((x, i) => !ctx.verify(vs, sigs[i]!, x.ethAddress, vp)))
    return 'the virtual channel’s state is not signed by both participants';
  const v = vp.participants.findIndex((x) => sameHex(x.ethAddress, entry.peerAddress));
  if (v < 0 || vp.participants.some((x) => sameHex(x.ethAddress, ctx.address)))
    return 'the sender is not a participant of the virtual channel, or we are';
  const map = pairMap(v, peerIdx);
  const vid = vs.channelID;
  const observer = ctx.channels.get(vid.toLowerCase());
  try {
    if (!entry.locks(vid)) {
      if (vs.version !== 0n || (observer !== undefined && observer.observer !== true))
        return 'a virtual channel is funded with its initial state';
      const expected = lockFunds(cur.state, vid, vs.outcome.balances, map);
      if (!sameApartFromVersion(expected, msg.state))
        return 'the update does not lock exactly the virtual channel';
      return { kind: 'fund', base: cur.state.version };
    }
    if (observer === undefined || !observer.observer) return 'we do not hold this virtual channel';
    if (!vs.isFinal) return 'a virtual channel is released with its final state';
    if (JSON.stringify(paramsToJson(vp)) !== JSON.stringify(paramsToJson(observer.machine.params)))
      return 'not the virtual channel we hold';
    const expected = unlockFunds(cur.state, vs);
    if (!sameApartFromVersion(expected, msg.state))
      return 'the update does not release exactly the final balances';
    return { kind: 'release', base: cur.state.version, observer };
  } catch (err) {
    return err instanceof Error ? err.message : 'invalid update';
  }
}

/** Our copy of a virtual channel we are the intermediary of, stored before we sign what funds it. */
async function observe(
  ctx: ClientContext,
  v: VirtualChannelUpdate['virtual'],
  peers: string[],
): Promise<Channel> {
  const id = v.state.channelID;
  const known = ctx.channels.get(id.toLowerCase());
  if (known !== undefined) return known;
  const machine = ChannelMachine.restore(
    {
      format: 1,
      params: paramsToJson(v.params),
      channelID: id,
      idx: 0,
      phase: 'Acting',
      current: { state: stateToJson(v.state), sigs: [...v.sigs] },
      staged: null,
    },
    ctx.verifier,
  );
  const entry = ctx.add(id, peers[0]!, machine, 'Acting');
  entry.observer = true;
  await ctx.o.store.transaction(async (tx) => {
    await tx.createChannel({ id, params: v.params, ourIndex: 0, peers, phase: 'Acting' });
    await tx.saveSignedState(id, { state: v.state, sigs: [...v.sigs] });
  });
  entry.persistedVersion = v.state.version;
  entry.persistedState = v.state;
  return entry;
}

/** Signs a checked virtual-channel update of `entry` if the channel has not moved since. */
async function signVirtualUpdate(
  ctx: ClientContext,
  entry: Channel,
  from: string,
  msg: VirtualChannelUpdate,
  base: bigint,
  observer?: Channel,
): Promise<void> {
  const m = entry.machine;
  const peerIdx = 1 - m.idx;
  await entry.lock.run(async () => {
    if (m.version !== base || m.phase !== 'Acting' || m.staged !== undefined) {
      return ctx.send(from, {
        type: 'channel-update-reject',
        channelID: entry.id,
        version: msg.state.version,
        reason: 'the channel moved on meanwhile',
        code: 'CHANNEL_BUSY',
      });
    }
    if (observer !== undefined && msg.virtual.state.version > observer.machine.version) {
      await observer.lock.run(async () => {
        observer.machine.installSigned(msg.virtual.state, msg.virtual.sigs);
        await ctx.persist(observer);
      });
    }
    m.stage(msg.state, { actor: peerIdx });
    m.addSignature(peerIdx, msg.sig);
    const sig = await ctx.o.signer.signState(msg.state, m.params);
    m.addOwnSignature(sig);
    const enabled = m.enable();
    await ctx.persist(entry);
    ctx.publishFamily(entry);
    await ctx.send(from, {
      type: 'channel-update-accept',
      channelID: entry.id,
      version: msg.state.version,
      sig,
    });
    ctx.emitUpdated(entry, enabled.state, 'peer');
  });
  if (observer !== undefined && ctx.lockers(observer.id).length === 0) {
    // Released from both ledger channels: the virtual channel is over for us.
    await subChannelReleased(ctx, observer);
  }
}
