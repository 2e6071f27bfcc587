// DIDComm v1 inbound transport over HTTP (express 5), with return-route support.
//
// One POST carries one encrypted envelope. The request is handed to Credo's receive pipeline (the
// DidCommMessageReceived event, so Credo's ordering and `processDidCommMessagesConcurrently` apply)
// together with a transport session bound to the HTTP response:
// - message without return route: Credo closes the session right after decrypting it -> 202, empty;
// - message with `~transport.return_route` and a reply: Credo sends the reply into the session -> 200
//   with the packed reply as body (one message per response);
// - return route but no reply once the message is processed, or no answer within `responseTimeoutMs`
//   -> 202, empty. A later reply then goes to the peer's endpoint.
// Where the agent runs the Perun lean path, an envelope goes there first: a message it takes gets
// 202 at once, or with a return route 200 headers at once and its answer as the body (lean-reply.ts);
// anything else goes to Credo as above.
import { type AgentContext, CredoError, utils } from '@credo-ts/core';
import {
  DidCommEventTypes,
  DidCommModuleConfig,
  type DidCommEncryptedMessage,
  type DidCommMessageProcessedEvent,
  type DidCommMessageReceivedEvent,
  type DidCommTransportSession,
} from '@credo-ts/didcomm';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createServer } from 'node:http';

import {
  DEFAULT_MAX_MESSAGE_BYTES,
  DIDCOMM_CONTENT_TYPES,
  MalformedEnvelopeError,
  errorMessage,
  mediaType,
  parseEnvelope,
} from './common.js';
import { InboundServerTransport, type InboundServer } from './inbound-server.js';
import { LeanHttpReply } from './lean-reply.js';

export interface HttpInboundTransportOptions {
  /** Interface to bind. Default 127.0.0.1; pass '0.0.0.0' or '::' explicitly to listen on all interfaces. */
  host?: string;
  /** TCP port; 0 (the default) picks a free port, readable from `port` after start. */
  port?: number;
  /** Path that accepts POSTs. Default '/'. */
  path?: string;
  /** Largest accepted body in bytes; larger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** How long a request may wait for its message to be processed / its return-route reply. Default 10 s. */
  responseTimeoutMs?: number;
  /** URL announced to peers. Default `http://host:port/path` from the bound address. */
  endpoint?: string;
  /** Add the endpoint to the agent's DIDComm endpoints on start (and remove it on stop). Default true. */
  announceEndpoint?: boolean;
}

export const HTTP_SESSION_TYPE = 'http';

/** A pending HTTP request: the transport session Credo may answer through. */
export class HttpTransportSession implements DidCommTransportSession {
  public readonly type = HTTP_SESSION_TYPE;
  public keys?: DidCommTransportSession['keys'];
  public inboundMessage?: DidCommTransportSession['inboundMessage'];
  public connectionId?: string;
  private answered = false;
  private finished = false;

  public constructor(
    public readonly id: string,
    private readonly response: Response,
    private readonly contentType: string,
    private readonly onFinished: (session: HttpTransportSession) => void,
  ) {
    response.once('close', () => this.finish());
  }

  public get isAnswered(): boolean {
    return this.answered;
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
  private readonly maxBodyBytes: number;
  private readonly responseTimeoutMs: number;

  private stopping = false;
  /** Requests waiting for an answer, keyed by the envelope object handed to Credo. */
  private readonly pending = new Map<
    DidCommEncryptedMessage,
    { session: HttpTransportSession; timer: NodeJS.Timeout }
  >();
  /** Responses the lean path holds for an answer. */
  private readonly leanReplies = new Set<LeanHttpReply>();

  public constructor(options: HttpInboundTransportOptions = {}) {
    super('HTTP', 'http', options);
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    this.app = this.buildApp();
  }

  /** Number of requests currently waiting for an answer (for tests and diagnostics). */
  public get pendingRequests(): number {
    return this.pending.size;
  }

  protected buildServer(): InboundServer {
    this.stopping = false;
    const server = createServer(this.app);
    // Slow or stalled clients must not hold the socket forever.
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;
    return {
      server,
      bound: () => this.eventEmitter?.on(DidCommEventTypes.DidCommMessageProcessed, this.onProcessed),
    };
  }

  public override async stop(): Promise<void> {
    this.stopping = true;
    this.eventEmitter?.off(DidCommEventTypes.DidCommMessageProcessed, this.onProcessed);
    for (const { session } of [...this.pending.values()]) session.answer(503, 'agent is shutting down');
    for (const reply of [...this.leanReplies]) reply.end();
    await super.stop();
  }

  private buildApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.post(
      this.path,
      (req, res, next) => {
        // Check the media type before reading a byte of the body.
        const type = mediaType(req.headers['content-type']);
        if (!type || !DIDCOMM_CONTENT_TYPES.includes(type)) {
          res
            .status(415)
            .type('text/plain')
            .send(`unsupported content type; use ${DIDCOMM_CONTENT_TYPES.join(' or ')}`);
          return;
        }
        next();
      },
      express.raw({ type: () => true, limit: this.maxBodyBytes }),
      (req, res) => this.receive(req, res),
    );
    app.all(this.path, (_req, res) => {
      res.status(405).set('Allow', 'POST').type('text/plain').send('method not allowed');
    });
    app.use((_req: Request, res: Response) => {
      res.status(404).type('text/plain').send('not found');
    });
    // express 5 error handler: body-parser errors carry a status (413 too large, 400 bad encoding, ...).
    app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) {
        next(error);
        return;
      }
      const status = httpStatusOf(error);
      if (status >= 500) this.logger?.error('HTTP inbound transport error', { error: errorMessage(error) });
      res
        .status(status)
        .type('text/plain')
        .send(status === 413 ? 'message too large' : status >= 500 ? 'internal error' : 'bad request');
    });
    return app;
  }

  private receive(req: Request, res: Response): void {
    const agentContext = this.agentContext;
    const eventEmitter = this.eventEmitter;
    if (!agentContext || !eventEmitter || this.stopping) {
      res.status(503).type('text/plain').send('agent is not running');
      return;
    }
    let envelope: DidCommEncryptedMessage;
    try {
      envelope = parseEnvelope(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    } catch (error) {
      if (!(error instanceof MalformedEnvelopeError)) throw error;
      this.logger?.debug(`Refused inbound HTTP message: ${error.message}`);
      res.status(400).type('text/plain').send(error.message);
      return;
    }

    const contentType =
      mediaType(req.headers['content-type']) ??
      agentContext.dependencyManager.resolve(DidCommModuleConfig).didCommMimeType;
    const lean = this.leanPath;
    if (lean === undefined) {
      this.toCredo(envelope, res, contentType);
      return;
    }
    const reply = new LeanHttpReply(res, contentType, this.responseTimeoutMs, (r) =>
      this.leanReplies.delete(r),
    );
    this.leanReplies.add(reply);
    lean
      .receive(envelope, reply)
      .then((outcome) => {
        if (outcome === 'handled') reply.acknowledge();
        else {
          this.leanReplies.delete(reply);
          this.toCredo(envelope, res, contentType);
        }
      })
      .catch((error: unknown) =>
        this.logger?.error('Perun lean path failed', { error: errorMessage(error) }),
      );
  }

  /** Hands the envelope to Credo's receive pipeline with a session bound to the response. */
  private toCredo(envelope: DidCommEncryptedMessage, res: Response, contentType: string): void {
    const { agentContext, eventEmitter } = this;
    if (!agentContext || !eventEmitter || this.stopping) {
      res.status(503).type('text/plain').send('agent is not running');
      return;
    }
    const session = new HttpTransportSession(utils.uuid(), res, contentType, (finished) =>
      this.release(envelope, finished),
    );
    const timer = setTimeout(() => session.answer(202), this.responseTimeoutMs);
    timer.unref();
    this.pending.set(envelope, { session, timer });

    eventEmitter.emit<DidCommMessageReceivedEvent>(agentContext, {
      type: DidCommEventTypes.DidCommMessageReceived,
      payload: { message: envelope, session, receivedAt: new Date() },
    });
  }

  /** Credo finished processing a message: a request still open gets its 202 now. */
  private readonly onProcessed = (event: DidCommMessageProcessedEvent): void => {
    const encrypted = event.payload.encryptedMessage;
    if (!encrypted) return;
    this.pending.get(encrypted)?.session.answer(202);
  };

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
