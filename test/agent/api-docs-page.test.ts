// The /docs page and what it shows: the agent serves the page, its script and its style sheet
// without a token and under a policy that lets it load nothing from elsewhere; every operation of
// /openapi.json has what the viewer shows (summary, tag, scope, responses with schemas, examples
// of request bodies and answers), every request example passes the route's own input check, every
// example fits its schema, and every schema reference resolves.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { DOCS_PAGE_FILES } from '../../src/agent/api/docs-page.js';
import { OPENAPI_DOCUMENT } from '../../src/agent/api/openapi.js';
import { API_ROUTES, openApiPath } from '../../src/agent/api/routes.js';
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import { checkBody } from '../../src/agent/api/validate.js';
import type { AgentNodeApi } from '../../src/agent/node/types.js';

type Schema = Record<string, unknown>;
interface Media {
  schema?: Schema;
  example?: unknown;
}
interface Operation {
  operationId: string;
  summary?: string;
  tags?: string[];
  'x-perun-scope'?: string;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description?: string; content?: Record<string, Media> }>;
}

const doc = OPENAPI_DOCUMENT as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};
const operations = Object.entries(doc.paths).flatMap(([p, methods]) =>
  Object.entries(methods).map(([method, op]) => ({
    key: `${method.toUpperCase()} ${p}`,
    method,
    path: p,
    op,
  })),
);

let listener: ApiListener;
beforeAll(async () => {
  listener = await listenApi(createApiServer({} as AgentNodeApi, { token: 'docs-test-token' }), {
    host: '127.0.0.1',
    port: 0,
  });
});
afterAll(() => listener.close());

describe('GET /docs', () => {
  it('serves the page, its script and its style sheet without a token, loading nothing from elsewhere', async () => {
    for (const [route, { type }] of Object.entries(DOCS_PAGE_FILES)) {
      const res = await fetch(listener.url + route);
      expect([route, res.status, res.headers.get('content-type')?.split(';')[0]]).toEqual([route, 200, type]);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('content-security-policy')).not.toMatch(/https?:/);
      const text = await res.text();
      expect(text).not.toMatch(/https?:\/\//);
    }
    const html = await (await fetch(`${listener.url}/docs`)).text();
    const links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(links.sort()).toEqual(['/docs/viewer.css', '/docs/viewer.js', '/openapi.json']);
    const script = await (await fetch(`${listener.url}/docs/viewer.js`)).text();
    expect([...script.matchAll(/fetch\('([^']+)'\)/g)].map((m) => m[1])).toEqual(['/openapi.json']);
    expect(script).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
  });

  it('is a route of the table, so the REST table and /openapi.json name it', () => {
    expect(API_ROUTES.find((r) => r.path === '/docs')).toMatchObject({ method: 'get', auth: 'none' });
    expect(doc.paths['/docs']?.get?.responses['200']?.content?.['text/html']).toBeDefined();
  });
});

/** The component a `$ref` names; fails the test if there is none. */
function resolve(schema: Schema): Schema {
  if (typeof schema.$ref !== 'string') return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  const found = doc.components.schemas[name];
  if (found === undefined) throw new Error(`dangling $ref ${schema.$ref}`);
  return found;
}

/** Why `value` does not fit `schema` (the subset of JSON Schema the document uses); [] when it does. */
function misfits(value: unknown, schema: Schema, at = '$'): string[] {
  const s = resolve(schema);
  if (Array.isArray(s.oneOf)) {
    const fits = (s.oneOf as Schema[]).filter((v) => misfits(value, v, at).length === 0);
    return fits.length === 1 ? [] : [`${at}: fits ${fits.length} of oneOf`];
  }
  if (s.const !== undefined && value !== s.const) return [`${at}: not ${JSON.stringify(s.const)}`];
  if (Array.isArray(s.enum) && !s.enum.includes(value))
    return [`${at}: ${JSON.stringify(value)} not in enum`];
  switch (s.type) {
    case 'string':
      if (typeof value !== 'string') return [`${at}: not a string`];
      return typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value)
        ? [`${at}: not /${s.pattern}/`]
        : [];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at}: not an integer`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: not a boolean`];
    case 'array':
      if (!Array.isArray(value)) return [`${at}: not an array`];
      return value.flatMap((v, i) => misfits(v, s.items as Schema, `${at}[${i}]`));
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return [`${at}: not an object`];
      const props = (s.properties ?? {}) as Record<string, Schema>;
      const obj = value as Record<string, unknown>;
      const missing = ((s.required ?? []) as string[])
        .filter((k) => !(k in obj))
        .map((k) => `${at}.${k}: missing`);
      const extra =
        s.additionalProperties === false
          ? Object.keys(obj)
              .filter((k) => !(k in props))
              .map((k) => `${at}.${k}: not in the schema`)
          : [];
      const inner = Object.entries(obj).flatMap(([k, v]) =>
        props[k] ? misfits(v, props[k], `${at}.${k}`) : [],
      );
      return [...missing, ...extra, ...inner];
    }
    default:
      return [];
  }
}

describe('every operation has what the viewer shows', () => {
  it('covers the route table, one operation per route', () => {
    expect(operations.map((o) => o.key).sort()).toEqual(
      API_ROUTES.map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`).sort(),
    );
  });

  it.each(operations.map((o) => [o.key, o] as const))('%s', (_, { op, path: p, method }) => {
    const route = API_ROUTES.find((r) => openApiPath(r.path) === p && r.method === method)!;
    expect(op.summary).toBeTruthy();
    expect(op.tags?.[0]).toBeTruthy();
    expect(op['x-perun-scope']).toBe(route.auth === 'none' ? undefined : route.scope);

    const ok = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
    expect(ok).toHaveLength(1);
    for (const [, response] of Object.entries(op.responses)) expect(response.description).toBeTruthy();
    for (const [type, media] of Object.entries(ok[0]![1].content ?? {})) {
      expect(media.schema).toBeDefined();
      if (type === 'text/html') continue;
      expect([type, media.example === undefined]).toEqual([type, false]);
      expect(misfits(media.example, media.schema!)).toEqual([]);
    }

    if (route.kind === 'json' && route.body !== undefined && Object.keys(route.body).length > 0) {
      const media = op.requestBody?.content['application/json'];
      expect(media?.example).toBeDefined();
      expect(() => checkBody(route.body!, media!.example)).not.toThrow();
      expect(misfits(media!.example, media!.schema!)).toEqual([]);
    } else {
      expect(op.requestBody).toBeUndefined();
    }
  });

  it('every component schema with examples fits them, and every $ref resolves', () => {
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      for (const example of (schema.examples ?? []) as unknown[])
        expect([name, misfits(example, schema)]).toEqual([name, []]);
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(() => resolve({ $ref: ref })).not.toThrow();
  });

  it('the docs mention the page', () => {
    const agentDoc = readFileSync(path.join(process.cwd(), 'docs', 'agent.md'), 'utf8');
    expect(agentDoc).toContain('`GET /docs`');
  });
});
