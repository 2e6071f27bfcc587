// Connections with peers: invitations both ways, our switch to the identity DID (our credential's
// subject) on every connection we answer and the wait for a peer's, and who is who: our
// connection with a peer and its label, by its DID.
import {
  DidCommConnectionEventTypes,
  DidCommDidExchangeRole,
  DidCommDidExchangeState,
  DidCommTrustPingEventTypes,
  type DidCommConnectionDidRotatedEvent,
  type DidCommConnectionRecord,
  type DidCommConnectionStateChangedEvent,
  type TrustPingResponseReceivedEvent,
} from '@credo-ts/didcomm';
import { ChannelClientError } from '../../channels/errors.js';
import { ApiRequestError } from '../api/api-error.js';
import type { NodeContext } from './context.js';
import type { ConnectionView, InvitationView } from './types.js';
import { connectionView, type PeerNames } from './views.js';

/** How long an invitee waits for the inviter to switch to its identity DID. */
const ROTATION_MS = 10_000;

export class Connections implements PeerNames {
  readonly #labels = new Map<string, string | undefined>();
  readonly #connectionIds = new Map<string, string>();
  /** Our switches to the identity DID in flight, by connection: proofs on it wait for them. */
  readonly #adoptions = new Map<string, Promise<unknown>>();

  constructor(private readonly ctx: NodeContext) {}

  async createInvitation(): Promise<InvitationView> {
    const { agent, config } = this.ctx;
    const oob = await agent.didcomm.oob.createInvitation({ label: config.label });
    return { id: oob.id, url: oob.outOfBandInvitation.toUrl({ domain: this.ctx.didcommEndpoint }) };
  }

  async acceptInvitation(url: string): Promise<ConnectionView> {
    const { agent } = this.ctx;
    let parsed;
    try {
      parsed = await agent.didcomm.oob.parseInvitation(url);
    } catch (err) {
      throw new ApiRequestError(400, 'INVALID_INVITATION', 'not an out-of-band invitation URL', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    const rotated = this.#nextRotation();
    try {
      const { connectionRecord } = await agent.didcomm.oob.receiveInvitation(parsed, {
        label: this.ctx.config.label,
        ourDid: this.ctx.identity.did,
      });
      if (connectionRecord === undefined)
        throw new ApiRequestError(400, 'INVALID_INVITATION', 'the invitation asks for no connection');
      let c = await agent.didcomm.connections
        .returnWhenIsConnected(connectionRecord.id, { timeoutMs: this.ctx.timeoutMs })
        .catch((err: unknown) => this.#handshakeFailed(connectionRecord.id, err));
      // An inviter of ours switches to its identity DID (its credential's subject) right away;
      // wait for that so that the first proof request sees the DID it will be shown.
      c = (await rotated.wait(c.id, ROTATION_MS)) ?? c;
      return this.view(c);
    } finally {
      rotated.stop();
    }
  }

  /**
   * The inviter did not complete the exchange in time: the half-made connection is deleted (an
   * answer arriving later finds none) and the caller gets PEER_TIMEOUT.
   */
  async #handshakeFailed(connectionId: string, err: unknown): Promise<never> {
    if (!(err instanceof Error && err.name === 'TimeoutError')) throw err;
    const { agent } = this.ctx;
    const half = await agent.didcomm.connections.findById(connectionId);
    await agent.didcomm.connections.deleteById(connectionId);
    throw new ChannelClientError(
      'PEER_TIMEOUT',
      `the inviter did not complete the connection within ${this.ctx.timeoutMs} ms; the half-made connection was removed`,
      { connectionId, state: half?.state, removed: true },
      { cause: err },
    );
  }

  async list(): Promise<ConnectionView[]> {
    const all = await this.ctx.agent.didcomm.connections.getAll();
    return all.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map((c) => this.view(c));
  }

  async get(id: string): Promise<ConnectionView> {
    return this.view(await this.ready(id, false));
  }

  /** A trust ping asking for a response on the ready connection `id`; resolves once the response came. */
  async ping(id: string): Promise<ConnectionView> {
    const c = await this.ready(id);
    const { agent } = this.ctx;
    const answered = new Set<string>();
    let wake = () => undefined as void;
    const on = (e: TrustPingResponseReceivedEvent) => {
      answered.add(e.payload.message.threadId);
      wake();
    };
    agent.events.on(DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent, on);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const ping = await agent.didcomm.connections.sendPing(c.id, { responseRequested: true });
      await new Promise<void>((resolve, reject) => {
        wake = () => void (answered.has(ping.id) && resolve());
        wake();
        timer = setTimeout(
          () => reject(new ChannelClientError('PEER_TIMEOUT', 'the peer did not answer the trust ping')),
          this.ctx.timeoutMs,
        );
      });
      return this.view(c);
    } finally {
      clearTimeout(timer);
      agent.events.off(DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent, on);
    }
  }

  /** The connection `id` once our DID switch on it is done; 404 if unknown, 409 if `ready` and not established. */
  async ready(id: string, ready = true): Promise<DidCommConnectionRecord> {
    await this.#adoptions.get(id);
    const c = typeof id === 'string' ? await this.ctx.agent.didcomm.connections.findById(id) : null;
    if (c === null)
      throw new ApiRequestError(404, 'UNKNOWN_CONNECTION', 'no such connection', { connectionId: id });
    if (ready && !c.isReady)
      throw new ApiRequestError(409, 'CONNECTION_NOT_READY', 'the connection is not established', {
        connectionId: id,
        state: c.state,
      });
    return c;
  }

  /** Waits for our DID switch on the connection with the peer whose DID is `did`, if one is in flight. */
  async adoptionWith(did: string): Promise<void> {
    const id = this.#connectionIds.get(did);
    if (id !== undefined) await this.#adoptions.get(id);
  }

  /** The connection's view; remembers the peer's label for the views of its channels. */
  view(c: DidCommConnectionRecord): ConnectionView {
    if (c.theirDid !== undefined) this.#labels.set(c.theirDid, c.theirLabel);
    return connectionView(c);
  }

  connectionIdOf(did: string): string | undefined {
    return this.#connectionIds.get(did);
  }

  labelOf(did: string): string | undefined {
    return this.#labels.get(did);
  }

  /** Follows connections and DID rotations (events, our switch to the identity DID); returns the stop. */
  listen(): () => void {
    const { agent, events } = this.ctx;
    const onConnection = (e: DidCommConnectionStateChangedEvent) => {
      const c = e.payload.connectionRecord;
      const duplicate = this.#duplicates(c);
      if (c.theirDid !== undefined && !duplicate) this.#connectionIds.set(c.theirDid, c.id);
      events.emit({ type: 'connection', connection: this.view(c) });
      // As inviter we answered with a fresh DID: switch to our identity DID, the subject of our credential.
      if (
        c.role === DidCommDidExchangeRole.Responder &&
        c.state === DidCommDidExchangeState.Completed &&
        c.did !== this.ctx.identity.did &&
        !duplicate &&
        this.ctx.mediation?.carries(c) !== true
      ) {
        const adoption = agent.modules.identity
          .adoptIdentityDid(c.id, this.ctx.identity.did, this.ctx.timeoutMs)
          .then(
            (r) => events.emit({ type: 'connection', connection: this.view(r) }),
            (err: unknown) => this.ctx.log(`identity DID not adopted on ${c.id}: ${(err as Error).message}`),
          )
          .finally(() => this.#adoptions.delete(c.id));
        this.#adoptions.set(c.id, adoption);
      }
    };
    const onRotated = (e: DidCommConnectionDidRotatedEvent) => {
      const c = e.payload.connectionRecord;
      if (c.theirDid !== undefined) this.#connectionIds.set(c.theirDid, c.id);
      this.#labels.set(c.theirDid ?? '', c.theirLabel);
    };
    agent.events.on(DidCommConnectionEventTypes.DidCommConnectionStateChanged, onConnection);
    agent.events.on(DidCommConnectionEventTypes.DidCommConnectionDidRotated, onRotated);
    return () => {
      agent.events.off(DidCommConnectionEventTypes.DidCommConnectionStateChanged, onConnection);
      agent.events.off(DidCommConnectionEventTypes.DidCommConnectionDidRotated, onRotated);
    };
  }

  /** Learns the peers of the connections we already have. */
  remember(): void {
    this.ctx.agent.didcomm.connections.getAll().then(
      (all) => {
        for (const c of all) {
          if (c.theirDid !== undefined) {
            this.#connectionIds.set(c.theirDid, c.id);
            this.#labels.set(c.theirDid, c.theirLabel);
          }
        }
      },
      (err: unknown) => this.ctx.log(`stored connections not read: ${(err as Error).message}`),
    );
  }

  /**
   * Whether we already have a connection with the same peer on our identity DID: two connections
   * with one pair of DIDs cannot be told apart, so the newer one keeps its own DID.
   */
  #duplicates(c: DidCommConnectionRecord): boolean {
    const other = this.#connectionIds.get(c.theirDid ?? '');
    return other !== undefined && other !== c.id;
  }

  /** The next DID rotation by a peer, per connection (for acceptInvitation). */
  #nextRotation() {
    const { agent } = this.ctx;
    const seen = new Map<string, DidCommConnectionRecord>();
    const waiters = new Map<string, (c: DidCommConnectionRecord) => void>();
    const on = (e: DidCommConnectionDidRotatedEvent) => {
      if (e.payload.theirDid === undefined) return;
      const c = e.payload.connectionRecord;
      seen.set(c.id, c);
      waiters.get(c.id)?.(c);
    };
    agent.events.on(DidCommConnectionEventTypes.DidCommConnectionDidRotated, on);
    return {
      wait: (id: string, ms: number) =>
        new Promise<DidCommConnectionRecord | undefined>((resolve) => {
          const hit = seen.get(id);
          if (hit !== undefined) return resolve(hit);
          const timer = setTimeout(() => resolve(undefined), ms);
          waiters.set(id, (c) => {
            clearTimeout(timer);
            resolve(c);
          });
        }),
      stop: () => agent.events.off(DidCommConnectionEventTypes.DidCommConnectionDidRotated, on),
    };
  }
}
