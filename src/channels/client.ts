// ChannelClient: runs the two-party channel protocols of one participant (go-perun's client) on
// the environment it is handed: a Wire to the peers, a Signer, the chain backend (channel IDs and
// signature checks, Funder, Adjudicator), an optional Watcher, and a ChannelStore. It owns the
// registry of channels and, per channel, the order of events: one local operation at a time
// (update, close, dispute), and every change of the machine written to the store before anything
// that depends on it leaves the process (in particular every signature). Incoming messages are
// checked before any callback runs.
//
// This class is the public face; each protocol phase is a module of its own in ./client/ (as
// go-perun's client/ is split): opening, proposal, sub-channel, virtual-channel, intermediary,
// funding, update, update-incoming, sync, settle, adjudicate, watch, restore, dispatch, all working
// on one ClientContext. docs/architecture.md walks through them.
//
// Conventions: the proposer of a channel is participant 0. We never sign two different states
// with one version: a version we signed for a state that was dropped (rejected, undelivered,
// beaten) is used up, and our next state takes a higher one (versions may skip). When both sides
// propose an update at once, participant 0's goes first: participant 1 drops its own, refuses
// participant 0's if it used that version (participant 0 proposes again above it) and re-applies
// its caller's update on top of participant 0's once that is signed.
import { EventEmitter } from 'node:events';
import { ChannelClientError } from './errors.js';
import type { WithdrawnAmount } from './interfaces.js';
import type { Address, Hex, State } from './types.js';
import { ClientContext } from './client/context.js';
import { dispatch } from './client/dispatch.js';
import { proposeChannel } from './client/proposal.js';
import { restore } from './client/restore.js';
import { dispute, forceUpdate, settle } from './client/settle.js';
import { proposeSubChannel } from './client/sub-channel.js';
import { sendPayment } from './client/payments.js';
import { update } from './client/update.js';
import { proposeVirtualChannel } from './client/virtual-channel.js';
import type {
  ChannelClientOptions,
  ChannelInfo,
  ProposeRequest,
  SubChannelRequest,
  VirtualChannelRequest,
} from './client/types.js';

export { channelNonce } from './client/opening.js';
export type * from './client/types.js';

export class ChannelClient extends EventEmitter {
  readonly #ctx: ClientContext;

  constructor(options: ChannelClientOptions) {
    super();
    this.#ctx = new ClientContext(options, (e) => this.emit('event', e));
  }

  get address(): Address {
    return this.#ctx.address;
  }

  /**
   * Starts receiving messages and restores every stored channel in its phase; resolves then,
   * while syncing with the peers goes on in the background (each channel's `synced` tells when it
   * is done; failures are warning events). Messages that arrive while the channels are being
   * restored are handled, in their order, once they are.
   */
  async start(): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.unsubscribe !== undefined) return;
    let restoring: Promise<void> | undefined;
    ctx.unsubscribe = ctx.o.wire.onMessage((from, msg) =>
      restoring === undefined ? dispatch(ctx, from, msg) : restoring.then(() => dispatch(ctx, from, msg)),
    );
    restoring = restore(ctx);
    try {
      await restoring;
    } finally {
      restoring = undefined;
    }
  }

  /** Stops receiving, stops watching, fails waiting calls; stored channels resume on the next start. */
  async close(): Promise<void> {
    const ctx = this.#ctx;
    ctx.closed = true;
    ctx.abort.abort(new ChannelClientError('CLIENT_CLOSED', 'the client was closed'));
    ctx.unsubscribe?.();
    ctx.unsubscribe = undefined;
    for (const e of ctx.channels.values()) {
      clearTimeout(e.openTimer);
      e.pending?.resolve({ kind: 'rejected', reason: 'client closed', code: 'CLIENT_CLOSED' });
      await e.watched?.stop();
    }
    for (const w of ctx.proposals.values()) {
      w.resolve({ type: 'channel-proposal-reject', proposalID: '0x', reason: 'client closed' });
    }
    ctx.proposals.clear();
    await ctx.flush().catch((err: unknown) => ctx.warn(undefined, err, 'persist'));
    await Promise.allSettled([...ctx.background]);
  }

  /**
   * Resolves once every fully signed state the client holds of channel `id` (or of every channel)
   * is in the store (nothing to wait for with an ID it does not hold). A payment of ours
   * resolves when the peer has signed it; its state is written with the channel's next write or
   * within a few milliseconds (the staged state with our signature was written before it left).
   * Call this before reading the store directly (the payment log, for one).
   */
  async flush(id?: Hex): Promise<void> {
    await this.#ctx.flush(id);
  }

  channel(id: Hex): ChannelInfo {
    return this.#ctx.entry(id).info();
  }

  channels(): ChannelInfo[] {
    return [...this.#ctx.channels.values()].map((e) => e.info());
  }

  /** Resolves when the channel's on-chain settlement (if one is running) has finished. */
  async settlement(id: Hex): Promise<WithdrawnAmount[] | undefined> {
    return this.#ctx.entry(id).settling;
  }

  /** Proposes a ledger channel to `req.peer`, and once accepted signs, funds and opens it. */
  proposeChannel(req: ProposeRequest): Promise<ChannelInfo> {
    return proposeChannel(this.#ctx, req);
  }

  /**
   * Opens a sub-channel of the ledger channel `parentId` with the same peer: the peer accepts,
   * both sign the initial state, and our update of the parent locks `req.balances` for it.
   */
  proposeSubChannel(parentId: Hex, req: SubChannelRequest): Promise<ChannelInfo> {
    return proposeSubChannel(this.#ctx, parentId, req);
  }

  /**
   * Opens a virtual channel with `req.peer` through the intermediary of our ledger channel
   * `req.parent`; the peer funds it from its own ledger channel with the same intermediary.
   */
  proposeVirtualChannel(req: VirtualChannelRequest): Promise<ChannelInfo> {
    return proposeVirtualChannel(this.#ctx, req);
  }

  /**
   * Proposes the state `fn` makes of the current one (its version and channel ID are set here)
   * and resolves with it once the peer signed it. `fn` runs again on a newer state if the peer's
   * simultaneous update took precedence. Rejections and time-outs are ChannelClientErrors; an
   * invalid state is refused with the validation error before anything is signed.
   */
  update(id: Hex, fn: (current: State) => State): Promise<State> {
    return update(this.#ctx, id, fn);
  }

  /**
   * Pays `amount` of asset `asset` to the peer, under `paymentId` (a fresh UUID when omitted), and
   * resolves with the fully signed state that contains it. Payments asked while an update is in
   * flight go together in the next one.
   */
  sendPayment(id: Hex, amount: bigint, asset = 0, paymentId?: string): Promise<State> {
    return sendPayment(this.#ctx, id, amount, asset, paymentId);
  }

  /**
   * Sends our latest fully signed state of every channel shared with `peer` (after a restart or
   * reconnect), and again every update of ours the peer has not answered.
   */
  sync(peer: string): Promise<void> {
    return this.#ctx.sync(peer);
  }

  /**
   * Closes the channel cooperatively: a final state with the current balances, concludeFinal
   * and our withdrawal (a sub-channel's final balances go back into its parent). Resolves with
   * what we withdrew.
   */
  settle(id: Hex): Promise<WithdrawnAmount[]> {
    return settle(this.#ctx, id);
  }

  /**
   * Closes the channel without the peer: registers our latest state, waits out the challenge
   * duration, concludes and withdraws. Resolves with what we withdrew.
   */
  dispute(id: Hex): Promise<WithdrawnAmount[]> {
    return dispute(this.#ctx, id);
  }

  /**
   * Enforces an update of an app channel on chain when the peer does not sign it (go-perun's
   * ForceUpdate): our update the peer left unanswered or refused (`fn` omitted), or `fn` of the
   * current state, progressed on chain after the registration's challenge duration.
   */
  forceUpdate(id: Hex, fn?: (current: State) => State): Promise<WithdrawnAmount[]> {
    return forceUpdate(this.#ctx, id, fn);
  }
}
