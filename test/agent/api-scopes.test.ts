// Scoped API tokens: an owner makes a read-only token for a dashboard and a payment token for a
// shop. Every route of the table is called with each kind of token: a read-only token reaches
// every GET and the event stream and nothing else, a payment token also pays on a channel, the
// admin token reaches everything, and every refusal is a 403 FORBIDDEN_SCOPE that never reaches
// the node. The data directory keeps only hashes; tokens survive a restart of the server; a
// revoked token is refused at the next request, and its open event stream ends. The CLI makes,
// lists and revokes them.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { API_ROUTES, type ApiRoute } from '../../src/agent/api/routes.js';
import {
  SCOPED_TOKENS_FILE,
  ScopedTokenFile,
  createScopedToken,
  revokeScopedToken,
  type TokenScope,
} from '../../src/agent/api/scoped-tokens.js';
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import { EXIT } from '../../src/agent/cli/output.js';
import { runCli } from '../../src/agent/cli/program.js';
import type { AgentNodeApi, NodeEventWithId } from '../../src/agent/node/types.js';

const ADMIN = 'admin-token-8c1f0e2d4b6a8c0e1f3a5b7d9e0f2a4c';

/** A valid body for each POST route that takes one. */
const BODIES: Record<string, unknown> = {
  acceptInvitation: { invitationUrl: 'http://127.0.0.1:9000/?oob=eyJ9' },
  issueCredential: { connectionId: 'c1', name: 'Bob', spendingLimit: '5' },
  signCredential: {
    subject: 'did:peer:2.bob',
    name: 'Bob',
    spendingLimit: '5',
    ethereumAddress: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  },
  importCredential: { credential: '{}' },
  requestCredential: { connectionId: 'c1', name: 'Bob' },
  openChannel: { connectionId: 'c1', fund: '1' },
  openVirtualChannel: { connectionId: 'c1', via: '0xc', fund: '1' },
  openSubChannel: { fund: '0.5' },
  pay: { amount: '0.1' },
  offerCredential: { connectionId: 'c1', claims: '{"degree":"MSc"}', price: '0.05' },
  sendMessage: { connectionId: 'c1', content: 'hello' },
};

/** A node that answers every call with an empty list and counts the calls; events go to subscribers. */
function countingNode() {
  const calls: string[] = [];
  const listeners = new Set<(e: NodeEventWithId) => void>();
  const node = new Proxy({} as AgentNodeApi, {
    get: (_, name: string) => {
      if (name === 'then') return undefined;
      if (name === 'subscribe')
        return (listener: (e: NodeEventWithId) => void) => {
          calls.push(name);
          listeners.add(listener);
          return () => listeners.delete(listener);
        };
      return () => {
        calls.push(name);
        return [];
      };
    },
  });
  let next = 1;
  const emit = () => {
    const e = { type: 'warning', context: 't', message: 'm', id: next++, at: new Date().toISOString() };
    for (const l of listeners) l(e as NodeEventWithId);
  };
  return { node, calls, emit, listeners };
}

let dataDir: string;
let listener: ApiListener;
let served: ReturnType<typeof countingNode>;
let tokens: Record<'read-only' | 'payment' | 'revoked', string>;

async function serve(): Promise<ApiListener> {
  const app = createApiServer(served.node, { token: ADMIN, scopedTokens: new ScopedTokenFile(dataDir) });
  return listenApi(app, { host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'perun-scopes-'));
  writeFileSync(path.join(dataDir, 'config.json'), '{}\n');
  const revoked = createScopedToken(dataDir, 'read-only', 'old dashboard');
  tokens = {
    'read-only': createScopedToken(dataDir, 'read-only', 'dashboard').token,
    payment: createScopedToken(dataDir, 'payment', 'shop').token,
    revoked: revoked.token,
  };
  revokeScopedToken(dataDir, revoked.id);
  served = countingNode();
  listener = await serve();
});

afterAll(async () => {
  await listener.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const urlOf = (route: ApiRoute) => listener.url + route.path.replace(/:(\w+)/g, 'x$1');

/** Calls `route` with `token`; the status, the error body, and whether the node was reached. */
async function callRoute(route: ApiRoute, token: string | undefined) {
  const before = served.calls.length;
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  let body: string | undefined;
  if (route.method === 'post') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(BODIES[route.operationId] ?? {});
  }
  const ac = new AbortController();
  const res = await fetch(urlOf(route), {
    method: route.method.toUpperCase(),
    headers,
    body,
    signal: ac.signal,
  });
  const json = res.headers.get('content-type')?.startsWith('application/json')
    ? ((await res.json()) as { code?: string; details?: Record<string, unknown> })
    : undefined;
  ac.abort();
  return { status: res.status, json, reached: served.calls.length > before };
}

const kinds: TokenScope[] = ['read-only', 'payment', 'admin'];
const tokenOf = (kind: TokenScope) => (kind === 'admin' ? ADMIN : tokens[kind]);
const guarded = API_ROUTES.filter((r) => r.auth !== 'none');
/** What each kind of token may do, as the issue states it (not as the code computes it). */
const mayCall = (kind: TokenScope, r: ApiRoute) =>
  kind === 'admin' || r.method === 'get' || (kind === 'payment' && r.operationId === 'pay');

describe('the route table states each route scope', () => {
  it('every GET is read-only, paying is payment, every other POST is admin', () => {
    const expected = (r: ApiRoute): TokenScope =>
      (['read-only', 'payment', 'admin'] as const).find((kind) => mayCall(kind, r))!;
    expect(API_ROUTES.map((r) => [r.method, r.path, r.scope])).toEqual(
      API_ROUTES.map((r) => [r.method, r.path, expected(r)]),
    );
    expect(API_ROUTES.filter((r) => r.scope === 'payment').map((r) => r.path)).toEqual([
      '/channels/:id/payments',
    ]);
  });
});

describe.each(kinds)('a %s token', (kind) => {
  it.each(guarded.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    '%s: allowed exactly when its scope reaches the route',
    async (_, route) => {
      const r = await callRoute(route, tokenOf(kind));
      if (mayCall(kind, route)) {
        expect([r.status, r.reached]).toEqual([route.kind === 'json' ? route.status : 200, true]);
      } else {
        expect([r.status, r.json?.code, r.reached]).toEqual([403, 'FORBIDDEN_SCOPE', false]);
        expect(r.json?.details).toEqual({ scope: kind, required: route.scope });
      }
    },
  );
});

describe('tokens that are not ours', () => {
  it.each([
    ['a revoked token', () => tokens.revoked],
    ['no token', () => undefined],
    ['a made-up token', () => 'perun_ro_' + 'A'.repeat(43)],
  ])('%s gets 401 on every guarded route and reaches nothing', async (_, token) => {
    for (const route of guarded) {
      const r = await callRoute(route, token());
      expect([route.path, r.status, r.json?.code, r.reached]).toEqual([
        route.path,
        401,
        'UNAUTHORIZED',
        false,
      ]);
    }
  });

  it('the public routes need no token', async () => {
    for (const route of API_ROUTES.filter((r) => r.auth === 'none')) {
      expect((await callRoute(route, undefined)).status).toBe(200);
    }
  });
});

describe('the data directory keeps hashes, and the server reads them as they change', () => {
  it('holds no token itself, owner-only', () => {
    const file = path.join(dataDir, SCOPED_TOKENS_FILE);
    const text = readFileSync(file, 'utf8');
    for (const t of Object.values(tokens)) expect(text).not.toContain(t);
    const stored = JSON.parse(text) as { tokens: { scope: string; sha256: string; name: string }[] };
    expect(stored.tokens.map((t) => [t.scope, t.name, t.sha256.length])).toEqual([
      ['read-only', 'dashboard', 64],
      ['payment', 'shop', 64],
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a token made before a restart works after it', async () => {
    const again = await serve();
    try {
      const res = await fetch(`${again.url}/channels`, {
        headers: { authorization: `Bearer ${tokens.payment}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await again.close();
    }
  });

  it('a token made or revoked while the server runs counts from the next request', async () => {
    const made = createScopedToken(dataDir, 'payment', 'temp');
    const get = () =>
      fetch(`${listener.url}/balance`, { headers: { authorization: `Bearer ${made.token}` } });
    expect((await get()).status).toBe(200);
    revokeScopedToken(dataDir, made.id);
    expect((await get()).status).toBe(401);
  });

  it("a revoked token's open event stream ends at its next event", async () => {
    const made = createScopedToken(dataDir, 'read-only', 'stream');
    const res = await fetch(`${listener.url}/events?token=${made.token}`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    served.emit();
    while (!text.includes('event: warning')) text += decoder.decode((await reader.read()).value);
    revokeScopedToken(dataDir, made.id);
    served.emit();
    let done = false;
    while (!done) {
      const chunk = await reader.read();
      done = chunk.done;
      text += decoder.decode(chunk.value);
    }
    expect(text.match(/event: warning/g)).toHaveLength(1);
  });
});

describe('perun-agent token', () => {
  const cli = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, {
      io: {
        out: (t) => (stdout += t),
        err: (t) => (stderr += t),
        outIsTTY: false,
        errIsTTY: false,
        promptSecret: undefined,
      },
      env,
      cwd: dataDir,
      interrupt: new AbortController().signal,
      loadNode: () => Promise.reject(new Error('the node is not loaded in this test')),
    });
    return { code, stdout, stderr };
  };
  const run = (argv: string[]) => cli([...argv, '--data-dir', dataDir]);

  it('creates, lists and revokes; the token prints once and works at once', async () => {
    const made = await run(['token', 'create', '--scope', 'read-only', '--name', 'cli', '--json']);
    expect(made.code).toBe(EXIT.OK);
    const view = JSON.parse(made.stdout) as { id: string; token: string; scope: string; name: string };
    expect([view.scope, view.name, view.token.startsWith('perun_ro_')]).toEqual(['read-only', 'cli', true]);
    const list = await run(['token', 'list']);
    expect(list.stdout).toContain(view.id);
    expect(list.stdout).not.toContain(view.token);

    const env = { PERUN_API_URL: listener.url, PERUN_API_TOKEN: view.token };
    const invite = await cli(['invite', '--json'], env);
    expect(invite.code).toBe(EXIT.UNAUTHORIZED);
    expect(JSON.parse(invite.stdout)).toMatchObject({ code: 'FORBIDDEN_SCOPE' });

    const revoked = await run(['token', 'revoke', view.id.slice(0, 10)]);
    expect([revoked.code, revoked.stdout]).toEqual([EXIT.OK, `revoked ${view.id} (read-only, cli)\n`]);
    expect((await run(['token', 'list'])).stdout).not.toContain(view.id);
    const res = await fetch(`${listener.url}/info`, { headers: { authorization: `Bearer ${view.token}` } });
    expect(res.status).toBe(401);
  });

  it('refuses an unknown scope, an unknown ID, and a directory without an agent', async () => {
    expect((await run(['token', 'create', '--scope', 'admin'])).code).toBe(EXIT.USAGE);
    expect((await run(['token', 'revoke', 'tok_nothing'])).code).toBe(EXIT.NOT_FOUND);
    const empty = mkdtempSync(path.join(tmpdir(), 'perun-scopes-empty-'));
    try {
      const r = await cli(['token', 'create', '--scope', 'payment', '--data-dir', empty]);
      expect(r.code).toBe(EXIT.NOT_FOUND);
      expect(r.stderr).toContain('run perun-agent init first');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
