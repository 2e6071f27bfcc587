// The `fetch` of the agent's Credo dependencies. Credo's HTTP outbound transport posts every
// DIDComm message through it (a string body, one Content-Type header, an abort signal for its
// 15 s timeout) and reads the answer's text, which may carry a message on the return route. The
// global fetch (undici) costs about 2 ms a request on these machines with a p99 of tens of ms;
// these POSTs go on the agent's kept-alive node:http(s) sockets instead (the pool the lean path's
// carrier shares, src/agent/transport/keep-alive-agents.ts), answered with a standard Response.
// Everything else (other methods, other bodies, Request objects) goes to the global fetch.
import http from 'node:http';
import https from 'node:https';
import { keepAliveAgents, type KeepAliveAgents } from '../transport/keep-alive-agents.js';
/** Statuses whose Response has no body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function headersOf(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, name) => (out[name] = value));
  return out;
}

function responseHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A fetch that posts string bodies over the kept-alive sockets of `agents` (default a pool of its
 * own) and hands anything else to `fallback`.
 */
export function keepAliveFetch(
  fallback: typeof fetch = (input, init) => fetch(input, init),
  agents: KeepAliveAgents = keepAliveAgents(),
): typeof fetch {
  return (input, init) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
    const url = href === undefined ? undefined : new URL(href);
    if (
      url === undefined ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      init?.method?.toUpperCase() !== 'POST' ||
      typeof init.body !== 'string'
    )
      return fallback(input, init);
    const body = init.body;
    const signal = init.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: 'POST',
          agent: agents[url.protocol as 'http:' | 'https:'],
          headers: { ...headersOf(init.headers), 'content-length': String(Buffer.byteLength(body)) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            signal?.removeEventListener('abort', onAbort);
            const status = response.statusCode ?? 0;
            try {
              resolve(
                new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), {
                  status,
                  statusText: response.statusMessage ?? '',
                  headers: responseHeaders(response.headers),
                }),
              );
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
        },
      );
      const onAbort = () => {
        const reason = abortReason(signal!);
        request.destroy(reason instanceof Error ? reason : new Error(String(reason)));
        reject(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      });
      request.end(body);
    });
  };
}
