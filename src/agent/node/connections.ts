// Connections with peers: invitations both ways, each connection with a fresh pairwise DID of
// ours (accept-invitation returns once DID exchange completed), and who is who: our connection
// with a peer and its label, by the peer's identity DID (bound to the connection by the identity
// gate, src/protocols/identity/services/peer-identities-service.ts) or, for a connection with no
// verified peer yet, by its DID on the connection.
import {
  DidCommConnectionEventTypes,
  DidCommTrustPingEventTypes,
  type DidCommConnectionRecord,
  type DidCommConnectionStateChangedEvent,
  type TrustPingResponseReceivedEvent,
} from '@credo-ts/didcomm';
import { ChannelClientError } from '../../channels/errors.js';
import { ApiRequestError } from '../api/api-error.js';
import { didcommEndpointOf } from './config.js';
import type { NodeContext } from './context.js';
import type { ConnectionView, InvitationView } from './types.js';
import { connectionView, type PeerNames } from './views.js';

export class Connections implements PeerNames {
  /** Connection ID → the peer's label. */
  readonly #labels = new Map<string, string | undefined>();
  /** The peer's DID on a connection → the connection's ID. */
  readonly #connectionIds = new Map<string, string>();

  constructor(private readonly ctx: NodeContext) {}

  async createInvitation(): Promise<InvitationView> {
    const { agent, config } = this.ctx;
    const oob = await agent.didcomm.oob.createInvitation({ label: config.label });
    return { id: oob.id, url: oob.outOfBandInvitation.toUrl({ domain: didcommEndpointOf(config) }) };
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
    const { connectionRecord } = await agent.didcomm.oob.receiveInvitation(parsed, {
      label: this.ctx.config.label,
    });
    if (connectionRecord === undefined)
      throw new ApiRequestError(400, 'INVALID_INVITATION', 'the invitation asks for no connection');
    const c = await agent.didcomm.connections
      .returnWhenIsConnected(connectionRecord.id, { timeoutMs: this.ctx.timeoutMs })
      .catch((err: unknown) => this.#handshakeFailed(connectionRecord.id, err));
    return this.view(c);
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

  /** The connection `id`; 404 if unknown, 409 if `ready` and not established. */
  async ready(id: string, ready = true): Promise<DidCommConnectionRecord> {
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

  /** The connection's view; remembers the peer's label for the views of its channels. */
  view(c: DidCommConnectionRecord): ConnectionView {
    this.#learn(c);
    return connectionView(c);
  }

  /**
   * Our connection with the peer `did` (an identity DID: the newest ready connection bound to it,
   * else any bound to it; or a peer's DID on a connection).
   */
  connectionIdOf(did: string): string | undefined {
    const bound = this.ctx.agent.modules.identity.connectionsOfPeer(did);
    const newest = bound.filter((c) => c.isReady).at(-1) ?? bound.at(-1);
    return newest?.id ?? this.#connectionIds.get(did);
  }

  labelOf(did: string): string | undefined {
    const id = this.connectionIdOf(did);
    return id === undefined ? undefined : this.#labels.get(id);
  }

  /** Follows connections (an event for each change); returns the stop. */
  listen(): () => void {
    const { agent, events } = this.ctx;
    const onConnection = (e: DidCommConnectionStateChangedEvent) => {
      events.emit({ type: 'connection', connection: this.view(e.payload.connectionRecord) });
    };
    agent.events.on(DidCommConnectionEventTypes.DidCommConnectionStateChanged, onConnection);
    return () => agent.events.off(DidCommConnectionEventTypes.DidCommConnectionStateChanged, onConnection);
  }

  /** Learns the peers of the connections we already have. */
  remember(): void {
    this.ctx.agent.didcomm.connections.getAll().then(
      (all) => all.forEach((c) => this.#learn(c)),
      (err: unknown) => this.ctx.log(`stored connections not read: ${(err as Error).message}`),
    );
  }

  #learn(c: DidCommConnectionRecord): void {
    this.#labels.set(c.id, c.theirLabel);
    if (c.theirDid !== undefined) this.#connectionIds.set(c.theirDid, c.id);
  }
}
