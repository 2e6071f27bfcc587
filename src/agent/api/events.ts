// The node's live events as server-sent events (GET /events): one SSE event per node event
// (`id`, `event` = its type, `data` = its JSON), the buffered ones after `Last-Event-ID` first, a
// `: keep-alive` comment at a fixed interval. The `X-Perun-Replayed-Until` header names the newest
// event replayed (or the Last-Event-ID when none was), so a reader tells history from live by ID. Owns the open streams so that closing the server
// ends them. What the streams can hold is bounded: streams in total (the API has one token, so
// this is also the cap per token) and per source address, 503 with Retry-After beyond; a replay
// of at most `maxReplayEvents` events; a client too slow to read is cut off once its unsent
// bytes pass `maxBufferedBytes` (it reconnects with its Last-Event-ID). A stream whose token was
// revoked ends at its next event or keep-alive.
import type { Request, Response } from 'express';

import type { AgentNodeApi, NodeEventWithId } from '../node/types.js';
import { ApiRequestError } from './api-error.js';
import { stillAuthorised } from './auth.js';
import { checkLastEventId } from './validate.js';

export interface EventStreamOptions {
  /** Interval of the `: keep-alive` comment. */
  keepAliveMs: number;
  /** Unsent bytes a stream may hold before its client is cut off. */
  maxBufferedBytes: number;
  /** Open streams in all. */
  maxStreams: number;
  /** Open streams from one source address. */
  maxStreamsPerSource: number;
  /** Buffered events a reconnecting stream is sent at most (the newest ones). */
  maxReplayEvents: number;
  log: (line: string) => void;
}

export type EventStreamLimits = Pick<
  EventStreamOptions,
  'maxBufferedBytes' | 'maxStreams' | 'maxStreamsPerSource' | 'maxReplayEvents'
>;

export const EVENT_STREAM_DEFAULTS: Readonly<EventStreamLimits> = {
  maxBufferedBytes: 256 * 1024,
  maxStreams: 32,
  maxStreamsPerSource: 8,
  maxReplayEvents: 256,
};

/** The ID of the newest event the stream's replay holds: what is after it is live. */
export const REPLAYED_UNTIL_HEADER = 'X-Perun-Replayed-Until';

/** Tells an EventSource how long to wait before reconnecting, in ms. */
const RETRY_MS = 2_000;
/** Retry-After of a stream refused for the caps, in seconds. */
const BUSY_RETRY_AFTER_S = 5;

/** Each event is formatted once however many streams send it. */
const formatted = new WeakMap<NodeEventWithId, string>();

export function formatEvent(e: NodeEventWithId): string {
  let text = formatted.get(e);
  if (text === undefined) {
    text = `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    formatted.set(e, text);
  }
  return text;
}

export class EventStreams {
  private readonly open = new Map<Response, () => void>();
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly node: AgentNodeApi,
    private readonly options: EventStreamOptions,
  ) {}

  get size(): number {
    return this.open.size;
  }

  readonly handle = (req: Request, res: Response): void => {
    const since = checkLastEventId(req.get('last-event-id'));
    const source = req.socket.remoteAddress ?? '';
    this.admit(source, res);
    let lastId = since ?? -1;
    let unsubscribe: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    /** Events the subscription replays, collected so that only the newest are sent. */
    let replay: NodeEventWithId[] | undefined = [];

    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      unsubscribe?.();
      if (this.open.delete(res)) this.leave(source);
    };
    const finish = () => {
      end();
      if (!res.writableEnded) res.end();
    };
    const write = (chunk: string) => {
      if (ended) return;
      if (!stillAuthorised(res)) {
        this.options.log("events: the stream's token was revoked; stream closed");
        finish();
        return;
      }
      res.write(chunk);
      if (res.writableLength > this.options.maxBufferedBytes) {
        this.options.log(`events: client too slow, ${res.writableLength} bytes unsent; stream closed`);
        finish();
        res.destroy();
      }
    };
    const listener = (e: NodeEventWithId) => {
      if (e.id <= lastId) return;
      lastId = e.id;
      if (replay !== undefined) replay.push(e);
      else write(formatEvent(e));
    };

    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    this.open.set(res, finish);
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    res.on('close', finish);
    try {
      unsubscribe = this.node.subscribe(listener, since);
    } catch (err) {
      if (res.headersSent) {
        this.options.log(`events: subscription failed: ${err instanceof Error ? err.message : String(err)}`);
        finish();
        return;
      }
      res.off('close', finish);
      end();
      throw err;
    }
    const replayed = replay;
    replay = undefined;
    res.setHeader(REPLAYED_UNTIL_HEADER, String(Math.max(lastId, since ?? 0)));
    const skipped = replayed.length - this.options.maxReplayEvents;
    let head = `retry: ${RETRY_MS}\n\n`;
    if (skipped > 0) head += `: ${skipped} earlier events not replayed\n\n`;
    write(head + replayed.slice(Math.max(0, skipped)).map(formatEvent).join(''));
    if (ended) unsubscribe();
    else timer = setInterval(() => write(': keep-alive\n\n'), this.options.keepAliveMs).unref();
  };

  /** Refuses a stream beyond the caps, before anything is written or subscribed. */
  private admit(source: string, res: Response): void {
    const { maxStreams, maxStreamsPerSource } = this.options;
    const fromSource = this.perSource.get(source) ?? 0;
    if (this.open.size < maxStreams && fromSource < maxStreamsPerSource) return;
    const total = this.open.size >= maxStreams;
    this.options.log(
      `events: stream refused, ${total ? `${this.open.size} streams open` : `${fromSource} streams open from ${source}`}`,
    );
    res.set('Retry-After', String(BUSY_RETRY_AFTER_S));
    throw new ApiRequestError(
      503,
      'TOO_MANY_EVENT_STREAMS',
      total
        ? `${maxStreams} event streams are open, the most this agent serves; try again later`
        : `${maxStreamsPerSource} event streams are open from this address, the most one address may hold`,
      total ? { open: this.open.size, limit: maxStreams } : { open: fromSource, limit: maxStreamsPerSource },
    );
  }

  private leave(source: string): void {
    const n = (this.perSource.get(source) ?? 1) - 1;
    if (n > 0) this.perSource.set(source, n);
    else this.perSource.delete(source);
  }

  /** Ends every open stream; resolves once their last bytes went out. */
  async closeAll(): Promise<void> {
    const finishing = [...this.open.keys()].map(
      (res) =>
        new Promise<void>((resolve) => {
          if (res.writableFinished || res.destroyed) resolve();
          else {
            res.once('finish', () => resolve());
            res.once('close', () => resolve());
          }
        }),
    );
    for (const end of [...this.open.values()]) end();
    await Promise.all(finishing);
  }
}
