// The REST API on this origin and the page's status line. The API token comes from the URL
// fragment (#token=..., then removed from the address bar), else from this tab's sessionStorage,
// else from the token field; it is kept in sessionStorage for this tab only.
import { $ } from './dom.js';

const TOKEN_KEY = 'perun-agent-token';

/** The token from #token=... (then removed from the address bar), else from this tab's storage. */
function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl !== null && fromUrl !== '') {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

let token = takeToken();

export const currentToken = () => token;

/** A token pasted by the user: the token itself or a whole page URL ending in #token=... */
export function useToken(pasted) {
  const text = pasted.trim();
  const hash = text.indexOf('#');
  const fromUrl = hash >= 0 ? new URLSearchParams(text.slice(hash + 1)).get('token') : null;
  token = fromUrl ?? text;
  sessionStorage.setItem(TOKEN_KEY, token);
  return token;
}

export function forgetToken() {
  token = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
}

export function setStatus(text, kind = 'info') {
  const s = $('status');
  s.textContent = text;
  s.dataset.kind = kind;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.category = body.category;
    this.code = body.code;
    this.details = body.details;
  }
}

/** An API error (or a network failure) in words: "message (CODE, field x)". */
export function describe(err) {
  if (err instanceof ApiError) {
    const field = err.details && typeof err.details.field === 'string' ? `, field ${err.details.field}` : '';
    return `${err.message} (${err.code}${field})`;
  }
  if (err instanceof TypeError) return `cannot reach the agent (${err.message})`;
  return err instanceof Error ? err.message : String(err);
}

export function showError(err, doing) {
  setStatus(doing ? `${doing} failed: ${describe(err)}` : describe(err), 'error');
}

/** The error a failed response carries (the API's `{ code, message }` body, else its HTTP status). */
export async function errorOf(res) {
  let json;
  try {
    json = await res.json();
  } catch {
    json = undefined;
  }
  const known = json && typeof json.code === 'string' && typeof json.message === 'string';
  return new ApiError(
    res.status,
    known
      ? json
      : { category: 'http', code: `HTTP_${res.status}`, message: res.statusText || 'request failed' },
  );
}

export const authHeaders = () => ({ Authorization: `Bearer ${token}` });

export async function api(method, path, body) {
  const headers = { ...authHeaders(), Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return text === '' ? undefined : JSON.parse(text);
}

/** A query string of the defined values: `?a=1&b=2`, or '' when none. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export const enc = encodeURIComponent;
