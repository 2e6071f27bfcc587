// Who may call a route: the bearer token (or `?token=` where the route takes it) is the admin
// token or a scoped token of the data directory (./scoped-tokens.ts), each compared in constant
// time as SHA-256 hashes; a token whose scope is below the route's is a 403 FORBIDDEN_SCOPE. The
// request's token stays in `res.locals` so that a long-lived response (the event stream) can ask
// whether it is still valid.
import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';

import { ApiRequestError } from './api-error.js';
import type { RouteAuth } from './routes.js';
import { scopeAllows, sha256, type ScopedTokenSource, type TokenScope } from './scoped-tokens.js';

export interface Authority {
  /** The scope of the token whose SHA-256 is `hash`; undefined for no token of ours. */
  scopeOf(hash: Buffer): TokenScope | undefined;
}

/** The admin token and, if given, the scoped tokens. */
export function tokenAuthority(adminToken: string, scoped?: ScopedTokenSource): Authority {
  const admin = sha256(adminToken);
  return {
    scopeOf(hash) {
      const isAdmin = timingSafeEqual(hash, admin);
      const other = scoped?.lookup(hash);
      return isAdmin ? 'admin' : other?.scope;
    },
  };
}

/** The token of an `Authorization` header: undefined without the header, '' for another scheme. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m?.[1] ?? '';
}

const bearerToken = (req: Request): string | undefined => bearerTokenOf(req.get('authorization'));

/** Whether the token of the request that `res` answers is still one of ours with its scope. */
export function stillAuthorised(res: Response): boolean {
  const check = res.locals.stillAuthorised as (() => boolean) | undefined;
  return check === undefined || check();
}

/** The middleware admitting requests to a route of `auth` that needs `scope`. */
export function authenticate(authority: Authority, auth: RouteAuth, scope: TokenScope): RequestHandler {
  return (req, res, next) => {
    if (auth === 'none') return next();
    let presented = bearerToken(req);
    if (presented === undefined && auth === 'bearer-or-query' && typeof req.query.token === 'string') {
      presented = req.query.token;
    }
    if (presented === undefined) {
      res.set('WWW-Authenticate', 'Bearer');
      return next(new ApiRequestError(401, 'UNAUTHORIZED', 'a bearer token is required'));
    }
    const hash = sha256(presented);
    const have = authority.scopeOf(hash);
    if (have === undefined) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return next(new ApiRequestError(401, 'UNAUTHORIZED', 'wrong token'));
    }
    if (!scopeAllows(have, scope)) {
      res.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
      return next(
        new ApiRequestError(403, 'FORBIDDEN_SCOPE', `a ${have} token may not ${req.method} ${req.path}`, {
          scope: have,
          required: scope,
        }),
      );
    }
    res.locals.stillAuthorised = () => {
      const now = authority.scopeOf(hash);
      return now !== undefined && scopeAllows(now, scope);
    };
    next();
  };
}
