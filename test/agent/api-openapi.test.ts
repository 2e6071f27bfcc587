// The REST API's /openapi.json: it documents exactly the routes that are served, names each
// operation once with who may call it, and describes the views and events the node answers.
import type express from 'express';
import type { NodeEvent } from '../../src/agent/node/types.js';
import {
  INVITATION,
  NEW_CONNECTION,
  CREDENTIAL,
  CHANNEL,
  PAYMENT,
  SETTLEMENT,
  PROPOSAL,
  MESSAGE,
  SALE,
  asJson,
  type Api,
  startApi,
  stopApis,
  call,
  SseReader,
} from './api-support.js';

afterAll(stopApis);

function servedRoutes(app: express.Express): string[] {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') {
            out.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
          }
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app.router as unknown as { stack: Layer[] }).stack);
  return out.sort();
}

type JsonSchema = Record<string, unknown>;

describe('/openapi.json', () => {
  let api: Api;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, JsonSchema>>;
    components: { schemas: Record<string, JsonSchema> };
  };
  beforeAll(async () => {
    api = await startApi();
    doc = (await call(api, 'GET', '/openapi.json', { token: null })).json as unknown as typeof doc;
  });

  const documented = () =>
    Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();

  it('documents exactly the routes the app serves', () => {
    expect(doc.openapi).toBe('3.1.0');
    const served = servedRoutes(api.app);
    expect(served.length).toBeGreaterThanOrEqual(23);
    expect(documented()).toEqual(served);
  });

  it('has every documented operation answered by a route, not by the 404', async () => {
    for (const op of documented()) {
      const [method, template] = op.split(' ') as [string, string];
      const path = template.replace(/\{\w+\}/g, 'x1');
      if (path === '/events') {
        const stream = await SseReader.open(api);
        expect(stream.response.status).toBe(200);
        await stream.cancel();
        continue;
      }
      const res = await call(api, method, path);
      expect([op, res.json?.code]).not.toEqual([op, 'NOT_FOUND']);
      expect([op, res.status]).not.toEqual([op, 404]);
    }
    await api.node.untilSubscribers(0);
  });

  it('names each operation once and says who may call it', () => {
    const ops = Object.values(doc.paths).flatMap((byMethod) => Object.values(byMethod));
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/openapi.json']!.get!.security).toEqual([]);
    expect(doc.paths['/events']!.get!.security).toEqual([{ bearerAuth: [] }, { queryToken: [] }]);
    expect(doc.paths['/channels']!.post!.requestBody).toMatchObject({
      required: true,
      content: {
        'application/json': {
          // fund, or assets for a channel of several assets or chains (the node refuses neither).
          schema: {
            required: ['connectionId'],
            properties: { fund: { type: 'string' }, assets: { type: 'array', minItems: 1 } },
            additionalProperties: false,
          },
        },
      },
    });
  });

  /** Checks that `value` has only the properties `schema` declares and all it requires. */
  function conforms(value: unknown, schema: JsonSchema, where: string): void {
    if (typeof schema.$ref === 'string') {
      const name = schema.$ref.replace('#/components/schemas/', '');
      conforms(value, doc.components.schemas[name]!, `${where}<${name}>`);
      return;
    }
    if (Array.isArray(schema.oneOf)) {
      const type = (value as { type: string }).type;
      const variant = (schema.oneOf as JsonSchema[]).find(
        (v) => (v.properties as Record<string, JsonSchema>).type!.const === type,
      );
      expect([where, type, variant !== undefined]).toEqual([where, type, true]);
      conforms(value, variant!, `${where}(${type})`);
      return;
    }
    if (schema.type === 'array') {
      expect([where, Array.isArray(value)]).toEqual([where, true]);
      (value as unknown[]).forEach((item, i) => conforms(item, schema.items as JsonSchema, `${where}[${i}]`));
      return;
    }
    if (schema.type === 'object' && schema.properties) {
      const properties = schema.properties as Record<string, JsonSchema>;
      const keys = Object.keys(value as object);
      expect([where, keys.filter((k) => !(k in properties))]).toEqual([where, []]);
      expect([where, (schema.required as string[]).filter((k) => !keys.includes(k))]).toEqual([where, []]);
      for (const k of keys) conforms((value as Record<string, unknown>)[k], properties[k]!, `${where}.${k}`);
      return;
    }
    const type = schema.type === 'integer' ? 'number' : schema.type;
    if (type !== undefined) expect([where, typeof value]).toEqual([where, type]);
  }

  it('describes the views the node answers', async () => {
    for (const op of documented()) {
      const [method, template] = op.split(' ') as [string, string];
      if (template === '/events' || template === '/openapi.json' || template === '/docs') continue;
      const res = await call(api, method, template.replace(/\{\w+\}/g, 'x1'), {
        body: method === 'POST' ? validBodies[template] : undefined,
      });
      expect([op, res.status < 300]).toEqual([op, true]);
      const responses = doc.paths[template]![method.toLowerCase()]!.responses as Record<string, JsonSchema>;
      const content = responses[String(res.status)]!.content as Record<string, { schema: JsonSchema }>;
      conforms(res.json, content['application/json']!.schema, op);
    }
  });

  it('describes every event the stream carries', () => {
    const events: NodeEvent[] = [
      { type: 'connection', connection: NEW_CONNECTION },
      { type: 'message-received', message: MESSAGE },
      { type: 'message-sent', message: MESSAGE },
      { type: 'credential-received', credential: CREDENTIAL },
      { type: 'proposal', proposal: PROPOSAL },
      { type: 'channel-opened', channel: CHANNEL },
      { type: 'channel-phase', channelId: '0xchannel', from: 'ACTING', to: 'CLOSING' },
      { type: 'payment-sent', payment: PAYMENT },
      { type: 'payment-received', payment: PAYMENT },
      { type: 'dispute', channelId: '0xchannel', version: '3', timeout: '1700000000', by: 'chain' },
      { type: 'settled', settlement: SETTLEMENT },
      { type: 'credential-sale', sale: SALE },
      { type: 'credential-sale', sale: { ...SALE, status: 'failed', reason: 'no funds' } },
      { type: 'warning', context: 'watcher', message: 'slow' },
      { type: 'warning', channelId: '0xchannel', context: 'watcher', message: 'slow' },
    ];
    const schema = doc.components.schemas.NodeEventWithId!;
    expect((schema.oneOf as unknown[]).length).toBe(new Set(events.map((e) => e.type)).size);
    events.forEach((e, i) =>
      conforms(asJson({ ...e, id: i + 1, at: '2025-01-02T03:04:05.000Z' }), schema, e.type),
    );
  });
});

const validBodies: Record<string, unknown> = {
  '/connections': { invitationUrl: INVITATION.url },
  '/credential-sales': { connectionId: 'conn-1', claims: '{"degree":"MSc"}', price: '0.05' },
  '/credentials/issue': { connectionId: 'conn-1', name: 'Bob', spendingLimit: '5' },
  '/credentials/request': { connectionId: 'conn-1', name: 'Bob' },
  '/credentials/sign': {
    subject: 'did:peer:2.bob',
    name: 'Bob',
    spendingLimit: '5',
    ethereumAddress: '0x0000000000000000000000000000000000000001',
  },
  '/credentials/import': { credential: '{}' },
  '/channels': { connectionId: 'conn-1', fund: '1' },
  '/channels/{id}/payments': { amount: '0.25' },
  '/channels/{id}/sub-channels': { fund: '0.25', peerFund: '0.1' },
  '/virtual-channels': { connectionId: 'conn-1', via: '0xchannel', fund: '0.5' },
  '/messages': { connectionId: 'conn-1', content: 'hello' },
};
