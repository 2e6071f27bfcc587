// DIDComm v1 inbound transport over HTTP (express 5), with return-route support.
//
// A POST is admitted first (http-admission.ts: its source's rate, its size, the request and byte
// budgets, a body timeout) and carries one encrypted envelope. The request is handed to Credo's
// receive pipeline (the DidCommMessageReceived event, so Credo's ordering and
// `processDidCommMessagesConcurrently` apply) together with a transport session bound to the HTTP
// response:
// - message without return route: Credo closes the session right after decrypting it -> 202, empty;
// - message with `~transport.return_route` and a reply: Credo sends the reply into the session -> 200
//   with the packed reply as body (one message per response);
// - return route but no reply once the message is processed, or no answer within `responseTimeoutMs`
//   -> 202, empty. A later reply then goes to the peer's endpoint;
// - a message that fails before Credo takes it -> 400 (cannot be decrypted) or 422 (fails
//   validation) at once, with a short reason, logged and charged to its source (receive-outcome.ts).
// Where the agent runs the Perun lean path, an envelope goes there first: a message it takes gets
// 202 at once, or with a return route 200 headers at once and its answer as the body (lean-reply.ts);
// anything else goes to Credo as above. A POST to the path as announced reaches its handler without
// express's router (the request given express's prototypes as the app does); anything else, other
// spellings of the path included, goes through the app to the same handler.
// The same path takes WebSocket upgrades (unless `upgrade: false`): the lean path's carrier asks
// for one at a peer's HTTP endpoint (lean-outbound.ts), so that its messages and their answers
// share one socket instead of a POST each. An upgrade spends a token of its source; its socket is
// held as the WebSocket transport's are (ws-sessions.ts, with their per-frame bounds), and counts
// as the connection it was. Where the carrier asks for it (frame-acks.ts), every frame is
// acknowledged with the status its POST would get, at the point its early headers would go out,
// and the socket is the return route of each message's answer only.
import { type AgentContext, CredoError, utils } from '@credo-ts/core';
import {
  DidCommEventTypes,
  DidCommModuleConfig,
  type DidCommEncryptedMessage,
  type DidCommMessageReceivedEvent,
  type DidCommTransportSession,
} from '@credo-ts/didcomm';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

import {
  DIDCOMM_CONTENT_TYPES,
  MalformedEnvelopeError,
  errorMessage,
  mediaType,
  parseEnvelope,
} from './common.js';
import { FRAME_ACKS_PROTOCOL } from './frame-acks.js';
import { HttpAdmission, answerSocket, serverTimeouts } from './http-admission.js';
import { InboundServerTransport, type InboundServer, type InboundServerOptions } from './inbound-server.js';
import { LeanHttpReply } from './lean-reply.js';
import { failureOf, type OutcomeListener } from './receive-outcome.js';
import { WsSessions } from './ws-sessions.js';

/** The bounds (inbound-limits.ts) and the log of refusals are in InboundServerOptions. */
export interface HttpInboundTransportOptions extends InboundServerOptions {
  /** Interface to bind. Default 127.0.0.1; pass '0.0.0.0' or '::' explicitly to listen on all interfaces. */
  host?: string;
  /** TCP port; 0 (the default) picks a free port, readable from `port` after start. */
  port?: number;
  /** Path that accepts POSTs. Default '/'. */
  path?: string;
  /** Largest accepted body in bytes (413 beyond); the same as maxMessageBytes, which it overrides. */
  maxBodyBytes?: number;
  /** How long a request may wait for its message to be processed / its return-route reply. Default 10 s. */
  responseTimeoutMs?: number;
  /** URL announced to peers. Default `http://host:port/path` from the bound address. */
  endpoint?: string;
  /** Add the endpoint to the agent's DIDComm endpoints on start (and remove it on stop). Default true. */
  announceEndpoint?: boolean;
  /** Take WebSocket upgrades on the path. Default true. */
  upgrade?: boolean;
}

export const HTTP_SESSION_TYPE = 'http';

/**
 * A pending HTTP request: the transport session Credo may answer through. `onOutcome` hears what
 * became of its message once Credo is done with it (receive-outcome.ts).
 */
export class HttpTransportSession implements DidCommTransportSession, OutcomeListener {
  public readonly type = HTTP_SESSION_TYPE;
  public keys?: DidCommTransportSession['keys'];
  public inboundMessage?: DidCommTransportSession['inboundMessage'];
  public connectionId?: string;
  private answered = false;
  private finished = false;
  private closedByCredo = false;

  public constructor(
    public readonly id: string,
    private readonly response: Response,
    private readonly contentType: string,
    private readonly onFinished: (session: HttpTransportSession) => void,
    private readonly onOutcome?: (session: HttpTransportSession, error?: unknown) => void,
  ) {
    response.once('close', () => this.finish());
  }

  public received(_message: unknown, error?: unknown): void {
    this.onOutcome?.(this, error);
  }

  public get isAnswered(): boolean {
    return this.answered;
  }

  /** Credo took the message: it closed the session (no return route) or saved it for a reply. */
  public get taken(): boolean {
    return this.closedByCredo || this.keys !== undefined;
  }

  public async send(_agentContext: AgentContext, encryptedMessage: DidCommEncryptedMessage): Promise<void> {
    if (this.answered) {
      // Credo may have saved this session after it was answered (timeout): drop it again and tell
      // the sender to use another route; the message sender falls back to the peer's endpoint.
      this.onFinished(this);
      throw new CredoError(`HTTP session ${this.id} has already been answered`);
    }
    this.answered = true;
    this.response.status(200).type(this.contentType).send(JSON.stringify(encryptedMessage));
    this.finish();
  }

  /** Called by Credo for messages without return route: acknowledge at once. */
  public async close(): Promise<void> {
    this.closedByCredo = true;
    this.answer(202);
  }

  /** Ends the request with an empty body unless it was answered already. */
  public answer(status: number, text?: string): void {
    if (this.answered) return;
    this.answered = true;
    if (!this.response.headersSent && !this.response.writableEnded) {
      if (text === undefined) this.response.status(status).end();
      else this.response.status(status).type('text/plain').send(text);
    }
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.answered = true;
    this.onFinished(this);
  }
}

export class HttpInboundTransport extends InboundServerTransport {
  public readonly app: Express;
  private readonly responseTimeoutMs: number;
  private readonly admission: HttpAdmission;

  private stopping = false;
  /** Requests waiting for an answer, keyed by the envelope object handed to Credo. */
  private readonly pending = new Map<
    DidCommEncryptedMessage,
    { session: HttpTransportSession; timer: NodeJS.Timeout }
  >();
  /** Responses the lean path holds for an answer. */
  private readonly leanReplies = new Set<LeanHttpReply>();
  /** Upgraded connections; undefined where upgrades are not taken. */
  private readonly sockets?: WsSessions;
  private wss?: WebSocketServer;

  public constructor(options: HttpInboundTransportOptions = {}) {
    super('HTTP', 'http', { ...options, maxMessageBytes: options.maxBodyBytes ?? options.maxMessageBytes });
    this.admission = new HttpAdmission(this.budget, this.report);
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    this.app = this.buildApp();
    if (options.upgrade !== false)
      this.sockets = new WsSessions(
        this.budget,
        this.report,
        () => this.sessionServices(),
        1_000,
        this.responseTimeoutMs,
      );
  }

  /** Open upgraded sockets (for tests and diagnostics). */
  public get openSockets(): number {
    return this.sockets?.size ?? 0;
  }

  /** Number of requests currently waiting for an answer (for tests and diagnostics). */
  public get pendingRequests(): number {
    return this.pending.size;
  }

  protected buildServer(): InboundServer {
    this.stopping = false;
    // Slow or stalled clients must not hold the socket forever.
    const server = createServer(serverTimeouts(this.budget), (req, res) => this.serve(req, res));
    if (this.sockets === undefined) return { server };
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.budget.limits.maxMessageBytes,
      // Our carrier asks for acknowledged frames (frame-acks.ts); a socket without them is a plain one.
      handleProtocols: (protocols) => (protocols.has(FRAME_ACKS_PROTOCOL) ? FRAME_ACKS_PROTOCOL : false),
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(wss, req, socket, head),
    );
    return {
      server,
      bound: () => {
        this.wss = wss;
      },
    };
  }

  protected override async closeConnections(): Promise<void> {
    await this.sockets?.closeAll();
    const wss = this.wss;
    this.wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  /** An upgrade on the path, admitted as a request (its source's token), becomes a held socket. */
  private upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const source = this.admission.sourceOf(req);
    if (this.wss !== wss || this.stopping || !this.sockets) {
      answerSocket(socket, 503, 'agent is not running');
      return;
    }
    if (new URL(req.url ?? '/', 'http://x').pathname !== this.path) {
      answerSocket(socket, 404, 'not found');
      return;
    }
    if (!this.admission.spendUpgrade(socket, source)) return;
    const sockets = this.sockets;
    wss.handleUpgrade(req, socket, head, (ws) => sockets.accept(ws, source));
  }

  /**
   * A POST to the path exactly as announced goes to the POST route's handler as the app would hand
   * it over (the request and response given express's prototypes, as express's app does first), without
   * matching the router's layers, the most of express's cost of a message; anything else to the app.
   */
  private serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST' || req.url !== this.path) {
      this.app(req, res);
      return;
    }
    const app = this.app as Express & { request: Request; response: Response };
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    const request = req as Request;
    const response = res as Response;
    request.res = response;
    response.req = request;
    response.locals ??= Object.create(null) as Record<string, unknown>;
    this.post(request, response, (error: unknown) => {
      // As express's final handler does with an error it cannot answer: the connection is cut.
      if (!this.answerError(error, response)) req.socket.destroy();
    });
  }

  /** The POST route: admits the request and takes its envelope. */
  private readonly post = (req: Request, res: Response, next: NextFunction): void => {
    this.admit(req, res).catch(next);
  };

  /** Answers a failed request with its status and a short text; false once its headers went out. */
  private answerError(error: unknown, res: Response): boolean {
    if (res.headersSent) return false;
    const status = httpStatusOf(error);
    if (status >= 500) this.logger?.error('HTTP inbound transport error', { error: errorMessage(error) });
    res
      .status(status)
      .type('text/plain')
      .send(status === 413 ? 'message too large' : status >= 500 ? 'internal error' : 'bad request');
    return true;
  }

  public override async stop(): Promise<void> {
    this.stopping = true;
    for (const { session } of [...this.pending.values()]) session.answer(503, 'agent is shutting down');
    for (const reply of [...this.leanReplies]) reply.end();
    await super.stop();
  }

  private buildApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.post(this.path, this.post);
    app.all(this.path, (_req, res) => {
      res.status(405).set('Allow', 'POST').type('text/plain').send('method not allowed');
    });
    app.use((_req: Request, res: Response) => {
      res.status(404).type('text/plain').send('not found');
    });
    // express 5 error handler: body-parser errors carry a status (413 too large, 400 bad encoding, ...).
    app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (!this.answerError(error, res)) next(error);
    });
    return app;
  }

  /** Admits a POST (source, media type, size, budgets), reads its body and takes its envelope. */
  private async admit(req: Request, res: Response): Promise<void> {
    if (!this.agentContext || this.stopping) {
      res.status(503).type('text/plain').send('agent is not running');
      return;
    }
    const source = this.admission.sourceOf(req);
    if (!this.admission.spend(res, source)) return;
    // The media type is checked before a byte of the body is read.
    const type = mediaType(req.headers['content-type']);
    if (!type || !DIDCOMM_CONTENT_TYPES.includes(type)) {
      this.admission.refuse(res, source, {
        status: 415,
        reason: `unsupported content type; use ${DIDCOMM_CONTENT_TYPES.join(' or ')}`,
      });
      return;
    }
    const ticket = this.admission.admit(req, res, source);
    if (ticket === undefined) return;
    const body = await this.admission.readBody(req, res, ticket);
    if (body === undefined) return;
    let envelope: DidCommEncryptedMessage;
    try {
      envelope = parseEnvelope(body);
    } catch (error) {
      if (!(error instanceof MalformedEnvelopeError)) throw error;
      this.admission.refuse(res, source, { status: 400, reason: error.message });
      return;
    }
    this.receive(envelope, req, res, source);
  }

  private receive(envelope: DidCommEncryptedMessage, req: Request, res: Response, source: string): void {
    const agentContext = this.agentContext;
    if (!agentContext || this.stopping) {
      res.status(503).type('text/plain').send('agent is not running');
      return;
    }

    const contentType =
      mediaType(req.headers['content-type']) ??
      agentContext.dependencyManager.resolve(DidCommModuleConfig).didCommMimeType;
    const lean = this.leanPath;
    if (lean === undefined) {
      this.toCredo(envelope, res, contentType, source);
      return;
    }
    const reply = new LeanHttpReply(res, contentType, this.responseTimeoutMs, (r) =>
      this.leanReplies.delete(r),
    );
    this.leanReplies.add(reply);
    lean
      .receive(envelope, reply)
      .then((outcome) => {
        if (outcome === 'handled') {
          this.budget.delivered(source);
          reply.acknowledge();
        } else {
          this.leanReplies.delete(reply);
          this.toCredo(envelope, res, contentType, source);
        }
      })
      .catch((error: unknown) => {
        this.logger?.error('Perun lean path failed', { error: errorMessage(error) });
        reply.fail(500, 'internal error');
      });
  }

  /** Hands the envelope to Credo's receive pipeline with a session bound to the response. */
  private toCredo(
    envelope: DidCommEncryptedMessage,
    res: Response,
    contentType: string,
    source: string,
  ): void {
    const { agentContext, eventEmitter } = this;
    if (!agentContext || !eventEmitter || this.stopping) {
      res.status(503).type('text/plain').send('agent is not running');
      return;
    }
    const session = new HttpTransportSession(
      utils.uuid(),
      res,
      contentType,
      (finished) => this.release(envelope, finished),
      (received, error) => this.settle(received, source, error),
    );
    const timer = setTimeout(() => session.answer(202), this.responseTimeoutMs);
    timer.unref();
    this.pending.set(envelope, { session, timer });

    eventEmitter.emit<DidCommMessageReceivedEvent>(agentContext, {
      type: DidCommEventTypes.DidCommMessageReceived,
      payload: { message: envelope, session, receivedAt: new Date() },
    });
  }

  /**
   * Credo is done with a session's message. Processed: a request still open gets its 202 now.
   * Failed before Credo took it (no 202, no return route saved): 400 or 422 with a short reason,
   * charged to its source. Failed in its handler after that: 202, as it was taken.
   */
  private settle(session: HttpTransportSession, source: string, error?: unknown): void {
    if (error === undefined) {
      this.budget.delivered(source);
      session.answer(202);
      return;
    }
    if (session.taken) {
      const reason = 'message failed in its handler';
      this.report({ status: 0, source, reason, connectionId: session.connectionId });
      session.answer(202);
      return;
    }
    const failure = failureOf(error);
    if (failure.senderFault) this.budget.failed(source);
    this.report({ status: failure.status, source, reason: failure.reason });
    session.answer(failure.status, failure.reason);
  }

  private release(envelope: DidCommEncryptedMessage, session: HttpTransportSession): void {
    const entry = this.pending.get(envelope);
    if (entry?.session === session) {
      clearTimeout(entry.timer);
      this.pending.delete(envelope);
    }
    // The session is only good for one answer: make sure Credo stops routing replies to it.
    const transportService = this.transportService;
    if (transportService && transportService.findSessionById(session.id) === session) {
      transportService.removeSession(session);
    }
  }
}

function httpStatusOf(error: unknown): number {
  if (typeof error === 'object' && error !== null) {
    const candidate =
      (error as { status?: unknown; statusCode?: unknown }).status ??
      (error as { statusCode?: unknown }).statusCode;
    if (typeof candidate === 'number' && candidate >= 400 && candidate < 600) return candidate;
  }
  return 500;
}
