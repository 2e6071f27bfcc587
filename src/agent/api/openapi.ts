// The OpenAPI 3.1 document of the REST API, served at /openapi.json: paths, parameters and
// request bodies come from the route table (./routes.ts) and its field tables (./validate.ts);
// the response schemas (./openapi-schemas.ts) describe the view types of ../node/types.ts; the
// examples are ./openapi-examples.ts.
import { EVENT_EXAMPLE, REQUEST_EXAMPLES, VIEW_EXAMPLES } from './openapi-examples.js';
import { arrayOf, ref, SCHEMAS, type Schema } from './openapi-schemas.js';
import { API_ROUTES, openApiPath, pathParams, type ApiRoute } from './routes.js';
import { IDEMPOTENCY_KEY, type FieldSpec, type Fields } from './validate.js';

function fieldSchema(spec: FieldSpec): Schema {
  const base = { description: spec.description };
  switch (spec.type) {
    case 'string':
      return {
        type: 'string',
        minLength: 1,
        maxLength: spec.maxLength,
        ...(spec.format ? { format: spec.format } : {}),
        ...(spec.pattern ? { pattern: spec.pattern.source } : {}),
        ...base,
      };
    case 'amount':
      return { type: 'string', pattern: '^\\d+(\\.\\d{1,18})?$', ...base };
    case 'integer':
      return { type: 'integer', minimum: spec.minimum, maximum: spec.maximum, ...base };
    case 'address':
      return { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', ...base };
    case 'boolean':
      return { type: 'boolean', ...base };
    case 'list':
      return {
        type: 'array',
        items: bodySchema(spec.items),
        minItems: spec.minItems,
        maxItems: spec.maxItems,
        ...base,
      };
  }
}

function bodySchema(fields: Fields): Schema {
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(fields).map(([k, spec]) => [k, fieldSchema(spec)])),
    required: Object.entries(fields)
      .filter(([, spec]) => spec.required)
      .map(([k]) => k),
    additionalProperties: false,
  };
}

const errorResponse = (description: string): Schema => ({
  description,
  content: { 'application/json': { schema: ref('ApiError') } },
});

function operation(route: ApiRoute): Schema {
  const params = pathParams(route.path);
  const parameters: Schema[] = [
    ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...Object.entries(route.query).map(([name, spec]) => ({
      name,
      in: 'query',
      required: spec.required,
      description: spec.description,
      schema: fieldSchema(spec),
    })),
  ];
  const responses: Record<string, Schema> = {};
  let requestBody: Schema | undefined;

  switch (route.kind) {
    case 'json': {
      const { view, list } = route.response;
      responses[String(route.status)] = {
        description: view,
        content: {
          'application/json': {
            schema: list ? arrayOf(ref(view)) : ref(view),
            example: list ? [VIEW_EXAMPLES[view]] : VIEW_EXAMPLES[view],
          },
        },
      };
      if (route.idempotent) {
        parameters.push({
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Pays once per key: the same key with the same request answers the first result (also ' +
            'after a restart; kept 24 hours), joins it while it runs, and is refused (422 ' +
            'IDEMPOTENCY_KEY_REUSED) with another channel, amount or id.',
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source, minLength: 1, maxLength: 255 },
        });
        responses['409'] = errorResponse(
          "The key's earlier payment is still being signed (PAYMENT_IN_FLIGHT); retry with the same key",
        );
        responses['422'] = errorResponse(
          'The Idempotency-Key was used for another request (IDEMPOTENCY_KEY_REUSED; `details.differs`)',
        );
      }
      if (route.body !== undefined && Object.keys(route.body).length > 0) {
        const example = REQUEST_EXAMPLES[route.operationId];
        requestBody = {
          required: Object.values(route.body).some((spec) => spec.required),
          content: {
            'application/json': { schema: bodySchema(route.body), ...(example ? { example } : {}) },
          },
        };
      }
      break;
    }
    case 'events':
      parameters.push({
        name: 'Last-Event-ID',
        in: 'header',
        required: false,
        description: 'Replay the buffered events after this ID first (at most the newest 256).',
        schema: { type: 'integer', minimum: 0 },
      });
      responses['200'] = {
        description:
          'Server-sent events: `id: <n>`, `event: <type>`, `data: <NodeEventWithId JSON>` ' +
          '(#/components/schemas/NodeEventWithId); a `: keep-alive` comment every 15 s. ' +
          'A reader that lets 256 KiB go unsent is cut off and reconnects.',
        headers: {
          'X-Perun-Replayed-Until': {
            description: 'The ID of the newest replayed event (else the Last-Event-ID): later IDs are live.',
            schema: { type: 'integer', minimum: 0 },
          },
        },
        content: {
          'text/event-stream': {
            schema: { type: 'string' },
            example: `id: ${EVENT_EXAMPLE.id}\nevent: ${EVENT_EXAMPLE.type}\ndata: ${JSON.stringify(EVENT_EXAMPLE)}\n\n`,
          },
        },
      };
      responses['503'] = errorResponse(
        'TOO_MANY_EVENT_STREAMS: 32 streams are open, or 8 from this address; retry after `Retry-After` seconds',
      );
      break;
    case 'openapi':
      responses['200'] = {
        description: 'The OpenAPI 3.1 document',
        content: {
          'application/json': {
            schema: { type: 'object' },
            example: { openapi: '3.1.0', info: { title: 'perun-agent', version: '1' }, paths: {} },
          },
        },
      };
      break;
    case 'docs':
      responses['200'] = {
        description: 'An HTML page that reads /openapi.json and shows it; nothing loaded from elsewhere',
        content: { 'text/html': { schema: { type: 'string' } } },
      };
      break;
  }

  const validated = parameters.some((p) => p.in !== 'path') || requestBody !== undefined;
  if (validated || route.method === 'post') {
    responses['400'] = errorResponse('Invalid request (INVALID_REQUEST; `details.field` says which input)');
  }
  if (route.auth !== 'none') responses['401'] = errorResponse('Missing or wrong token (UNAUTHORIZED)');
  if (route.auth !== 'none' && route.scope !== 'read-only') {
    responses['403'] = errorResponse(
      `The token's scope is below \`${route.scope}\` (FORBIDDEN_SCOPE; \`details.scope\`, \`details.required\`)`,
    );
  }
  if (params.length > 0) responses['404'] = errorResponse('No such object');
  if (route.method === 'post') {
    responses['413'] = errorResponse('Body larger than 64 kB');
    responses['415'] = errorResponse('Body is not application/json');
  }
  if (route.kind === 'json') responses.default = errorResponse('Any other failure; the category says whose');

  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    ...(route.auth === 'none' ? {} : { 'x-perun-scope': route.scope }),
    ...(route.auth === 'none'
      ? { security: [] }
      : route.auth === 'bearer-or-query'
        ? { security: [{ bearerAuth: [] }, { queryToken: [] }] }
        : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of `routes`. */
export function buildOpenApiDocument(routes: readonly ApiRoute[] = API_ROUTES): Record<string, unknown> {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'perun-agent',
      version: '1',
      description:
        'A payment agent: DIDComm connections, peer credentials and Perun state channels on Ethereum. ' +
        'Amounts are decimal strings in ETH ("1.5"). Every failure is `{ category, code, message, details }`.',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The admin token of the agent (`<data dir>/api-token`), or a scoped token made with ' +
            '`perun-agent token create`: `read-only` (every GET and /events) or `payment` (read-only ' +
            'and paying on a channel). `x-perun-scope` on each operation names the least scope it needs.',
        },
        queryToken: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description: 'The API token, only on /events (EventSource cannot set headers).',
        },
      },
      schemas: SCHEMAS,
    },
  };
}

export const OPENAPI_DOCUMENT = buildOpenApiDocument();
