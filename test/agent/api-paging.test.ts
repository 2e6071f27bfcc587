// Paging of the REST API's lists: Alice's agent has 25 payments, messages, connections and
// channels; a client reads them a page at a time, oldest or newest first, and a malformed paging
// parameter is a 400 naming it that never reaches the node. A newest-first page of payments asks
// the node only for the newest it needs.
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import { newestNeeded, pageOf } from '../../src/agent/api/paging.js';
import type {
  AgentNodeApi,
  ChannelView,
  ConnectionView,
  MessageView,
  PaymentView,
} from '../../src/agent/node/types.js';

const TOKEN = 'tok-paging-5d1c9e2a7b3f4a6c8e0d2f4b6a8c0e1f';
const N = 25;

const payment = (i: number) =>
  ({ id: `p${i}`, channelId: '0xc', version: String(i) }) as unknown as PaymentView;
const message = (i: number) => ({ id: `m${i}`, content: `hello ${i}` }) as unknown as MessageView;
const connection = (i: number) => ({ id: `c${i}` }) as unknown as ConnectionView;
const channel = (i: number) => ({ id: `0x${i}` }) as unknown as ChannelView;
const range = <T>(f: (i: number) => T) => Array.from({ length: N }, (_, i) => f(i));

/** The parts of a node the list routes call, recording what the payments route asked for. */
function listingNode() {
  const asked: { channelId?: string; newest?: number }[] = [];
  const node = {
    async payments(channelId?: string, newest?: number) {
      asked.push({ channelId, newest });
      const all = range(payment);
      return newest === undefined ? all : all.slice(-newest);
    },
    async messages() {
      return range(message);
    },
    async connections() {
      return range(connection);
    },
    channels() {
      return range(channel);
    },
  };
  return { node: node as unknown as AgentNodeApi, asked };
}

let listener: ApiListener;
let asked: { channelId?: string; newest?: number }[];

beforeAll(async () => {
  const made = listingNode();
  asked = made.asked;
  listener = await listenApi(createApiServer(made.node, { token: TOKEN }), { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await listener.close();
});

async function get(path: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${listener.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, json: await res.json() };
}

const ids = (json: unknown) => (json as { id: string }[]).map((x) => x.id);

describe('a client reads the lists a page at a time', () => {
  it.each([
    ['/payments', 'p'],
    ['/messages', 'm'],
    ['/connections', 'c'],
    ['/channels', '0x'],
  ])(
    '%s: oldest first by default, whole; limit and offset cut it; reversed turns it',
    async (path, prefix) => {
      const name = (i: number) => `${prefix}${i}`;
      expect(ids((await get(path)).json)).toEqual(range(name));
      expect(ids((await get(`${path}?limit=10`)).json)).toEqual(range(name).slice(0, 10));
      expect(ids((await get(`${path}?limit=10&offset=20`)).json)).toEqual(range(name).slice(20));
      expect(ids((await get(`${path}?limit=3&reversed=true`)).json)).toEqual([name(24), name(23), name(22)]);
      expect(ids((await get(`${path}?offset=23&reversed=true`)).json)).toEqual([name(1), name(0)]);
      expect(ids((await get(`${path}?offset=30`)).json)).toEqual([]);
      expect(ids((await get(`${path}?reversed=false&limit=1`)).json)).toEqual([name(0)]);
    },
  );

  it('walking the newest-first pages of payments visits every payment once, newest first', async () => {
    const seen: string[] = [];
    for (let offset = 0; ; offset += 7) {
      const page = ids((await get(`/payments?reversed=true&limit=7&offset=${offset}`)).json);
      seen.push(...page);
      if (page.length < 7) break;
    }
    expect(seen).toEqual(range((i) => `p${i}`).reverse());
  });

  it('a newest-first page of payments asks the node only for the newest it shows or skips', async () => {
    asked.length = 0;
    await get('/payments?channelId=0xc&reversed=true&limit=5&offset=10');
    await get('/payments?limit=5');
    expect(asked).toEqual([
      { channelId: '0xc', newest: 15 },
      { channelId: undefined, newest: undefined },
    ]);
  });
});

describe('a malformed paging parameter is a 400 naming it, and the node is not asked', () => {
  it.each([
    ['limit=0', 'query.limit'],
    ['limit=1001', 'query.limit'],
    ['limit=-1', 'query.limit'],
    ['limit=ten', 'query.limit'],
    ['limit=1.5', 'query.limit'],
    ['offset=-3', 'query.offset'],
    ['reversed=yes', 'query.reversed'],
    ['reversed=1', 'query.reversed'],
    ['limit=1&limit=2', 'query.limit'],
    ['page=2', 'query.page'],
  ])('/payments?%s', async (query, field) => {
    asked.length = 0;
    const res = await get(`/payments?${query}`);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'INVALID_REQUEST', details: { field } });
    expect(asked).toEqual([]);
  });
});

describe('pageOf and newestNeeded', () => {
  it('cut a list as the query says and leave the list itself alone', () => {
    const list = [1, 2, 3, 4, 5];
    expect(pageOf(list, {})).toEqual([1, 2, 3, 4, 5]);
    expect(pageOf(list, { reversed: true, offset: 1, limit: 2 })).toEqual([4, 3]);
    expect(pageOf(list, { offset: 4, limit: 9 })).toEqual([5]);
    expect(list).toEqual([1, 2, 3, 4, 5]);
    expect(newestNeeded({ reversed: true, limit: 2 })).toBe(2);
    expect(newestNeeded({ reversed: true, offset: 3, limit: 2 })).toBe(5);
    expect(newestNeeded({ reversed: true })).toBeUndefined();
    expect(newestNeeded({ limit: 2 })).toBeUndefined();
  });
});
