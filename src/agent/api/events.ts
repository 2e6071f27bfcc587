// The node's live events as server-sent events (GET /events): one SSE event per node event
// (`id`, `event` = its type, `data` = its JSON), the buffered ones after `Last-Event-ID` first, a
// `: keep-alive` comment at a fixed interval. Owns the open streams so that closing the server
// ends them. A client too slow to read is cut off; it reconnects with its Last-Event-ID.
import type { Request, Response } from 'express';

import type { AgentNodeApi, NodeEventWithId } from '../node/types.js';
import { checkLastEventId } from './validate.js';

export interface EventStreamOptions {
  /** Interval of the `: keep-alive` comment. */
  keepAliveMs: number;
  /** Unsent bytes a stream may hold before its client is cut off. */
  maxBufferedBytes: number;
  log: (line: string) => void;
}

/** Tells an EventSource how long to wait before reconnecting, in ms. */
const RETRY_MS = 2_000;

export function formatEvent(e: NodeEventWithId): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export class EventStreams {
  private readonly open = new Map<Response, () => void>();

  constructor(
    private readonly node: AgentNodeApi,
    private readonly options: EventStreamOptions,
  ) {}

  get size(): number {
    return this.open.size;
  }

  readonly handle = (req: Request, res: Response): void => {
    const since = checkLastEventId(req.get('last-event-id'));
    let lastId = since ?? -1;
    let unsubscribe: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;

    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      unsubscribe?.();
      this.open.delete(res);
      if (!res.writableEnded) res.end();
    };
    const write = (chunk: string) => {
      if (ended) return;
      res.write(chunk);
      if (res.writableLength > this.options.maxBufferedBytes) {
        this.options.log(`events: client too slow, ${res.writableLength} bytes unsent; stream closed`);
        end();
        res.destroy();
      }
    };
    const listener = (e: NodeEventWithId) => {
      if (e.id <= lastId) return;
      lastId = e.id;
      write(formatEvent(e));
    };

    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    this.open.set(res, end);
    res.on('close', end);
    try {
      unsubscribe = this.node.subscribe(listener, since);
    } catch (err) {
      if (res.headersSent) {
        this.options.log(`events: subscription failed: ${err instanceof Error ? err.message : String(err)}`);
        end();
        return;
      }
      ended = true;
      this.open.delete(res);
      res.off('close', end);
      throw err;
    }
    write(`retry: ${RETRY_MS}\n\n`);
    if (ended) unsubscribe();
    else timer = setInterval(() => write(': keep-alive\n\n'), this.options.keepAliveMs).unref();
  };

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
