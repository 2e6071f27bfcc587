// The typed REST client against the served API: it has a method for every route of the route
// table, with the same method and path (a route added without a client method fails here), and
// no method for a route that is not served; over a real API server on a stand-in node it reads
// views, pages lists, pays under an Idempotency-Key, follows the event stream, and turns error
// answers into PerunApiErrors with the API's category, code, message and details.
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import { API_ROUTES } from '../../src/agent/api/routes.js';
import { sha256, type ScopedTokenSource } from '../../src/agent/api/scoped-tokens.js';
import { PerunAgentClient, PerunApiError } from '../../src/agent/client/rest-client.js';
import { CLIENT_ROUTES, routePath, type OperationId } from '../../src/agent/client/routes.js';
import type {
  AgentInfo,
  AgentNodeApi,
  ChannelView,
  NodeEventWithId,
  PaymentView,
  PayOptions,
} from '../../src/agent/node/types.js';
import { ChannelClientError } from '../../src/channels/errors.js';

const ADMIN = 'tok-admin-rest-client-3b8e1f0a9c2d4e6f8a0b1c2d3e4f5a6b';
const READ_ONLY = 'tok-read-rest-client-7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f';

const channel = (i: number) =>
  ({ id: `0x${i}`, ourBalance: '1', theirBalance: '0' }) as unknown as ChannelView;

/** A node answering a few routes from memory, recording the payments it was asked for. */
function standInNode() {
  const paid: { channelId: string; amount: string; key: string | undefined }[] = [];
  const listeners = new Set<(e: NodeEventWithId) => void>();
  const node = {
    info: () => ({ label: 'Alice', did: 'did:peer:alice' }) as unknown as AgentInfo,
    channels: () => Array.from({ length: 5 }, (_, i) => channel(i)),
    channel(id: string) {
      if (id !== '0x1')
        throw new ChannelClientError('UNKNOWN_CHANNEL', `no channel ${id}`, { channelId: id });
      return channel(1);
    },
    async pay(channelId: string, amount: string, id?: string, o?: PayOptions) {
      paid.push({ channelId, amount, key: o?.idempotencyKey });
      const payment = { id: id ?? 'p-1', channelId, amount, direction: 'sent' } as unknown as PaymentView;
      for (const l of listeners) l({ type: 'payment-sent', payment, id: paid.length, at: 'now' });
      return payment;
    },
    subscribe(listener: (e: NodeEventWithId) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return { node: node as unknown as AgentNodeApi, paid, listeners };
}

const readOnlyTokens: ScopedTokenSource = {
  lookup: (hash) => (hash.equals(sha256(READ_ONLY)) ? { id: 'tok_r', scope: 'read-only' } : undefined),
};

let listener: ApiListener;
let standIn: ReturnType<typeof standInNode>;
const clients: PerunAgentClient[] = [];
const clientWith = (token: string) => {
  const c = new PerunAgentClient({ url: listener.url, token });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  standIn = standInNode();
  const app = createApiServer(standIn.node, { token: ADMIN, scopedTokens: readOnlyTokens });
  listener = await listenApi(app, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await listener.close();
});

describe('the client covers the route table', () => {
  it('has a method for every served route, with its method and path, and none for a route not served', () => {
    const client = new PerunAgentClient({ url: 'http://127.0.0.1:1', token: 't' });
    for (const route of API_ROUTES) {
      const op = route.operationId as OperationId;
      expect({ op, route: CLIENT_ROUTES[op] }).toEqual({
        op,
        route: { method: route.method.toUpperCase(), path: route.path },
      });
      expect(typeof (client as unknown as Record<string, unknown>)[op]).toBe('function');
    }
    expect(Object.keys(CLIENT_ROUTES).sort()).toEqual(API_ROUTES.map((r) => r.operationId).sort());
    client.close();
  });

  it('fills path parameters, encoded', () => {
    expect(routePath('pay', { id: '0xab/c' })).toBe('/channels/0xab%2Fc/payments');
    expect(() => routePath('getChannel')).toThrow('missing path parameter id');
  });
});

describe('the client against a served API', () => {
  it('reads views and pages lists', async () => {
    const client = clientWith(ADMIN);
    expect(await client.getInfo()).toMatchObject({ label: 'Alice', did: 'did:peer:alice' });
    expect((await client.listChannels({ limit: 2, offset: 1, reversed: true })).map((c) => c.id)).toEqual([
      '0x3',
      '0x2',
    ]);
    expect((await client.getChannel('0x1')).id).toBe('0x1');
    const doc = await client.getOpenApi();
    expect(Object.keys(doc.paths as object)).toContain('/channels/{id}/payments');
    expect(await client.getDocsPage()).toMatch(/<html/i);
  });

  it('pays under an Idempotency-Key and follows the payment on the event stream', async () => {
    const client = clientWith(ADMIN);
    const abort = new AbortController();
    const events = client.streamEvents({ signal: abort.signal });
    const first = events.next();
    while (standIn.listeners.size === 0) await new Promise((r) => setTimeout(r, 10));
    const payment = await client.pay('0x1', { amount: '0.25', id: 'inv-7' }, { idempotencyKey: 'k-7' });
    expect(payment).toMatchObject({ id: 'inv-7', channelId: '0x1', amount: '0.25' });
    expect(standIn.paid.at(-1)).toEqual({ channelId: '0x1', amount: '0.25', key: 'k-7' });
    const event = (await first).value as NodeEventWithId;
    expect(event).toMatchObject({ type: 'payment-sent', payment: { id: 'inv-7' } });
    abort.abort();
    expect((await events.next()).done).toBe(true);
  });

  it("turns error answers into PerunApiErrors with the API's fields", async () => {
    const admin = clientWith(ADMIN);
    const unknown = await admin.getChannel('0x9').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(PerunApiError);
    expect(unknown).toMatchObject({ status: 404, category: 'client', code: 'UNKNOWN_CHANNEL' });
    expect((unknown as PerunApiError).details).toMatchObject({ channelId: '0x9' });

    const invalid = await admin.pay('0x1', { amount: '-1' }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, category: 'client', details: { field: 'amount' } });

    const readOnly = clientWith(READ_ONLY);
    expect((await readOnly.listChannels()).length).toBe(5);
    await expect(readOnly.pay('0x1', { amount: '1' })).rejects.toMatchObject({
      status: 403,
      category: 'client',
    });
    await expect(clientWith('wrong').getInfo()).rejects.toMatchObject({ status: 401 });

    const nowhere = new PerunAgentClient({ url: 'http://127.0.0.1:1', token: ADMIN });
    clients.push(nowhere);
    await expect(nowhere.getInfo()).rejects.toMatchObject({
      status: 0,
      category: 'transport',
      code: 'AGENT_UNREACHABLE',
    });
  });
});
