// Fuzzing the REST API's input checks (fast-check): for every POST route of the route table,
// bodies built from its field table with each value replaced by arbitrary JSON, mutated by
// dropping and adding fields, and raw bytes that are not JSON; random paths and methods. The
// server never fails (no 5xx), a refusal is always a typed `{ category, code, message, details }`,
// and whatever reaches the node passed the field table: the right types, amounts that parse,
// addresses checksummed, no unknown fields.
import fc from 'fast-check';
import { getAddress, isAddress } from 'ethers';
import { parseAmount } from '../../src/agent/api/amounts.js';
import { API_ROUTES, type JsonRoute } from '../../src/agent/api/routes.js';
import { createApiServer, listenApi } from '../../src/agent/api/server.js';
import type { Fields, FieldSpec } from '../../src/agent/api/validate.js';
import type { AgentNodeApi } from '../../src/agent/node/types.js';

const TOKEN = 'fuzz-token-0123456789abcdef';
/** What the node was asked, by method name. */
const seen: { method: string; args: unknown[] }[] = [];

/** The node's methods that answer a list (the server pages it); `channels` answers at once. */
const LISTS = new Set(['connections', 'payments', 'messages']);

/** A node that records what reaches it and answers nothing useful (the server must not care). */
const node = new Proxy({} as AgentNodeApi, {
  get: (_, method: string) =>
    method === 'subscribe'
      ? () => () => undefined
      : (...args: unknown[]) => {
          seen.push({ method, args });
          if (method === 'channels') return [];
          return Promise.resolve(LISTS.has(method) ? [] : {});
        },
});

let api: Awaited<ReturnType<typeof listenApi>>;
beforeAll(async () => {
  api = await listenApi(createApiServer(node, { token: TOKEN }));
});
afterAll(() => api.close());

async function call(method: string, path: string, body?: string, contentType = 'application/json') {
  const res = await fetch(api.url + path, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': contentType }),
    },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

function expectTypedRefusalOrSuccess(r: { status: number; body: Record<string, unknown> | undefined }) {
  expect(r.status).toBeLessThan(500);
  if (r.status >= 400) {
    expect(Object.keys(r.body ?? {}).sort()).toEqual(['category', 'code', 'details', 'message']);
    expect(r.body!['category']).toBe('client');
  }
}

/** A value that satisfies `spec`. */
function validValue(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.type) {
    case 'string':
      return spec.format === 'date-time'
        ? fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString())
        : spec.format === 'uri'
          ? fc.webUrl()
          : fc.string({ minLength: 1, maxLength: Math.min(spec.maxLength, 50) });
    case 'amount':
      return fc.tuple(fc.nat(1_000_000), fc.nat(999_999)).map(([w, f]) => `${w + 1}.${f}`);
    case 'integer':
      return fc.integer({ min: spec.minimum, max: spec.maximum });
    case 'address':
      return fc
        .uint8Array({ minLength: 20, maxLength: 20 })
        .map((b) => '0x' + Buffer.from(b).toString('hex'));
    case 'boolean':
      return fc.boolean();
    case 'list':
      return fc.array(
        fc.record(Object.fromEntries(Object.entries(spec.items).map(([k, item]) => [k, validValue(item)]))),
        { minLength: spec.minItems, maxLength: Math.min(spec.maxItems, 3) },
      );
  }
}

/** A body for `fields`: each field valid, missing or arbitrary JSON; sometimes an extra field. */
function body(fields: Fields): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(fields).map(([k, spec]) =>
    fc.oneof(
      { weight: 3, arbitrary: validValue(spec).map((v) => [k, v] as const) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.jsonValue().map((v) => [k, v] as const) },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...entries),
      fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue())),
    )
    .map(([pairs, extra]) => {
      const o: Record<string, unknown> = {};
      for (const p of pairs) if (p !== undefined) o[p[0]] = p[1];
      if (extra !== null) o[extra[0]] = extra[1];
      return o;
    });
}

/**
 * Whether what reached the node fits the field table. A handler that passes the required fields
 * as arguments of their own (a payment's amount and ID) hands the rest as an options object: that
 * object holds only fields of the table (and the Idempotency-Key), each fitting its spec.
 */
function fits(fields: Fields, value: Record<string, unknown>, nested = false): boolean {
  const required = Object.entries(fields).filter(([, spec]) => spec.required);
  const options = !nested && required.length > 0 && required.every(([k]) => !(k in value));
  for (const k of Object.keys(value))
    if (!(k in fields) && !(options && k === 'idempotencyKey')) return false;
  for (const [k, spec] of Object.entries(fields)) {
    const v = value[k];
    if (v === undefined) {
      if (spec.required && !options) return false;
      continue;
    }
    if (!fitsSpec(spec, v)) return false;
  }
  return true;
}

/** Whether one value fits its spec (a list: each item an object fitting the list's fields). */
function fitsSpec(spec: FieldSpec, v: unknown): boolean {
  switch (spec.type) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= spec.minimum && v <= spec.maximum;
    case 'boolean':
      return typeof v === 'boolean';
    case 'list':
      return (
        Array.isArray(v) &&
        v.length >= spec.minItems &&
        v.length <= spec.maxItems &&
        v.every(
          (item: unknown) =>
            typeof item === 'object' &&
            item !== null &&
            !Array.isArray(item) &&
            fits(spec.items, item as Record<string, unknown>, true),
        )
      );
    case 'string':
      return typeof v === 'string' && v.length > 0 && v.length <= spec.maxLength;
    case 'address':
      return typeof v === 'string' && isAddress(v) && getAddress(v) === v;
    case 'amount':
      if (typeof v !== 'string') return false;
      try {
        parseAmount(v);
        return true;
      } catch {
        return false;
      }
  }
}

const concrete = (path: string) => path.replace(/:(\w+)/g, 'abc-123');
const postRoutes = API_ROUTES.filter((r): r is JsonRoute => r.kind === 'json' && r.method === 'post');

describe.each(postRoutes.map((r) => [`POST ${r.path}`, r] as const))('%s', (_, route) => {
  it('takes bodies that fit its field table and refuses the rest with a typed 400; never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body(route.body!), async (b) => {
        seen.length = 0;
        const r = await call('POST', concrete(route.path), JSON.stringify(b));
        expectTypedRefusalOrSuccess(r);
        if (r.status < 300) {
          expect(seen).toHaveLength(1);
          const reached = seen[0]!.args.find((a) => typeof a === 'object' && a !== null) as
            Record<string, unknown> | undefined;
          if (reached !== undefined && Object.keys(route.body!).length > 1)
            expect(fits(route.body!, reached)).toBe(true);
        } else {
          expect(seen).toHaveLength(0);
        }
      }),
      { numRuns: 150 },
    );
  }, 180_000); // 150 requests: minutes on a machine busy with other suites

  it('refuses bytes that are not a JSON object with a typed 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        async (raw) => {
          seen.length = 0;
          const r = await call('POST', concrete(route.path), raw);
          expectTypedRefusalOrSuccess(r);
          // An empty body stands for {} (routes without required fields take it).
          if (r.status < 300) expect(raw.trim() === '' || raw.trim().startsWith('{')).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

it('random paths and methods get typed answers, never a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      fc.array(
        fc.oneof(fc.constantFrom('channels', 'payments', 'proposals', '..', '%', '%2F'), fc.webSegment()),
        {
          maxLength: 4,
        },
      ),
      fc.option(fc.webQueryParameters()),
      async (method, segments, query) => {
        const path = '/' + segments.join('/') + (query === null ? '' : `?${query}`);
        const r = await call(method, path, method === 'GET' ? undefined : '{}');
        expectTypedRefusalOrSuccess(r);
      },
    ),
    { numRuns: 300 },
  );
});
