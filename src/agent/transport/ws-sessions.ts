// The DIDComm v1 WebSocket sessions of an inbound transport: one transport session per socket,
// every frame one encrypted envelope. Both the WebSocket listener (./ws-inbound.ts) and the HTTP
// endpoint's upgraded connections (./http-inbound.ts) hold their sockets here.
//
// A frame goes to the Perun lean path first where the agent runs it, with the socket as its
// return route; what the lean path does not take goes to Credo's receive pipeline with the
// socket's session. When a message asks for return routing, Credo saves the session for the
// connection and from then on sends every message for that connection over the socket (both
// directions on one persistent socket). A message without return route does not close the
// socket: Credo's `close()` only means "do not route replies here"; the peer decides when its
// socket ends (Credo's own WS outbound closes a socket it opened for a message without return
// route).
// A socket our lean carrier upgraded from the HTTP endpoint with acknowledgements
// (./frame-acks.ts) differs in three things: every frame is acknowledged, in order, with the status
// its POST would get; a frame's return route to the lean path carries the answer to that frame's
// message only (socketAnswer); and Credo gets a session of the frame's own that carries one
// message until Credo is done with the frame (WsFrameSession), as a POST's response does. So the
// peer's own messages go to its endpoint (its mediator), as over HTTP.
// Bounds (inbound-limits.ts): frames up to the budget's maxMessageBytes (1009 beyond), a token of
// its source per frame (1008 when it has none), and each frame's bytes in the byte budget until
// Credo or the lean path is done with it (1013 beyond). Frames that fail are logged and charged
// to their source; the socket stays open.
import { type AgentContext, CredoError, type EventEmitter, type Logger, utils } from '@credo-ts/core';
import {
  DidCommEventTypes,
  type DidCommEncryptedMessage,
  type DidCommMessageReceivedEvent,
  type DidCommTransportService,
  type DidCommTransportSession,
} from '@credo-ts/didcomm';
import { WebSocket, type RawData } from 'ws';
import type { LeanReplyChannel, PerunLeanPath } from '../../protocols/perun/lean/index.js';

import { MalformedEnvelopeError, errorMessage, parseEnvelope } from './common.js';
import type { Report } from './http-admission.js';
import { isRefusal, type InboundBudget, type Ticket } from './inbound-limits.js';
import { FRAME_ACKS_PROTOCOL, FrameAckQueue } from './frame-acks.js';
import { socketAnswer, socketReply } from './lean-reply.js';
import { failureOf, type OutcomeListener } from './receive-outcome.js';

export const WS_SESSION_TYPE = 'WebSocket';

/** Close codes (RFC 6455 §7.4.1). */
const CLOSE_GOING_AWAY = 1001;
const CLOSE_INVALID_PAYLOAD = 1007;
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_TOO_BIG = 1009;
const CLOSE_TRY_AGAIN_LATER = 1013;

/** A socket's session; `onOutcome` hears what became of each message Credo received with it. */
export class WsTransportSession implements DidCommTransportSession, OutcomeListener {
  public readonly type = WS_SESSION_TYPE;
  public keys?: DidCommTransportSession['keys'];
  public inboundMessage?: DidCommTransportSession['inboundMessage'];
  public connectionId?: string;
  /** The socket as the Perun lean path's return route. */
  public readonly leanReply = socketReply(
    () => this.socket.readyState === WebSocket.OPEN,
    (envelope) => this.write(envelope),
  );

  /** Where the socket acknowledges its frames (./frame-acks.ts): their queue. */
  public readonly acks?: FrameAckQueue;

  public constructor(
    public readonly id: string,
    public readonly socket: WebSocket,
    private readonly detach: (session: WsTransportSession) => void,
    public readonly source = 'unknown',
    private readonly onOutcome?: (session: WsTransportSession, message: unknown, error?: unknown) => void,
  ) {
    if (socket.protocol === FRAME_ACKS_PROTOCOL) this.acks = new FrameAckQueue(socket);
  }

  /**
   * The return route of a frame to the lean path: the socket, for any message; where frames are
   * acknowledged (a socket our carrier upgraded), for the answer to that frame's message only, so
   * that our own messages go to the peer's endpoint (its mediator) as over HTTP.
   */
  public replyFor(answerMs: number): LeanReplyChannel {
    if (this.acks === undefined) return this.leanReply;
    return socketAnswer(
      () => this.socket.readyState === WebSocket.OPEN,
      (envelope) => this.write(envelope),
      answerMs,
    );
  }

  public received(message: unknown, error?: unknown): void {
    this.onOutcome?.(this, message, error);
  }

  public async send(_agentContext: AgentContext, encryptedMessage: DidCommEncryptedMessage): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN) {
      this.detach(this);
      throw new CredoError(`WebSocket of session ${this.id} is not open`);
    }
    await this.write(encryptedMessage);
  }

  /** Sends one envelope as a frame. */
  public async write(encryptedMessage: DidCommEncryptedMessage): Promise<void> {
    const frame = JSON.stringify(encryptedMessage);
    await new Promise<void>((resolve, reject) =>
      this.socket.send(frame, (error) =>
        error ? reject(new CredoError(`WebSocket send failed: ${error.message}`)) : resolve(),
      ),
    );
  }

  /** "No return route for this message": stop routing replies here, keep the socket. */
  public async close(): Promise<void> {
    this.detach(this);
  }
}

/**
 * The session Credo gets with one frame of a socket that acknowledges its frames: as a POST's, it
 * carries one message back, and only until Credo is done with the frame (then its ack is due); a
 * later message for the connection goes to the peer's endpoint (its mediator), as over HTTP.
 */
export class WsFrameSession implements DidCommTransportSession, OutcomeListener {
  public readonly type = WS_SESSION_TYPE;
  public readonly id = utils.uuid();
  public keys?: DidCommTransportSession['keys'];
  public inboundMessage?: DidCommTransportSession['inboundMessage'];
  public connectionId?: string;
  private done = false;

  public constructor(
    private readonly socket: WsTransportSession,
    private readonly detach: (session: DidCommTransportSession) => void,
    private readonly onOutcome: (session: WsTransportSession, message: unknown, error?: unknown) => void,
  ) {}

  public received(message: unknown, error?: unknown): void {
    this.done = true;
    this.detach(this);
    this.onOutcome(this.socket, message, error);
  }

  public async send(_agentContext: AgentContext, encryptedMessage: DidCommEncryptedMessage): Promise<void> {
    const used = this.done;
    this.done = true;
    this.detach(this);
    if (used || this.socket.socket.readyState !== WebSocket.OPEN)
      throw new CredoError(`WebSocket session ${this.id} has already been answered`);
    await this.socket.write(encryptedMessage);
  }

  public async close(): Promise<void> {
    this.detach(this);
  }
}

/** What the transport holding the sockets runs them with, once started; `running` until it stops. */
export interface WsSessionServices {
  running: boolean;
  agentContext: AgentContext;
  eventEmitter: EventEmitter;
  transportService?: DidCommTransportService;
  leanPath?: PerunLeanPath;
  logger?: Logger;
}

export class WsSessions {
  private readonly sessions = new Map<WebSocket, WsTransportSession>();
  /**
   * Frames handed on and not done with yet, keyed by their envelope: their bytes in the budget,
   * and their ack's slot where the socket acknowledges frames.
   */
  private readonly frames = new Map<DidCommEncryptedMessage, { ticket: Ticket; ack?: { status?: number } }>();

  public constructor(
    private readonly budget: InboundBudget,
    private readonly report: Report,
    private readonly services: () => WsSessionServices | undefined,
    private readonly closeTimeoutMs: number,
    /** How long a frame's return route waits for its answer where it carries answers only. */
    private readonly answerMs = 10_000,
  ) {}

  /** Open sockets. */
  public get size(): number {
    return this.sessions.size;
  }

  /** Takes an opened socket from `source`. */
  public accept(socket: WebSocket, source: string): void {
    const session = new WsTransportSession(
      utils.uuid(),
      socket,
      (s) => this.detach(s),
      source,
      (s, message, error) => this.settle(s, message, error),
    );
    this.sessions.set(socket, session);
    socket.on('message', (data) => this.receive(session, data));
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
        this.refuse(session, CLOSE_TOO_BIG, 'message too large');
      else this.services()?.logger?.debug(`WebSocket ${session.id} error: ${error.message}`);
    });
    socket.once('close', () => {
      this.sessions.delete(socket);
      this.detach(session);
    });
  }

  /** Closes every socket (the transport stopping), each with a bounded close handshake. */
  public async closeAll(): Promise<void> {
    const sockets = [...this.sessions.keys()];
    await Promise.all(sockets.map((socket) => this.closeSocket(socket)));
    for (const { ticket } of this.frames.values()) ticket.release();
    this.frames.clear();
  }

  private receive(session: WsTransportSession, data: RawData): void {
    const services = this.services();
    if (!services?.running) return;
    const { agentContext, eventEmitter, leanPath } = services;
    const refused = this.budget.spend(session.source);
    if (refused !== undefined) {
      this.refuse(session, CLOSE_POLICY_VIOLATION, refused.reason);
      return;
    }
    const frame = frameToBuffer(data);
    let envelope: DidCommEncryptedMessage;
    try {
      envelope = parseEnvelope(frame);
    } catch (error) {
      if (!(error instanceof MalformedEnvelopeError)) throw error;
      this.refuse(session, CLOSE_INVALID_PAYLOAD, error.message);
      return;
    }
    const ticket = this.budget.admit(session.source, frame.length);
    if (isRefusal(ticket)) {
      this.refuse(session, ticket.status === 413 ? CLOSE_TOO_BIG : CLOSE_TRY_AGAIN_LATER, ticket.reason);
      return;
    }
    this.frames.set(envelope, { ticket, ack: session.acks?.next() });
    const toCredo = () =>
      eventEmitter.emit<DidCommMessageReceivedEvent>(agentContext, {
        type: DidCommEventTypes.DidCommMessageReceived,
        payload: {
          message: envelope,
          session:
            session.acks === undefined
              ? session
              : new WsFrameSession(
                  session,
                  (s) => this.detach(s),
                  (s, message, error) => this.settle(s, message, error),
                ),
          receivedAt: new Date(),
        },
      });
    if (leanPath === undefined) {
      toCredo();
      return;
    }
    leanPath
      .receive(envelope, session.replyFor(this.answerMs))
      .then((outcome) => {
        if (outcome === 'fallback' && this.services()?.running) toCredo();
        else this.settle(session, envelope);
      })
      .catch((error: unknown) => {
        this.done(session, envelope, 500);
        this.services()?.logger?.error('Perun lean path failed', { error: errorMessage(error) });
      });
  }

  /** A frame is done with: its bytes leave the budget; a failure is logged and charged. */
  private settle(session: WsTransportSession, message: unknown, error?: unknown): void {
    const envelope = message as DidCommEncryptedMessage;
    if (error === undefined) {
      this.done(session, envelope, 202);
      this.budget.delivered(session.source);
      return;
    }
    const { status, reason, senderFault } = failureOf(error);
    this.done(session, envelope, status);
    if (senderFault) this.budget.failed(session.source);
    this.report({ status: 0, source: session.source, reason, connectionId: session.connectionId });
  }

  /** A frame's bytes leave the budget, and its ack (the status a POST of it would get) is due. */
  private done(session: WsTransportSession, envelope: DidCommEncryptedMessage, status: number): void {
    const frame = this.frames.get(envelope);
    if (frame === undefined) return;
    this.frames.delete(envelope);
    frame.ticket.release();
    if (frame.ack !== undefined) session.acks?.settle(frame.ack, status);
  }

  /** Closes a socket whose frame was refused; charged to its source and logged. */
  private refuse(session: WsTransportSession, code: number, reason: string): void {
    this.budget.failed(session.source);
    this.report({ status: code, source: session.source, reason, connectionId: session.connectionId });
    if (session.socket.readyState === WebSocket.OPEN) session.socket.close(code, reason.slice(0, 120));
  }

  private detach(session: DidCommTransportSession): void {
    const transportService = this.services()?.transportService;
    if (transportService && transportService.findSessionById(session.id) === session) {
      transportService.removeSession(session);
    }
  }

  private closeSocket(socket: WebSocket): Promise<void> {
    if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Bounded: a peer that does not answer the close handshake is cut off.
      const timer = setTimeout(() => socket.terminate(), this.closeTimeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (socket.readyState === WebSocket.OPEN) socket.close(CLOSE_GOING_AWAY, 'agent is shutting down');
    });
  }
}

function frameToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
