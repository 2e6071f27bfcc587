// The response schemas of the OpenAPI document (./openapi.ts): one per view type of
// ../node/types.ts, the event stream's variants and the error body, with their examples.
import { ERROR_EXAMPLE, EVENT_EXAMPLE } from './openapi-examples.js';
import type { ViewName } from './routes.js';

export type Schema = Record<string, unknown>;

const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const eth = (description: string): Schema => ({
  type: 'string',
  pattern: '^\\d+(\\.\\d+)?$',
  description: `${description} Decimal ETH, such as "1.5".`,
});
const dateTime = (description?: string): Schema => ({ ...str(description), format: 'date-time' });
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const arrayOf = (items: Schema): Schema => ({ type: 'array', items });

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
export const SCHEMAS: Record<ViewName | 'PeerClaimsView' | 'NodeEventWithId' | 'ApiError', Schema> = {
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
