// The OpenAPI 3.1 document of the REST API, served at /openapi.json: paths, parameters and
// request bodies come from the route table (./routes.ts) and its field tables (./validate.ts);
// the response schemas below describe the view types of ../node/types.ts; the examples are
// ./openapi-examples.ts.
import { ERROR_EXAMPLE, EVENT_EXAMPLE, REQUEST_EXAMPLES, VIEW_EXAMPLES } from './openapi-examples.js';
import { API_ROUTES, openApiPath, pathParams, type ApiRoute, type ViewName } from './routes.js';
import { IDEMPOTENCY_KEY, type FieldSpec, type Fields } from './validate.js';

type Schema = Record<string, unknown>;

const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const eth = (description: string): Schema => ({
  type: 'string',
  pattern: '^\\d+(\\.\\d+)?$',
  description: `${description} Decimal ETH, such as "1.5".`,
});
const dateTime = (description?: string): Schema => ({ ...str(description), format: 'date-time' });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const arrayOf = (items: Schema): Schema => ({ type: 'array', items });

/** An object with exactly these properties; those named in `optional` may be absent. */
function object(properties: Record<string, Schema>, optional: string[] = [], description?: string): Schema {
  return {
    type: 'object',
    ...(description ? { description } : {}),
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  };
}

const TOKEN_BALANCE = object({
  asset: str(),
  token: str(),
  onChain: str('On chain, in token units.'),
  inChannels: str('Ours in open channels, in token units.'),
});

const PEER_CLAIMS_PROPERTIES = {
  ethereumAddress: str('The address the holder signs channel states with (empty for a TON address).'),
  backend: { type: 'string', enum: ['ton'], description: 'Absent: Ethereum.' },
  tonAddress: str("With backend ton: the holder's Ed25519 key."),
  name: str(),
  spendingLimit: eth('What the holder may put into a channel (TON with backend ton).'),
};

const EVENT_VARIANTS: Record<string, Record<string, Schema>> = {
  connection: { connection: ref('ConnectionView') },
  'message-received': { message: ref('MessageView') },
  'message-sent': { message: ref('MessageView') },
  'credential-received': { credential: ref('CredentialView') },
  proposal: { proposal: ref('ProposalView') },
  'channel-opened': { channel: ref('ChannelView') },
  'channel-phase': { channelId: str(), from: str(), to: str() },
  'payment-sent': { payment: ref('PaymentView') },
  'payment-received': { payment: ref('PaymentView') },
  dispute: {
    channelId: str(),
    version: str(),
    timeout: str(),
    by: { type: 'string', enum: ['us', 'chain'] },
  },
  settled: { settlement: ref('SettlementView') },
  'credential-sale': { sale: ref('CredentialSaleView') },
  warning: { channelId: str(), context: str(), message: str() },
};
const EVENT_OPTIONAL: Record<string, string[]> = { warning: ['channelId'] };

/** Response schemas, by view name, plus what they reference. */
const SCHEMAS: Record<ViewName | 'PeerClaimsView' | 'NodeEventWithId' | 'ApiError', Schema> = {
  AgentInfo: object(
    {
      label: str(),
      did: str('Our identity DID: our credential subject (each connection has its own pairwise DID).'),
      issuerDid: str('Our issuer DID (did:key), the DID verifiers list as trusted.'),
      address: str(),
      didcommEndpoint: str(),
      chainId: str(),
      adjudicator: str(),
      assetHolderETH: str('On TON: the Perun contract, which holds the Toncoin.'),
      backend: {
        type: 'string',
        enum: ['ethereum', 'ton'],
        description: 'The chain backend the node settles on.',
      },
      account: str('TON: the wallet that pays our calls and receives our withdrawals.'),
      assets: arrayOf(
        object(
          {
            symbol: str(),
            decimals: { type: 'integer' },
            holder: str(),
            token: str('Absent for ETH.'),
            chainId: str('The chain it lives on (decimal); each chain of the chain file has its own.'),
          },
          ['token', 'chainId'],
        ),
      ),
      trustedIssuers: arrayOf(str()),
      signer: {
        type: 'string',
        enum: ['native', 'noble', 'ed25519'],
        description: 'The secp256k1 engine that signs and verifies channel states; ed25519 on TON.',
      },
      mediation: {
        description: 'The mediator we are reached through, or what we serve as a mediator.',
        oneOf: [
          object(
            {
              role: { const: 'recipient' },
              mediator: str("The mediator's label."),
              connectionId: str('Our connection with the mediator.'),
              endpoint: str("The mediator's endpoint, which our DIDs and invitations name."),
              routingKeys: arrayOf(str()),
              pickup: { type: 'string', enum: ['live', 'polling'], description: 'Message pickup v2 mode.' },
              pollSeconds: { type: 'integer' },
              inbound: { type: 'boolean', description: 'Whether we listen for DIDComm ourselves too.' },
            },
            ['pollSeconds'],
          ),
          object({
            role: { const: 'mediator' },
            invitationUrl: str('The standing multi-use invitation recipients connect with.'),
            recipients: { type: 'integer' },
            queued: { type: 'integer', description: 'Messages waiting for their recipients.' },
            forwarded: { type: 'integer' },
            delivered: { type: 'integer' },
            refused: { type: 'integer' },
            keepDays: { type: 'integer' },
          }),
        ],
      },
    },
    ['mediation', 'backend', 'account'],
  ),
  InvitationView: object({
    id: str('The out-of-band record ID.'),
    url: str('The invitation in URL form (`?oob=`), what `POST /connections` takes.'),
  }),
  ConnectionView: object(
    {
      id: str(),
      theirLabel: str(),
      state: str(),
      ready: { type: 'boolean', description: 'True once DID exchange completed.' },
      ourDid: str(),
      theirDid: str(),
      createdAt: dateTime(),
    },
    ['theirLabel', 'ourDid', 'theirDid'],
  ),
  PeerClaimsView: object(PEER_CLAIMS_PROPERTIES, ['name', 'spendingLimit', 'backend', 'tonAddress']),
  CredentialView: object(
    {
      id: str(),
      issuer: str(),
      subject: str(),
      types: arrayOf(str()),
      claims: ref('PeerClaimsView'),
      issuanceDate: dateTime(),
      expirationDate: dateTime(),
    },
    ['expirationDate'],
  ),
  SignedCredentialView: object({ credential: str('The verifiable credential as JSON text.') }),
  ChannelView: object(
    {
      id: str(),
      connectionId: str('Our connection with the peer, if we still have it.'),
      peerDid: str(),
      peerLabel: str(),
      idx: { type: 'integer', description: 'Our index in the channel; 0: we proposed it.' },
      phase: str(
        "The channel machine's phase, as go-perun names it (Acting, Signing, Registered, Withdrawn, …).",
      ),
      status: {
        type: 'string',
        enum: [
          'proposed',
          'opening',
          'funding',
          'open',
          'updating',
          'closing',
          'disputing',
          'disputed',
          'withdrawing',
          'closed',
        ],
        description: 'The phase in a plain word.',
      },
      version: str(),
      asset: str("The channel's first asset (of most channels the only one): the unit of the balances."),
      chainId: str('The chain of the first asset.'),
      ourBalance: eth('Ours in the latest fully signed state.'),
      theirBalance: eth("The peer's in the latest fully signed state."),
      assets: arrayOf(
        object(
          {
            chainId: str(),
            asset: str("'ETH' or a token symbol."),
            token: str('Absent for ETH.'),
            ourBalance: str("Ours, in the asset's units."),
            theirBalance: str("The peer's, in the asset's units."),
          },
          ['token'],
          'One asset of the channel with its chain (a cross-chain channel has one per chain).',
        ),
      ),
      challengeDuration: { type: 'integer', description: 'Seconds.' },
      participants: arrayOf(str()),
      isFinal: { type: 'boolean' },
      parentId: str('The ledger channel that funds this sub-channel or virtual channel.'),
      virtual: { type: 'boolean', description: 'A virtual channel: funded through an intermediary.' },
      locked: eth('What its open sub-channels hold.'),
      queuedPayments: {
        type: 'integer',
        minimum: 0,
        description: 'Payments asked that wait for the next update (they go together in it).',
      },
      synced: {
        type: 'boolean',
        description:
          "Whether the channel's state was compared with the peer's since the agent started (restored channels sync in the background).",
      },
      challengeEndsAt: dateTime(
        "While a dispute runs (a state registered or progressed on chain, seen since the agent started): when its challenge duration ends, by the chain's clock.",
      ),
    },
    ['connectionId', 'peerLabel', 'parentId', 'challengeEndsAt', 'chainId', 'assets'],
  ),
  PaymentView: object(
    {
      id: str("Names the payment in both participants' histories."),
      channelId: str(),
      asset: str("'ETH' or a token symbol: the asset paid in, the unit of the amounts."),
      chainId: str('The chain of the asset paid in.'),
      version: str(),
      amount: eth('The payment.'),
      direction: { type: 'string', enum: ['sent', 'received'] },
      ourBalance: eth('Ours after the payment.'),
      theirBalance: eth("The peer's after the payment."),
      batch: {
        type: 'integer',
        minimum: 1,
        description:
          'How many payments the update that carried this one made (payments asked at once go together).',
      },
      at: dateTime(),
    },
    ['chainId'],
  ),
  SettlementView: object({
    channelId: str(),
    alreadySettled: {
      type: 'boolean',
      description:
        'The channel was settled before this call: `withdrawn` is what that settlement paid; nothing moved now.',
    },
    withdrawn: arrayOf(
      object(
        {
          asset: str(),
          chainId: str('The chain it was withdrawn on.'),
          amount: str("What the receiver got, in the asset's units."),
          receiver: str(),
        },
        ['chainId'],
      ),
    ),
  }),
  SignedStateView: object({
    channelId: str(),
    version: str(),
    params: { type: 'object', description: "Params in the channel core's wire JSON." },
    state: { type: 'object', description: "The state in the channel core's wire JSON." },
    sigs: arrayOf(str()),
  }),
  ProposalView: object(
    {
      id: str(),
      connectionId: str(),
      peerDid: str(),
      peerLabel: str(),
      claims: object(
        { ...PEER_CLAIMS_PROPERTIES, issuer: str() },
        ['name', 'spendingLimit', 'backend', 'tonAddress'],
        "The peer's verified credential claims.",
      ),
      asset: str("'ETH' (TON on a TON node) or a token symbol: the unit of the funds."),
      peerFund: eth('What the peer puts in.'),
      ourFund: eth('What the peer asks of us.'),
      assets: arrayOf(
        object(
          { chainId: str(), asset: str(), peerFund: str(), ourFund: str() },
          [],
          'Every asset of the proposed channel with its chain, in its units.',
        ),
      ),
      challengeDuration: { type: 'integer', description: 'Seconds.' },
      status: { type: 'string', enum: ['pending', 'accepted', 'rejected', 'expired'] },
      receivedAt: dateTime(),
      expiresAt: dateTime("When a proposal that waits for the user's decision expires undecided."),
    },
    ['connectionId', 'peerLabel', 'expiresAt', 'assets'],
  ),
  BalanceView: object(
    {
      address: str('The address that signs our channel states and pays for our transactions.'),
      account: str('TON: the wallet that pays our calls (onChain is its balance, in TON).'),
      onChain: eth('On chain (the primary chain; TON on a TON node).'),
      inChannels: eth('Ours in open channels (on the primary chain).'),
      channels: { type: 'integer' },
      tokens: arrayOf(TOKEN_BALANCE),
      chains: arrayOf(
        object(
          {
            chainId: str(),
            onChain: eth('On that chain.'),
            inChannels: eth('Ours in open channels on that chain.'),
            tokens: arrayOf(TOKEN_BALANCE),
          },
          [],
          'Of an agent on several chains, the same per chain (the primary first); absent with one chain.',
        ),
      ),
    },
    ['account', 'chains'],
  ),
  CredentialSaleView: object(
    {
      id: str(),
      role: { type: 'string', enum: ['issuer', 'holder'] },
      connectionId: str(),
      peerDid: str(),
      price: eth('What the holder pays.'),
      digest: str('keccak256 of the canonical JSON of the credential without its proof.'),
      status: {
        type: 'string',
        enum: ['offered', 'paying', 'paid', 'enforcing', 'delivered', 'settled', 'failed'],
      },
      credential: {
        type: 'object',
        description:
          "The credential; once delivered to the holder, with the issuer's signature as its proof.",
      },
      channelId: str('The pay-for-credential channel.'),
      reason: str('Why the sale failed.'),
    },
    ['channelId', 'reason'],
  ),
  MessageView: object({
    id: str(),
    connectionId: str(),
    content: str(),
    direction: { type: 'string', enum: ['sent', 'received'] },
    sentTime: dateTime(),
  }),
  NodeEventWithId: {
    description:
      'The `data` of each event on /events and the body of each webhook POST; `type` is also the SSE event name.',
    examples: [EVENT_EXAMPLE],
    oneOf: Object.entries(EVENT_VARIANTS).map(([type, properties]) =>
      object(
        { id: { type: 'integer' }, at: dateTime(), type: { const: type }, ...properties },
        EVENT_OPTIONAL[type] ?? [],
      ),
    ),
  },
  ApiError: {
    ...object({
      category: {
        type: 'string',
        enum: ['client', 'peer', 'protocol', 'chain', 'internal'],
        description: "Whose move it is: fix the request, the peer's, a broken rule, the chain, our fault.",
      },
      code: str('Machine-readable, UPPER_SNAKE.'),
      message: str(),
      details: { type: 'object', description: 'For INVALID_REQUEST: `field` names the offending input.' },
    }),
    examples: [ERROR_EXAMPLE],
  },
};

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
