// The CLI's HTTP client for a running agent's REST API: where the agent is (flags, environment,
// data directory), JSON requests with the bearer token, error responses as CliErrors with exit
// codes, POSTs retried safely under an Idempotency-Key, and the /events stream (server-sent
// events) with reconnection.
//
// The default transport is node:http rather than the global fetch: undici's fetch gives up
// after 300 s without response headers, and `dispute` waits out the challenge duration.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { NodeEventWithId } from '../node/types.js';
import { parseSse } from '../client/sse.js';
import { CliError, EXIT, fromApiResponse } from './output.js';

export { parseSse, type SseMessage } from '../client/sse.js';

export const DEFAULT_DATA_DIR = '.perun-agent';

export interface Endpoint {
  /** Base URL without a trailing slash. */
  url: string;
  token: string | undefined;
  /** Where the URL came from, for error messages. */
  urlSource: string;
}

export interface EndpointFlags {
  apiUrl?: string;
  token?: string;
  dataDir?: string;
}

export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  return path.resolve(cwd, flag ?? (env.PERUN_DATA_DIR || DEFAULT_DATA_DIR));
}

const hostForUrl = (host: string) => {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
};

/** The agent's API URL and token: flags, else PERUN_API_URL / PERUN_API_TOKEN, else the data directory. */
export function resolveEndpoint(flags: EndpointFlags, env: NodeJS.ProcessEnv, cwd: string): Endpoint {
  const dataDir = resolveDataDir(flags.dataDir, env, cwd);
  let url = flags.apiUrl;
  let urlSource = '--api-url';
  if (url === undefined && env.PERUN_API_URL) {
    url = env.PERUN_API_URL;
    urlSource = 'PERUN_API_URL';
  }
  const runningFile = path.join(dataDir, 'api-url');
  if (url === undefined && existsSync(runningFile)) {
    // Written by a running agent: right also when it was started with another port than configured.
    url = readFileSync(runningFile, 'utf8').trim();
    urlSource = runningFile;
  }
  if (url === undefined) {
    const configFile = path.join(dataDir, 'config.json');
    if (!existsSync(configFile)) {
      throw new CliError(
        EXIT.UNREACHABLE,
        'transport',
        'NO_AGENT',
        `no agent to talk to: ${configFile} does not exist; give --api-url (or PERUN_API_URL), ` +
          `or --data-dir (or PERUN_DATA_DIR) of an agent made with "perun-agent init"`,
        { dataDir },
      );
    }
    let config: { apiHost?: unknown; apiPort?: unknown };
    try {
      config = JSON.parse(readFileSync(configFile, 'utf8')) as typeof config;
    } catch (err) {
      throw new CliError(EXIT.USAGE, 'client', 'INVALID_CONFIG', `cannot read ${configFile}: ${String(err)}`);
    }
    if (typeof config.apiPort !== 'number' && typeof config.apiPort !== 'string') {
      throw new CliError(EXIT.USAGE, 'client', 'INVALID_CONFIG', `${configFile} has no apiPort`);
    }
    const host = typeof config.apiHost === 'string' ? config.apiHost : '127.0.0.1';
    url = `http://${hostForUrl(host)}:${config.apiPort}`;
    urlSource = configFile;
  }
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new CliError(EXIT.USAGE, 'client', 'INVALID_API_URL', `not an http(s) URL (${urlSource}): ${url}`);
  }

  let token = flags.token ?? (env.PERUN_API_TOKEN || undefined);
  if (token === undefined) {
    const tokenFile = path.join(dataDir, 'api-token');
    if (existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim();
  }
  return { url: url.replace(/\/+$/, ''), token, urlSource };
}

/** fetch over node:http(s) with no response timeout; string bodies only. */
export const nodeFetch: typeof fetch = (input, init = {}) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') {
    return Promise.reject(new TypeError('nodeFetch sends string bodies only'));
  }
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = Object.fromEntries(new Headers(init.headers).entries());
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    const req = client.request(
      url,
      { method, headers, agent: false, signal: init.signal ?? undefined },
      (res) => {
        const status = res.statusCode ?? 500;
        const resHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) resHeaders.append(k, value);
        }
        const noBody = method === 'HEAD' || [204, 205, 304].includes(status);
        if (noBody) res.resume();
        resolve(
          new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage,
            headers: resHeaders,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body ?? undefined);
  });
};

const isAbort = (err: unknown) => err instanceof Error && err.name === 'AbortError';

export const interrupted = () =>
  new CliError(
    EXIT.INTERRUPTED,
    'transport',
    'INTERRUPTED',
    'interrupted before the agent answered; the agent carries on with what it was asked to do',
  );

/** How often `idempotentPost` sends a request at most. */
export const IDEMPOTENT_ATTEMPTS = 5;

export class ApiClient {
  constructor(
    readonly endpoint: Endpoint,
    private readonly fetchFn: typeof fetch,
    private readonly signal?: AbortSignal,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    if (this.endpoint.token === undefined) {
      throw new CliError(
        EXIT.UNAUTHORIZED,
        'client',
        'NO_TOKEN',
        'no API token: give --token (or PERUN_API_TOKEN), or --data-dir of the agent (its api-token file)',
      );
    }
    return { authorization: `Bearer ${this.endpoint.token}`, ...extra };
  }

  private unreachable(err: unknown): CliError {
    const cause = err instanceof Error ? ((err as { code?: string }).code ?? err.message) : String(err);
    return new CliError(
      EXIT.UNREACHABLE,
      'transport',
      'AGENT_UNREACHABLE',
      `cannot reach the agent at ${this.endpoint.url} (${cause}); is it running? (URL from ${this.endpoint.urlSource})`,
      { url: this.endpoint.url },
    );
  }

  private async send(path: string, init: RequestInit, signal = this.signal): Promise<Response> {
    if (signal?.aborted) throw interrupted();
    try {
      return await this.fetchFn(this.endpoint.url + path, { ...init, signal });
    } catch (err) {
      if (isAbort(err) || signal?.aborted) throw interrupted();
      throw this.unreachable(err);
    }
  }

  /** One JSON request; the parsed body, or a CliError for an error response. */
  async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const init: RequestInit = {
      method,
      headers: this.headers({
        ...(method === 'POST'
          ? { 'content-type': 'application/json', accept: 'application/json' }
          : { accept: 'application/json' }),
        ...extraHeaders,
      }),
    };
    if (method === 'POST') init.body = JSON.stringify(body ?? {});
    const res = await this.send(path, init);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (isAbort(err) || this.signal?.aborted) throw interrupted();
      throw this.unreachable(err);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      if (!res.ok) throw fromApiResponse(res.status, undefined);
      throw new CliError(
        EXIT.UNREACHABLE,
        'transport',
        'NOT_AN_AGENT',
        `${this.endpoint.url} answered ${method} ${path} with something other than JSON; is it a perun-agent API?`,
        { status: res.status, contentType: res.headers.get('content-type') },
      );
    }
    if (!res.ok) throw fromApiResponse(res.status, parsed);
    return parsed as T;
  }

  /**
   * A POST under an `Idempotency-Key`, sent again with the same key while the agent cannot be
   * reached, the connection breaks before the answer, or the agent says the key's earlier request
   * is still in flight: at most `attempts` times, `delayMs` apart (doubling, at most 8 s).
   */
  async idempotentPost<T>(
    path: string,
    body: unknown,
    idempotencyKey: string,
    o: { attempts?: number; delayMs?: number; onRetry?: (attempt: number, why: string) => void } = {},
  ): Promise<T> {
    const attempts = o.attempts ?? IDEMPOTENT_ATTEMPTS;
    const never = new AbortController().signal;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request<T>('POST', path, body, { 'idempotency-key': idempotencyKey });
      } catch (err) {
        const again =
          err instanceof CliError && (err.code === 'AGENT_UNREACHABLE' || err.code === 'PAYMENT_IN_FLIGHT');
        if (!again || attempt >= attempts) throw err;
        o.onRetry?.(attempt, err.message);
        await abortableDelay(Math.min((o.delayMs ?? 1000) * 2 ** (attempt - 1), 8_000), this.signal ?? never);
        if (this.signal?.aborted) throw interrupted();
      }
    }
  }

  /**
   * Follows /events until `signal` aborts (then returns). Reconnects with Last-Event-ID when the
   * stream ends or breaks after it was established; the first connection's failure is thrown.
   */
  async *events(o: {
    signal: AbortSignal;
    since?: string;
    reconnectDelayMs?: number;
    onReconnect?: (attempt: number, why: string) => void;
  }): AsyncGenerator<NodeEventWithId> {
    let lastId = o.since;
    let established = false;
    let delay = o.reconnectDelayMs ?? 1000;
    for (let attempt = 0; !o.signal.aborted; attempt++) {
      let why = 'the stream ended';
      try {
        const headers = this.headers({ accept: 'text/event-stream' });
        if (lastId !== undefined) headers['last-event-id'] = lastId;
        const res = await this.send('/events', { method: 'GET', headers }, o.signal);
        if (!res.ok) {
          const text = await res.text().catch(() => '');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          throw fromApiResponse(res.status, body);
        }
        if (res.body === null) throw this.unreachable(new Error('empty event stream'));
        established = true;
        attempt = 0;
        for await (const msg of parseSse(res.body)) {
          if (msg.id !== undefined) lastId = msg.id;
          if (msg.retry !== undefined) delay = msg.retry;
          let event: NodeEventWithId;
          try {
            event = JSON.parse(msg.data) as NodeEventWithId;
          } catch {
            continue;
          }
          yield event;
        }
      } catch (err) {
        if (o.signal.aborted || (err instanceof CliError && err.code === 'INTERRUPTED')) return;
        if (!established || (err instanceof CliError && err.category !== 'transport')) throw err;
        why = err instanceof Error ? err.message : String(err);
      }
      if (o.signal.aborted) return;
      o.onReconnect?.(attempt + 1, why);
      await abortableDelay(Math.min(delay * 2 ** Math.min(attempt, 4), 30_000), o.signal);
    }
  }
}

const abortableDelay = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
