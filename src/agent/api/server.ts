// The REST API as an express app: the route table (./routes.ts) served over a node
// (AgentNodeApi), bearer-token auth by scope (./auth.ts), strict JSON bodies, errors as
// `{ category, code, message, details }`, `Idempotency-Key` on the routes that take it, the static
// web page and the /docs page (./docs-page.ts) without auth; and its listener on 127.0.0.1, whose
// close also ends the open event streams; the listener serves the payment route's ordinary requests
// before express (./pay-route.ts), with the same answers. Logs one line per request (method, path,
// status, duration), never a token, a query string or a body.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

import type { AgentNodeApi } from '../node/types.js';
import { ApiRequestError, toApiError } from './api-error.js';
import { authenticate, tokenAuthority } from './auth.js';
import { docsPage, docsPageAssets } from './docs-page.js';
import { EVENT_STREAM_DEFAULTS, EventStreams, type EventStreamLimits } from './events.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { payRoute, SECURITY_HEADERS, sendJson, type FastRoute } from './pay-route.js';
import { API_ROUTES, type ApiRoute, type JsonRoute } from './routes.js';
import type { ScopedTokenSource } from './scoped-tokens.js';
import { checkBody, checkIdempotencyKey, checkQuery, invalid } from './validate.js';

export interface ApiServerOptions {
  /** The admin token: a request with it may call every route. */
  token: string;
  /** The read-only and payment tokens (a ScopedTokenFile of the data directory); default: none. */
  scopedTokens?: ScopedTokenSource;
  /** Directory served at / without auth (the web page). */
  webRoot?: string;
  log?: (line: string) => void;
  /** Interval of the `: keep-alive` comment on /events; default 15 s. */
  keepAliveMs?: number;
  /** Caps of /events (defaults: EVENT_STREAM_DEFAULTS). */
  eventStreams?: Partial<EventStreamLimits>;
}

export interface ListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
}

export interface ApiListener {
  url: string;
  port: number;
  /** Serves `app` from now on on this listener (the agent's full API after its starting view). */
  serve(app: express.Express): void;
  close(): Promise<void>;
}

const JSON_BODY_LIMIT_BYTES = 64 * 1024;
export const JSON_BODY_LIMIT = `${JSON_BODY_LIMIT_BYTES / 1024}kb`;
const DEFAULT_KEEP_ALIVE_MS = 15_000;
/** The QR encoder the web page imports (qrcode-generator's ES module). */
const QR_MODULE = createRequire(import.meta.url)
  .resolve('qrcode-generator')
  .replace(/qrcode\.js$/, 'qrcode.mjs');

/** What listenApi must end before its server can close: the apps' event streams. */
const eventStreamsOf = new WeakMap<express.Express, EventStreams>();
/** The route an app's listener serves before express (./pay-route.ts). */
const fastRoutesOf = new WeakMap<express.Express, FastRoute>();

function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return req.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
}

/** Only JSON bodies get through, at most JSON_BODY_LIMIT of them. */
function jsonBody(): RequestHandler[] {
  return [
    (req, _res, next) => {
      if (hasBody(req) && req.is('application/json') !== 'application/json') {
        return next(new ApiRequestError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json'));
      }
      next();
    },
    express.json({ limit: JSON_BODY_LIMIT_BYTES, strict: true, inflate: false }),
  ];
}

/** Errors express and body-parser raise, in the API's terms; undefined for any other error. */
function fromHttpError(err: unknown): ApiRequestError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, type } = err as { status?: unknown; type?: unknown };
  if (err instanceof URIError && status === 400) return invalid('(path)', 'malformed percent-encoding');
  if (typeof type !== 'string') return undefined;
  if (type === 'entity.parse.failed') return invalid('(body)', 'not valid JSON');
  if (type === 'entity.too.large') {
    return new ApiRequestError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${JSON_BODY_LIMIT}`);
  }
  if (status === 415) {
    return new ApiRequestError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the body must be UTF-8 JSON, not encoded');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) return invalid('(body)', 'unreadable');
  return undefined;
}

function jsonHandler(node: AgentNodeApi, route: JsonRoute): RequestHandler {
  return async (req, res) => {
    const query = checkQuery(route.query, req.query as Record<string, unknown>);
    const body = checkBody(route.body ?? {}, req.body);
    const idempotencyKey = checkIdempotencyKey(req.get('idempotency-key'), route.idempotent);
    const result = await route.handle(node, {
      params: req.params as Record<string, string>,
      query,
      body,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    if (res.destroyed || res.headersSent) return;
    res.status(route.status).json(result);
  };
}

/** The express app serving `node`. */
export function createApiServer(node: AgentNodeApi, options: ApiServerOptions): express.Express {
  if (typeof options.token !== 'string' || options.token.length === 0) {
    throw new Error('createApiServer: a non-empty token is required');
  }
  const log = options.log ?? (() => {});
  const events = new EventStreams(node, {
    keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    ...EVENT_STREAM_DEFAULTS,
    ...options.eventStreams,
    log,
  });
  const authority = tokenAuthority(options.token, options.scopedTokens);
  const app = express();
  eventStreamsOf.set(app, events);
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.path;
    res.on('close', () => {
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      log(`${req.method} ${path} ${res.statusCode} ${ms}ms`);
    });
    res.set(SECURITY_HEADERS);
    next();
  });

  if (options.webRoot !== undefined) {
    app.use(express.static(options.webRoot, { index: 'index.html', redirect: false, dotfiles: 'ignore' }));
    app.get('/vendor/qrcode.mjs', (_req, res) => {
      res.type('text/javascript').sendFile(QR_MODULE);
    });
  }

  app.use(docsPageAssets);

  const handlerFor = (route: ApiRoute): RequestHandler => {
    switch (route.kind) {
      case 'json':
        return jsonHandler(node, route);
      case 'events':
        return (req, res) => {
          checkQuery(route.query, req.query as Record<string, unknown>);
          events.handle(req, res);
        };
      case 'openapi':
        return (req, res) => {
          checkQuery(route.query, req.query as Record<string, unknown>);
          res.json(OPENAPI_DOCUMENT);
        };
      case 'docs':
        return (req, res, next) => {
          checkQuery(route.query, req.query as Record<string, unknown>);
          return docsPage(req, res, next);
        };
    }
  };
  for (const route of API_ROUTES) {
    const chain = [
      authenticate(authority, route.auth, route.scope),
      ...(route.method === 'post' ? jsonBody() : []),
      handlerFor(route),
    ];
    app[route.method](route.path, ...chain);
  }

  app.use(authenticate(authority, 'bearer', 'read-only'), (req, _res, next) => {
    next(new ApiRequestError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = errorAnswer(err, res, `${req.method} ${req.path}`, log);
    if (answer !== undefined) res.status(answer.status).json(answer.body);
  });

  const pay = API_ROUTES.find((r): r is JsonRoute => r.kind === 'json' && r.operationId === 'pay')!;
  fastRoutesOf.set(
    app,
    payRoute({
      node,
      authority,
      route: pay,
      bodyLimit: JSON_BODY_LIMIT_BYTES,
      log,
      sendError: (req, res, path, err) => {
        const answer = errorAnswer(err, res, `${req.method} ${path}`, log);
        if (answer !== undefined) sendJson(res, answer.status, answer.body);
      },
    }),
  );
  return app;
}

/**
 * The error answer to a failed request, its internal errors logged: undefined where nothing is
 * to be sent (a response already begun is ended, a destroyed one left); Retry-After already set.
 */
function errorAnswer(err: unknown, res: ServerResponse, request: string, log: (line: string) => void) {
  const { status, body } = toApiError(fromHttpError(err) ?? err);
  if (status >= 500 && body.category === 'internal') {
    const detail = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : typeof err;
    log(`${request}: internal error: ${detail}`);
  }
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return undefined;
  }
  if (res.destroyed) return undefined;
  if (err instanceof ApiRequestError && err.retryAfterS !== undefined)
    res.setHeader('Retry-After', String(err.retryAfterS));
  return { status, body };
}

/** Listens on host:port (default 127.0.0.1 and a free port). */
export function listenApi(app: express.Express, options: ListenOptions = {}): Promise<ApiListener> {
  const host = options.host ?? '127.0.0.1';
  const apps = [app];
  const server = createServer((req, res) => {
    const app = apps.at(-1)!;
    if (fastRoutesOf.get(app)?.(req, res) !== true) app(req, res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const hostPart = host.includes(':') ? `[${host}]` : host;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${hostPart}:${port}`,
        port,
        serve: (next) => void apps.push(next),
        close: () =>
          (closing ??= (async () => {
            const closed = new Promise<void>((done, fail) => server.close((e) => (e ? fail(e) : done())));
            for (const served of apps) await eventStreamsOf.get(served)?.closeAll();
            server.closeAllConnections();
            await closed;
          })()),
      });
    });
  });
}
