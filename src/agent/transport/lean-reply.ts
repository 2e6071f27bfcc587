// The return routes the inbound transports give the Perun lean path: an HTTP response kept open
// for one answer, a WebSocket that takes any number, or one that takes the answer to one message.
import type { ServerResponse } from 'node:http';
import type { Envelope, LeanReplyChannel } from '../../protocols/perun/lean/index.js';

/**
 * The response to a POST the lean path took. Once the message is handed over (`acknowledge`, as
 * Credo answers once it processed one), a message without a return route gets 202; one with a
 * return route (`hold`) gets the 200 headers, and its answer follows as the body, or an empty body
 * after `timeoutMs`. The sender learns from the status that its message arrived; an agent that
 * dies handing it over answers nothing, and the sender's request fails.
 */
export class LeanHttpReply implements LeanReplyChannel {
  public readonly persistent = false;
  #state: 'new' | 'held' | 'flushed' | 'done' = 'new';
  #timer: NodeJS.Timeout | undefined;

  public constructor(
    private readonly response: ServerResponse,
    private readonly contentType: string,
    private readonly timeoutMs: number,
    private readonly onDone: (reply: LeanHttpReply) => void,
  ) {
    response.once('close', () => this.#finish());
  }

  public get open(): boolean {
    return (this.#state === 'held' || this.#state === 'flushed') && !this.response.writableEnded;
  }

  public hold(): void {
    if (this.#state === 'new') this.#state = 'held';
  }

  public async send(envelope: Envelope): Promise<void> {
    if (!this.open) throw new Error('the HTTP response has been answered');
    if (this.#state === 'held') this.response.writeHead(200, { 'content-type': this.contentType });
    this.response.end(JSON.stringify(envelope));
    this.#finish();
  }

  /** The lean path handed the message over: 202, or the 200 headers of a held response. */
  public acknowledge(): void {
    if (this.#state === 'new') {
      this.response.writeHead(202).end();
      this.#finish();
    } else if (this.#state === 'held') {
      this.#state = 'flushed';
      this.response.writeHead(200, { 'content-type': this.contentType });
      this.response.flushHeaders();
      this.#timer = setTimeout(() => this.end(), this.timeoutMs);
      this.#timer.unref();
    }
  }

  /** The lean path failed with the message: `status` and a short text unless headers went out. */
  public fail(status: number, text: string): void {
    if (this.#state === 'new' || this.#state === 'held') this.response.writeHead(status).end(text);
    else if (this.#state === 'flushed' && !this.response.writableEnded) this.response.end();
    this.#finish();
  }

  /** Ends a held response without an answer (its timeout, the transport stopping). */
  public end(): void {
    if (this.#state === 'held') this.response.writeHead(200).end();
    else if (this.#state === 'flushed' && !this.response.writableEnded) this.response.end();
    this.#finish();
  }

  #finish(): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    clearTimeout(this.#timer);
    this.onDone(this);
  }
}

/** A WebSocket as a return route: open as long as the socket is. */
export function socketReply(
  isOpen: () => boolean,
  send: (envelope: Envelope) => Promise<void>,
): LeanReplyChannel {
  return {
    persistent: true,
    get open() {
      return isOpen();
    },
    hold: () => undefined,
    send,
  };
}

/**
 * A WebSocket as the return route of one message: for its answer only (the lean path matches the
 * thread), once, while the socket is open and for `timeoutMs` at most.
 */
export function socketAnswer(
  isOpen: () => boolean,
  send: (envelope: Envelope) => Promise<void>,
  timeoutMs: number,
): LeanReplyChannel {
  const until = Date.now() + timeoutMs;
  let used = false;
  const open = () => !used && Date.now() < until && isOpen();
  return {
    persistent: false,
    answersOnly: true,
    get open() {
      return open();
    },
    hold: () => undefined,
    send: (envelope) => {
      if (!open()) return Promise.reject(new Error('the WebSocket is closed or has answered'));
      used = true;
      return send(envelope);
    },
  };
}
