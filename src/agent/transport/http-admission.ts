// What the DIDComm HTTP endpoint lets in, decided as early as it can be: connections per source
// and in total when they open; header timeouts (slowloris) by the node server, answered 408; per
// request a token of its source (429), the declared size (413) and room in the request and byte
// budgets (503) before a byte of the body is read; a chunked body counted as it streams, and a
// body timeout. Every refusal carries a short reason, Retry-After where trying later helps, and
// `Connection: close` (the unread body is not worth reading), is charged to its source and logged.
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

import { isRefusal, sourceOf, type InboundBudget, type Refusal, type Ticket } from './inbound-limits.js';
import type { InboundEvent } from './inbound-log.js';

/** A refusal or failure to answer with. */
export interface Answer {
  status: number;
  reason: string;
  retryAfterS?: number;
}

export type Report = (event: Omit<InboundEvent, 'transport'>) => void;

/** The node http server options that enforce the budget's header and request timeouts. */
export function serverTimeouts(budget: InboundBudget) {
  const { headersTimeoutMs, bodyTimeoutMs } = budget.limits;
  return {
    headersTimeout: headersTimeoutMs,
    // A backstop behind the body timeout of readBody; node requires it above headersTimeout.
    requestTimeout: headersTimeoutMs + bodyTimeoutMs + 1_000,
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
  };
}

/**
 * Counts `server`'s connections against the budget (closing those beyond) and answers the
 * requests node gives up on (header timeout 408, oversized or malformed headers).
 */
export function guardConnections(server: Server, budget: InboundBudget, report: Report): void {
  server.on('connection', (socket: Socket) => {
    const source = sourceOf(socket.remoteAddress);
    const refusal = budget.openConnection(source);
    if (refusal !== undefined) {
      budget.failed(source);
      report({ status: 0, source, reason: refusal.reason });
      socket.destroy();
      return;
    }
    socket.once('close', () => budget.closeConnection(source));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const source = sourceOf(socket.remoteAddress);
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const reason = status === 408 ? 'request not received in time' : 'malformed request';
    budget.failed(source);
    report({ status, source, reason });
    answerSocket(socket, status, reason);
  });
}

/** Answers on a socket node no longer parses requests on (a client error, an upgrade), and ends it. */
export function answerSocket(socket: Duplex, status: number, reason: string, retryAfterS?: number): void {
  const retry = retryAfterS === undefined ? '' : `Retry-After: ${retryAfterS}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${retry}Connection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  );
  if (socket instanceof Socket) socket.destroySoon();
}

export class HttpAdmission {
  public constructor(
    private readonly budget: InboundBudget,
    private readonly report: Report,
  ) {}

  /** The source of a request. */
  public sourceOf(req: IncomingMessage): string {
    return sourceOf(req.socket.remoteAddress);
  }

  /** Spends the request's token of its source; false (answered 429) when it has none. */
  public spend(res: ServerResponse, source: string): boolean {
    const refusal = this.budget.spend(source);
    if (refusal === undefined) return true;
    this.refuse(res, source, refusal);
    return false;
  }

  /** Spends an upgrade's token of its source; false (answered on the socket) when it has none. */
  public spendUpgrade(socket: Duplex, source: string): boolean {
    const refusal = this.budget.spend(source);
    if (refusal === undefined) return true;
    this.#charge(source, refusal);
    answerSocket(socket, refusal.status, refusal.reason, refusal.retryAfterS);
    return false;
  }

  /** Admits the request to the budgets until it is answered; undefined when refused (answered). */
  public admit(req: IncomingMessage, res: ServerResponse, source: string): Ticket | undefined {
    const declared = declaredLength(req);
    const ticket = this.budget.admit(source, declared ?? 0);
    if (isRefusal(ticket)) {
      this.refuse(res, source, ticket);
      return undefined;
    }
    res.once('close', () => ticket.release());
    return ticket;
  }

  /** The request's body; undefined when it was refused on the way (answered). */
  public readBody(req: IncomingMessage, res: ServerResponse, ticket: Ticket): Promise<Buffer | undefined> {
    const chunked = declaredLength(req) === undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    return new Promise((resolve) => {
      let done = false;
      const finish = (body: Buffer | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('close', onClose);
        resolve(body);
      };
      const stop = (answer: Answer) => {
        this.refuse(res, ticket.source, answer);
        finish(undefined);
      };
      const onData = (chunk: Buffer) => {
        received += chunk.length;
        const refusal: Refusal | undefined = chunked
          ? ticket.grow(chunk.length)
          : received > this.budget.limits.maxMessageBytes
            ? { status: 413, reason: 'message too large' }
            : undefined;
        if (refusal !== undefined) stop(refusal);
        else chunks.push(chunk);
      };
      const onEnd = () => finish(Buffer.concat(chunks, received));
      const onClose = () => finish(undefined);
      const timer = setTimeout(
        () => stop({ status: 408, reason: 'body not received in time' }),
        this.budget.limits.bodyTimeoutMs,
      );
      timer.unref();
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('close', onClose);
    });
  }

  /** Answers a refused request and charges its source; the connection ends (its body may be unread). */
  public refuse(res: ServerResponse, source: string, answer: Answer): void {
    this.#charge(source, answer);
    if (res.headersSent || res.writableEnded) return;
    if (answer.retryAfterS !== undefined) res.setHeader('Retry-After', String(answer.retryAfterS));
    res.setHeader('Connection', 'close');
    res.writeHead(answer.status, {
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength(answer.reason),
    });
    res.end(answer.reason);
  }

  /** A refusal charged to its source and logged. */
  #charge(source: string, answer: Answer): void {
    this.budget.failed(source);
    this.report({ status: answer.status, source, reason: answer.reason });
  }
}

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
