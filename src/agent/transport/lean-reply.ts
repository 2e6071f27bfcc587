// The return routes the inbound transports give the Perun lean path: an HTTP response kept open
// for one answer, or a WebSocket that takes any number.
import type { ServerResponse } from 'node:http';
import type { Envelope, LeanReplyChannel } from '../../protocols/perun/lean/index.js';

/**
 * The response to a POST the lean path took. Without a return route it is acknowledged (202) at
 * once; with one, `hold` sends the 200 headers and the answer follows as the body, or an empty body
 * after `timeoutMs` (the sender knows from the headers that its message arrived).
 */
export class LeanHttpReply implements LeanReplyChannel {
  public readonly persistent = false;
  #state: 'new' | 'held' | 'done' = 'new';
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
    return this.#state === 'held' && !this.response.writableEnded;
  }

  public hold(): void {
    if (this.#state !== 'new') return;
    this.#state = 'held';
    this.response.writeHead(200, { 'content-type': this.contentType });
    this.response.flushHeaders();
    this.#timer = setTimeout(() => this.end(), this.timeoutMs);
    this.#timer.unref();
  }

  public async send(envelope: Envelope): Promise<void> {
    if (!this.open) throw new Error('the HTTP response has been answered');
    this.response.end(JSON.stringify(envelope));
    this.#finish();
  }

  /** The lean path took the message: 202 unless it holds the response for an answer. */
  public acknowledge(): void {
    if (this.#state !== 'new') return;
    this.response.writeHead(202).end();
    this.#finish();
  }

  /** Ends a held response without an answer (its timeout, the transport stopping). */
  public end(): void {
    if (this.#state === 'held' && !this.response.writableEnded) this.response.end();
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
