// Waiting for a Credo event that may fire before the caller knows what to look for (the record ID
// of an exchange is known only once the first message is out, and the answer may already be in).
import type { BaseEvent, EventEmitter } from '@credo-ts/core';

export interface EventCollector<E extends BaseEvent> {
  /** The first event so far or from now on that satisfies `match`; rejects with `onTimeout()` after `timeoutMs` (unless stopped first). */
  until(match: (e: E) => boolean, timeoutMs: number, onTimeout: () => Error): Promise<E>;
  stop(): void;
}

/** Starts recording events of `type` from the agent's `events`; call stop() when done. */
export function collectEvents<E extends BaseEvent>(events: EventEmitter, type: E['type']): EventCollector<E> {
  const seen: E[] = [];
  const waiters = new Set<(e: E) => void>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const listener = (e: E) => {
    seen.push(e);
    for (const w of [...waiters]) w(e);
  };
  events.on<E>(type, listener);
  return {
    until(match, timeoutMs, onTimeout) {
      const hit = seen.find(match);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise<E>((resolve, reject) => {
        const waiter = (e: E) => {
          if (!match(e)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          timers.delete(timer);
          resolve(e);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          timers.delete(timer);
          reject(onTimeout());
        }, timeoutMs);
        timers.add(timer);
        waiters.add(waiter);
      });
    },
    stop() {
      events.off<E>(type, listener);
      waiters.clear();
      // A waiter still pending stays so: stop() is called once its caller has given up on it.
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
