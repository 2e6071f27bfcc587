// The trace refused and failed inbound messages leave: one line each with the transport, the
// status, the source address, the reason and the connection where known, never the message. At
// most `linesPerWindow` lines a window; the rest are counted and reported in one line when the
// window ends (or the transport stops), so a flood cannot flood the log too.

export interface InboundEvent {
  /** HTTP or WS; '' where the transport does not matter (a replay is dropped after decryption). */
  transport: string;
  /** What the sender was told (an HTTP status, a WebSocket close code), or 0 when it was not told. */
  status?: number;
  /** What happened instead of "refused <status>" / "failed" (e.g. "dropped"). */
  outcome?: string;
  source?: string;
  reason: string;
  connectionId?: string;
}

export interface InboundLogOptions {
  /** Where lines go; the agent's log. */
  log: (line: string) => void;
  /** Lines written per window; default 5. */
  linesPerWindow?: number;
  /** The window's length; default 1 s. */
  windowMs?: number;
}

export class InboundLog {
  readonly #log: (line: string) => void;
  readonly #linesPerWindow: number;
  readonly #windowMs: number;
  #written = 0;
  #suppressed = 0;
  #timer: NodeJS.Timeout | undefined;

  public constructor(o: InboundLogOptions) {
    this.#log = o.log;
    this.#linesPerWindow = o.linesPerWindow ?? 5;
    this.#windowMs = o.windowMs ?? 1_000;
  }

  public record(e: InboundEvent): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#windowMs);
      this.#timer.unref();
    }
    if (this.#written >= this.#linesPerWindow) {
      this.#suppressed += 1;
      return;
    }
    this.#written += 1;
    const what = e.outcome ?? (e.status === undefined || e.status === 0 ? 'failed' : `refused ${e.status}`);
    const source = e.source === undefined ? '' : ` from ${e.source}`;
    const connection = e.connectionId === undefined ? '' : ` connection ${e.connectionId}`;
    const transport = e.transport === '' ? '' : ` ${e.transport}`;
    this.#log(`didcomm${transport} inbound: ${what}${source}${connection}: ${e.reason}`);
  }

  /** Ends the window: reports what it suppressed. */
  public flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#written = 0;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    if (suppressed > 0)
      this.#log(`didcomm inbound: ${suppressed} more refused, failed or dropped messages not logged`);
  }
}
