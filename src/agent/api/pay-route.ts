// The payment route (`POST /channels/:id/payments`) served straight on node's HTTP server, without
// express's router, middleware chain and body parser: a sequential payment is one REST call, and
// express was most of its REST cost. It takes only the ordinary shape of that request: the path
// exactly as the route table writes it with a plain channel ID (no percent-encoding, no query
// string, lower case, no trailing slash), a JSON body with a Content-Length (not chunked) within
// JSON_BODY_LIMIT and no content encoding, and a bearer token whose scope may pay. Every other request, a
// refused token included, goes to the express app, which answers it as always. What it answers is
// what the express route answers: the same checks in the same order (strict JSON, then the query,
// the body's fields, the Idempotency-Key), the same handler, the same headers in the same order,
// the same JSON bodies and errors, the same log line.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { AgentNodeApi } from '../node/types.js';
import { stage } from '../../channels/stage-trace.js';
import { bearerTokenOf, type Authority } from './auth.js';
import type { JsonRoute } from './routes.js';
import { scopeAllows, sha256 } from './scoped-tokens.js';
import { checkBody, checkIdempotencyKey, checkQuery, invalid } from './validate.js';

/** Serves `req` and answers true, or answers false and leaves it untouched (express takes it). */
export type FastRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The headers every API response carries first (server.ts sets the same on express's). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** What express's `res.status(status).json(body)` writes, after the headers already set. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(json, 'utf8')));
  res.statusCode = status;
  res.end(json, 'utf8');
}

/** The path of a request to the route, its channel ID the only group: the ID's usual characters only. */
const PAY_PATH = /^\/channels\/([\w.~-]+)\/payments$/;
/** The media types express's JSON parser reads as UTF-8 JSON, lower-cased; any other goes to express. */
const JSON_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
]);
/** Body-parser's whitespace before a strict JSON body's `{` or `[`. */
const LEADING_SPACE = /^[ \t\n\r]*/;

/** A body as body-parser's strict JSON parser reads it; the API's 400 where it would fail. */
function parseStrictJson(bytes: Buffer): unknown {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = text[LEADING_SPACE.exec(text)![0].length];
  if (first !== '{' && first !== '[') throw invalid('(body)', 'not valid JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid('(body)', 'not valid JSON');
  }
}

export interface PayRouteOptions {
  node: AgentNodeApi;
  authority: Authority;
  route: JsonRoute;
  /** Largest body taken here, bytes (express's limit: a larger one goes there and is refused). */
  bodyLimit: number;
  log: (line: string) => void;
  /** The answer to a failed request: as the express app's error handler answers it. */
  sendError: (req: IncomingMessage, res: ServerResponse, path: string, err: unknown) => void;
}

/** The fast route of the payment route `o.route` (`/channels/:id/payments`). */
export function payRoute(o: PayRouteOptions): FastRoute {
  const { node, authority, route, bodyLimit, log, sendError } = o;
  const takes = (req: IncomingMessage): string | undefined => {
    if (req.method !== 'POST') return undefined;
    const match = PAY_PATH.exec(req.url ?? '');
    if (match === null) return undefined;
    const h = req.headers;
    if (h['content-encoding'] !== undefined) return undefined;
    const type = h['content-type'];
    if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return undefined;
    const length = h['content-length'];
    if (length === undefined || !/^[1-9]\d{0,9}$/.test(length) || Number(length) > bodyLimit)
      return undefined;
    const token = bearerTokenOf(h.authorization);
    if (token === undefined) return undefined;
    const scope = authority.scopeOf(sha256(token));
    if (scope === undefined || !scopeAllows(scope, route.scope)) return undefined;
    return match[1];
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, id: string, bytes: Buffer) => {
    const parsed = parseStrictJson(bytes);
    const query = checkQuery(route.query, {});
    const body = checkBody(route.body ?? {}, parsed);
    const idempotencyKey = checkIdempotencyKey(
      req.headers['idempotency-key'] as string | undefined,
      route.idempotent,
    );
    const result = await route.handle(node, {
      params: { id },
      query,
      body,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    if (res.destroyed || res.headersSent) return;
    stage('api.answer');
    sendJson(res, route.status, result);
  };

  return (req, res) => {
    const id = takes(req);
    if (id === undefined) return false;
    stage('api.pay');
    const started = process.hrtime.bigint();
    const path = req.url!;
    res.on('close', () => {
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      log(`POST ${path} ${res.statusCode} ${ms}ms`);
    });
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('error', () => res.destroy());
    req.once('end', () => {
      answer(req, res, id, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).catch((err: unknown) =>
        sendError(req, res, path, err),
      );
    });
    return true;
  };
}
