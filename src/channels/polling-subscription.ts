// The part every backend's event subscription shares (interfaces.ts EventSubscription): a cursor
// the caller can store, an optional set of watched channels, and a poll loop started and stopped
// by the caller. A backend subclass implements poll(): scan from the cursor, deliver, advance.
import type { EventSubscription } from './interfaces.js';
import type { Hex } from './types.js';

export abstract class PollingSubscription implements EventSubscription {
  readonly #channels: Set<string> | undefined;
  readonly #pollIntervalMs: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  #cursor: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #polling: Promise<void> | undefined;

  constructor(o: {
    fromBlock: number;
    channelIDs?: Iterable<Hex>;
    pollIntervalMs: number;
    onError?: (error: unknown) => void;
  }) {
    this.#cursor = o.fromBlock;
    this.#channels =
      o.channelIDs === undefined ? undefined : new Set([...o.channelIDs].map((c) => c.toLowerCase()));
    this.#pollIntervalMs = o.pollIntervalMs;
    this.#onError = o.onError;
  }

  /** The next block to scan: every block before it has been delivered. Persist it to resume. */
  get cursor(): number {
    return this.#cursor;
  }

  protected set cursor(next: number) {
    this.#cursor = next;
  }

  /** The watched channels (lower-case), or undefined for all. */
  protected get channels(): ReadonlySet<string> | undefined {
    return this.#channels;
  }

  watch(channelID: Hex): void {
    this.#channels?.add(channelID.toLowerCase());
  }

  unwatch(channelID: Hex): void {
    this.#channels?.delete(channelID.toLowerCase());
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#polling;
  }

  abstract poll(): Promise<void>;

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#polling = this.poll()
        .catch((err: unknown) => this.#onError?.(err))
        .finally(() => {
          if (this.#running) this.#schedule(this.#pollIntervalMs);
        });
    }, ms);
  }
}
