// Scoped API tokens beside the admin token (`api-token`): `read-only` (every GET and the event
// stream) and `payment` (read-only plus paying on existing channels). They live in the data
// directory's `api-tokens.json` as SHA-256 hashes with an ID, a scope, a name and a creation time,
// never as the tokens themselves; the token is shown once, when it is made. Writes replace the file
// atomically (a temporary file renamed over it) under a lock file, so a running agent never reads
// half a file and two CLI runs do not lose each other's tokens. A running agent's
// ScopedTokenFile looks at the file's identity (inode, size, times) on every check and reads it
// again when it changed: a revoked token is refused from the next request on.
import * as nodeCrypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ApiRequestError } from './api-error.js';

/** What a token may do; `admin` is the data directory's `api-token` alone. */
export type TokenScope = 'read-only' | 'payment' | 'admin';

/** The scopes `token create` makes. */
export const SCOPED_TOKEN_SCOPES = ['read-only', 'payment'] as const;
export type ScopedTokenScope = (typeof SCOPED_TOKEN_SCOPES)[number];

const RANK: Record<TokenScope, number> = { 'read-only': 0, payment: 1, admin: 2 };

/** Whether a token of scope `have` may call a route that needs `need`. */
export const scopeAllows = (have: TokenScope, need: TokenScope): boolean => RANK[have] >= RANK[need];

export const SCOPED_TOKENS_FILE = 'api-tokens.json';
const LOCK_FILE = 'api-tokens.lock';
/** A lock older than this is a crashed writer's: it is taken over. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 5_000;

/** A scoped token as stored and listed. */
export interface ScopedTokenRecord {
  /** `tok_` and 12 hex digits; names the token in `token list` and `token revoke`. */
  id: string;
  name: string;
  scope: ScopedTokenScope;
  createdAt: string;
  /** Hex SHA-256 of the token. */
  sha256: string;
}

export type ScopedTokenView = Omit<ScopedTokenRecord, 'sha256'>;

interface TokenFileContent {
  version: 1;
  tokens: ScopedTokenRecord[];
}

const PREFIX: Record<ScopedTokenScope, string> = { 'read-only': 'perun_ro_', payment: 'perun_pay_' };

/** Node's one-shot digest (20.12 and later): no Hash object per call, which every request's token check paid. */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer })
  .hash;

export const sha256 =
  typeof oneShot === 'function'
    ? (text: string): Buffer => oneShot('sha256', text, 'buffer')
    : (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const view = ({ sha256: _hash, ...rest }: ScopedTokenRecord): ScopedTokenView => rest;

function badFile(path: string, why: string): never {
  throw new Error(`${path}: ${why}`);
}

function parseTokenFile(path: string, text: string): ScopedTokenRecord[] {
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (err) {
    badFile(path, `not JSON (${(err as Error).message})`);
  }
  const tokens = (content as Partial<TokenFileContent> | null)?.tokens;
  if (!Array.isArray(tokens)) badFile(path, 'expected { "version": 1, "tokens": [...] }');
  for (const t of tokens as Partial<ScopedTokenRecord>[]) {
    const ok =
      typeof t.id === 'string' &&
      typeof t.name === 'string' &&
      typeof t.createdAt === 'string' &&
      (SCOPED_TOKEN_SCOPES as readonly unknown[]).includes(t.scope) &&
      typeof t.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(t.sha256);
    if (!ok) badFile(path, `malformed token entry ${JSON.stringify(t.id ?? null)}`);
  }
  return tokens as ScopedTokenRecord[];
}

function readTokens(dataDir: string): ScopedTokenRecord[] {
  const path = join(dataDir, SCOPED_TOKENS_FILE);
  if (!existsSync(path)) return [];
  return parseTokenFile(path, readFileSync(path, 'utf8'));
}

function writeTokens(dataDir: string, tokens: ScopedTokenRecord[]): void {
  const path = join(dataDir, SCOPED_TOKENS_FILE);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const content: TokenFileContent = { version: 1, tokens };
  writeFileSync(temp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  renameSync(temp, path);
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `change` on the stored tokens under the lock file and stores what it returns. */
function updateTokens<T>(
  dataDir: string,
  change: (tokens: ScopedTokenRecord[]) => { tokens: ScopedTokenRecord[]; result: T },
): T {
  if (!existsSync(join(dataDir, 'config.json'))) {
    throw new ApiRequestError(404, 'NOT_INITIALISED', `no agent in ${dataDir}: run perun-agent init first`, {
      dataDir,
    });
  }
  const lock = join(dataDir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another perun-agent; try again`);
      else pause(20);
    }
  }
  try {
    const { tokens, result } = change(readTokens(dataDir));
    writeTokens(dataDir, tokens);
    return result;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Makes a token of `scope`; the token itself is in the answer only. */
export function createScopedToken(
  dataDir: string,
  scope: ScopedTokenScope,
  name = '',
  now: Date = new Date(),
): ScopedTokenView & { token: string } {
  const token = PREFIX[scope] + randomBytes(32).toString('base64url');
  const record: ScopedTokenRecord = {
    id: `tok_${randomBytes(6).toString('hex')}`,
    name,
    scope,
    createdAt: now.toISOString(),
    sha256: sha256(token).toString('hex'),
  };
  updateTokens(dataDir, (tokens) => ({ tokens: [...tokens, record], result: undefined }));
  return { ...view(record), token };
}

export function listScopedTokens(dataDir: string): ScopedTokenView[] {
  return readTokens(dataDir).map(view);
}

/** Revokes the token that `id` names exactly or as a unique prefix; its view. */
export function revokeScopedToken(dataDir: string, id: string): ScopedTokenView {
  return updateTokens(dataDir, (tokens) => {
    const wanted = id.trim();
    const exact = tokens.filter((t) => t.id === wanted);
    const matches = exact.length > 0 ? exact : tokens.filter((t) => wanted !== '' && t.id.startsWith(wanted));
    if (matches.length === 0) throw new ApiRequestError(404, 'UNKNOWN_TOKEN', `no token "${id}"`, { id });
    if (matches.length > 1) {
      throw new ApiRequestError(
        400,
        'AMBIGUOUS_ID',
        `"${id}" matches ${matches.length} tokens; give more of the ID`,
        {
          id,
          matches: matches.map((t) => t.id),
        },
      );
    }
    const revoked = matches[0]!;
    return { tokens: tokens.filter((t) => t !== revoked), result: view(revoked) };
  });
}

/** Finds the scope of a presented token's hash; what the API server asks. */
export interface ScopedTokenSource {
  /** The token whose SHA-256 is `hash`, compared in constant time with every stored one. */
  lookup(hash: Buffer): { id: string; scope: ScopedTokenScope } | undefined;
}

/** The tokens of a data directory as a running agent sees them: read again whenever the file changed. */
export class ScopedTokenFile implements ScopedTokenSource {
  private readonly path: string;
  private seen = '';
  private tokens: { id: string; scope: ScopedTokenScope; hash: Buffer }[] = [];

  constructor(dataDir: string) {
    this.path = join(dataDir, SCOPED_TOKENS_FILE);
  }

  private refresh(): void {
    const stat = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    const identity = stat === undefined ? '' : `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
    if (identity === this.seen) return;
    // A file that cannot be read or parsed grants nothing (the admin token still works).
    let records: ScopedTokenRecord[] = [];
    if (stat !== undefined) {
      try {
        records = parseTokenFile(this.path, readFileSync(this.path, 'utf8'));
      } catch {
        records = [];
      }
    }
    this.tokens = records.map((t) => ({ id: t.id, scope: t.scope, hash: Buffer.from(t.sha256, 'hex') }));
    this.seen = identity;
  }

  lookup(hash: Buffer): { id: string; scope: ScopedTokenScope } | undefined {
    this.refresh();
    let found: { id: string; scope: ScopedTokenScope } | undefined;
    for (const t of this.tokens) {
      if (timingSafeEqual(t.hash, hash)) found = { id: t.id, scope: t.scope };
    }
    return found;
  }
}
