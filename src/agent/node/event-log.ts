// The node's event stream: numbered events, a bounded buffer so that a client that reconnects
// (SSE Last-Event-ID) gets what it missed, and subscribers that must not break the node.
import type { NodeEvent, NodeEventWithId } from './types.js';

export class EventLog {
  readonly #buffer: NodeEventWithId[] = [];
  readonly #listeners = new Set<(e: NodeEventWithId) => void>();
  /** IDs continue across restarts (Last-Event-ID of a client that reconnects stays below them). */
  #next = Date.now();

  constructor(private readonly capacity = 1_000) {}

  emit(event: NodeEvent): NodeEventWithId {
    const e = { ...event, id: this.#next++, at: new Date().toISOString() } as NodeEventWithId;
    this.#buffer.push(e);
    if (this.#buffer.length > this.capacity) this.#buffer.shift();
    for (const listener of this.#listeners) {
      try {
        listener(e);
      } catch {
        // A failing subscriber (a closed stream) must not stop the others.
      }
    }
    return e;
  }

  /** Calls `listener` with every later event, after replaying buffered events newer than `since`. */
  subscribe(listener: (e: NodeEventWithId) => void, since?: number): () => void {
    if (since !== undefined) for (const e of this.#buffer) if (e.id > since) listener(e);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The ID of the newest event (below every ID of this run before the first). */
  get lastId(): number {
    return this.#next - 1;
  }
}
