// What a running agent offers its users, as plain JSON-ready shapes: the node (./node.ts)
// implements `AgentNodeApi`, the REST API (../api) serves it, the CLI and the web page call the
// REST API. Amounts are exact decimal strings in asset units (ETH: "1.5"); IDs are strings.

export interface ConnectionView {
  id: string;
  /** The peer's label from the invitation or its request. */
  theirLabel: string | undefined;
  state: string;
  /** True once DID exchange completed. */
  ready: boolean;
  ourDid: string | undefined;
  theirDid: string | undefined;
  createdAt: string;
}

export interface InvitationView {
  /** The out-of-band record's ID. */
  id: string;
  /** The invitation in URL form (`?oob=`), what `accept-invitation` takes. */
  url: string;
}

export interface PeerClaimsView {
  /** Empty for a TON address. */
  ethereumAddress: string;
  /** A TON address (the holder's Ed25519 key); absent: Ethereum. */
  backend?: 'ton';
  tonAddress?: string;
  name: string | undefined;
  /** ETH, or TON with backend ton. */
  spendingLimit: string | undefined;
}

export interface CredentialView {
  id: string;
  issuer: string;
  subject: string;
  types: string[];
  claims: PeerClaimsView;
  issuanceDate: string;
  expirationDate: string | undefined;
}

export interface IssueCredentialRequest {
  connectionId: string;
  name: string;
  /** ETH. */
  spendingLimit: string;
  /** Default: the address the holder proves control of when asked (EIP-191 address proof). */
  ethereumAddress?: string;
  /** ISO 8601; default: no expiry. */
  expirationDate?: string;
}

/** Issuer role, outside DIDComm: a signed peer credential for a holder to import. */
export interface SignCredentialRequest {
  /** The holder's DID (its identity DID, `info.did`). */
  subject: string;
  name: string;
  /** ETH. */
  spendingLimit: string;
  ethereumAddress: string;
  /** ISO 8601; default now. */
  issuanceDate?: string;
  /** ISO 8601; default: no expiry. */
  expirationDate?: string;
}

export interface SignedCredentialView {
  /** The verifiable credential as JSON text (what `POST /credentials/import` takes). */
  credential: string;
}

export type ChannelPhaseName = string;

export type ChannelStatus =
  | 'proposed'
  | 'opening'
  | 'funding'
  | 'open'
  | 'updating'
  | 'closing'
  | 'disputing'
  | 'disputed'
  | 'withdrawing'
  | 'closed';

export interface ChannelView {
  id: string;
  /** Our connection with the peer, if we still have it. */
  connectionId: string | undefined;
  peerDid: string;
  peerLabel: string | undefined;
  /** 0 = we proposed the channel. */
  idx: number;
  phase: ChannelPhaseName;
  /** The phase in a plain word: proposed, opening, funding, open, updating, closing, disputing, disputed, withdrawing, closed. */
  status: ChannelStatus;
  version: string;
  /** The channel's first asset (of most channels the only one); the balances are its. */
  asset: string;
  /** The chain of the first asset; set by an agent on several chains. */
  chainId?: string;
  /** Ours and the peer's in the latest fully signed state, in the first asset's units. */
  ourBalance: string;
  theirBalance: string;
  /** Every asset of the channel with its chain; set for a channel of several assets and by an agent on several chains. */
  assets?: ChannelAssetView[];
  challengeDuration: number;
  participants: string[];
  isFinal: boolean;
  /** The ledger channel that funds this sub-channel or (ours with the intermediary) this virtual channel. */
  parentId?: string;
  /** A virtual channel: funded through an intermediary, paid directly. */
  virtual: boolean;
  /** What this channel's sub-channels hold, in the asset's units ("0" when none is open). */
  locked: string;
  /** Payments asked that wait for the next update (they go together in it). */
  queuedPayments: number;
  /** Whether the channel's state was compared with the peer's since the agent started. */
  synced: boolean;
  /**
   * While a dispute runs (a state registered or progressed on chain, seen since the agent
   * started): when its challenge duration ends, by the chain's clock (ISO 8601).
   */
  challengeEndsAt?: string;
}

/** One asset of a channel: its chain, what it is, ours and the peer's share in its units. */
export interface ChannelAssetView {
  chainId: string;
  /** 'ETH' or the token's symbol. */
  asset: string;
  /** The token's address; absent for ETH. */
  token?: string;
  ourBalance: string;
  theirBalance: string;
}

export interface OpenVirtualChannelRequest {
  /** Our connection with the other participant (its credential is checked first). */
  connectionId: string;
  /** Our ledger channel with the intermediary; the peer needs one with the same intermediary. */
  via: string;
  /** What we put in, in the asset's units. */
  fund: string;
  /** What the peer puts in; default "0". */
  peerFund?: string;
}

export interface OpenSubChannelRequest {
  /** What we move from the parent into the sub-channel, in the asset's units. */
  fund: string;
  /** What the peer moves; default "0". */
  peerFund?: string;
}

export interface OpenChannelRequest {
  connectionId: string;
  /** What we put in, in the asset's units (not with `assets`). */
  fund?: string;
  /** What the peer puts in; default "0". */
  peerFund?: string;
  /** "ETH" (default), a token symbol or a token address. */
  asset?: string;
  /** Seconds; default from the config. */
  challengeDuration?: number;
  /** A channel of several assets, on one chain or several (not with fund, peerFund, asset). */
  assets?: OpenChannelAsset[];
}

/** One asset of a new channel: its chain, what it is, and what each side puts in. */
export interface OpenChannelAsset {
  /** The chain ID (decimal), one of the agent's chain file. */
  chainId: string;
  /** "ETH", a token symbol or a token address of that chain. */
  asset: string;
  /** What we put in, in the asset's units. */
  fund: string;
  /** What the peer puts in; default "0". */
  peerFund?: string;
}

export interface PaymentView {
  /** Names the payment in both participants' histories. */
  id: string;
  channelId: string;
  /** The asset paid in ('ETH' or a token symbol); amounts are in its units. */
  asset: string;
  /** The chain of that asset; set by an agent on several chains. */
  chainId?: string;
  version: string;
  amount: string;
  direction: 'sent' | 'received';
  ourBalance: string;
  theirBalance: string;
  /** How many payments the update that carried this one made. */
  batch: number;
  at: string;
}

export interface SettlementView {
  channelId: string;
  /** The channel was withdrawn before this call: `withdrawn` says what that withdrawal paid, nothing moved now. */
  alreadySettled: boolean;
  /** What each of our receivers got, in each asset's units (with its chain on an agent on several chains). */
  withdrawn: { asset: string; chainId?: string; amount: string; receiver: string }[];
}

/** The latest state every participant signed, with the signatures: what a backup or an audit keeps. */
export interface SignedStateView {
  channelId: string;
  version: string;
  /** Params and state in the wire JSON of the channel core (bigints as decimal strings). */
  params: Record<string, unknown>;
  state: Record<string, unknown>;
  /** One signature per participant, in participant order. */
  sigs: string[];
}

export interface BalanceView {
  /** The address that signs our channel states and pays for our transactions. */
  address: string;
  /** TON: the wallet that pays our calls; `onChain` is its balance. */
  account?: string;
  /** ETH on chain (TON on a TON node). */
  onChain: string;
  /** ETH of ours in open channels. */
  inChannels: string;
  /** Open channels, of every asset. */
  channels: number;
  /** The same for every token of the chain file, in its units. */
  tokens: { asset: string; token: string; onChain: string; inChannels: string }[];
  /** Of a chain file naming several chains, the same per chain (the primary first); absent with one chain. */
  chains?: ChainBalanceView[];
}

/** Our ETH and tokens on one chain and in the channel assets on it. */
export interface ChainBalanceView {
  chainId: string;
  onChain: string;
  inChannels: string;
  tokens: { asset: string; token: string; onChain: string; inChannels: string }[];
}

export interface MessageView {
  id: string;
  connectionId: string;
  content: string;
  /** 'sent' or 'received'. */
  direction: 'sent' | 'received';
  sentTime: string;
}

export interface ProposalView {
  id: string;
  connectionId: string | undefined;
  peerDid: string;
  peerLabel: string | undefined;
  /** The peer's verified credential claims. */
  claims: PeerClaimsView & { issuer: string };
  /** The channel's (first) asset; the funds are in its units. */
  asset: string;
  /** What the peer puts in, and what it asks of us. */
  peerFund: string;
  ourFund: string;
  /** Every asset of the proposed channel with its chain and the funds each side puts in; set for several assets or chains. */
  assets?: { chainId: string; asset: string; peerFund: string; ourFund: string }[];
  challengeDuration: number;
  /** Where the proposal stands. */
  status: 'pending' | 'accepted' | 'rejected' | 'expired';
  receivedAt: string;
  /** When a proposal that waits for the user's decision expires undecided (ISO 8601). */
  expiresAt?: string;
}

export interface AgentInfo {
  label: string;
  /** Our identity DID: our credential's subject (each connection has its own pairwise DID). */
  did: string;
  /** Our issuer DID (did:key), the DID verifiers list as trusted. */
  issuerDid: string;
  address: string;
  didcommEndpoint: string;
  chainId: string;
  adjudicator: string;
  /** On TON: the Perun contract, which holds the Toncoin. */
  assetHolderETH: string;
  /** The chain backend the node settles on (./ledger.ts). */
  backend?: 'ethereum' | 'ton';
  /** TON: the wallet that pays our calls and receives our withdrawals. */
  account?: string;
  /** What channels can hold: ETH and the chain file's tokens, on each of its chains. */
  assets: { symbol: string; decimals: number; holder: string; token?: string; chainId?: string }[];
  trustedIssuers: string[];
  /** The secp256k1 engine that signs and verifies channel states (PERUN_SECP256K1). */
  signer: 'native' | 'noble' | 'ed25519';
  /** The mediator we are reached through, or what we serve as a mediator; absent: neither. */
  mediation?: MediationView;
}

/** An agent's mediation role as `info` shows it. */
export type MediationView =
  | {
      role: 'recipient';
      /** The mediator's label. */
      mediator: string;
      /** Our connection with the mediator. */
      connectionId: string;
      /** The mediator's endpoint: what our DIDs and invitations name. */
      endpoint: string;
      /** The mediator's routing keys (base58) our DIDs name. */
      routingKeys: string[];
      /** 'live': pickup v2 live mode over WebSocket; 'polling': pickup v2 every pollSeconds. */
      pickup: 'live' | 'polling';
      pollSeconds?: number;
      /** Whether we listen for DIDComm ourselves too. */
      inbound: boolean;
    }
  | {
      role: 'mediator';
      /** The standing multi-use invitation recipients connect with. */
      invitationUrl: string;
      /** Agents granted mediation. */
      recipients: number;
      /** Messages waiting for their recipients. */
      queued: number;
      /** Messages queued, acknowledged by recipients, refused (a full queue) since the start. */
      forwarded: number;
      delivered: number;
      refused: number;
      /** Days a message waits for its recipient. */
      keepDays: number;
    };

/** What the event stream (`/events`) carries. */
export interface PayOptions {
  /** The request's `Idempotency-Key`: the same key pays once and answers the same. */
  idempotencyKey?: string;
  /** Of a channel with several assets, the one paid in: 'ETH', a token symbol or address (default: the first). */
  asset?: string;
  /** With `asset`: its chain, where the channel holds that asset on several chains. */
  chainId?: string;
}

/** A credential sold over a pay-for-credential app channel, as the issuer or the holder sees it. */
export interface CredentialSaleView {
  id: string;
  role: 'issuer' | 'holder';
  connectionId: string;
  peerDid: string;
  /** ETH. */
  price: string;
  /** credentialDigest of the credential: what the app channel locks the price against. */
  digest: string;
  /**
   * offered → paying (holder: the channel opens) → paid (issuer: its signature took the price) or
   * enforcing (issuer: progressing it on chain) → delivered (holder: the credential is complete) →
   * settled; failed when the holder's channel did not open.
   */
  status: 'offered' | 'paying' | 'paid' | 'enforcing' | 'delivered' | 'settled' | 'failed';
  /** The credential; once delivered (holder), with the issuer's signature as its proof. */
  credential: Record<string, unknown>;
  channelId?: string;
  reason?: string;
}

export interface OfferCredentialRequest {
  connectionId: string;
  /** The claims about the holder, a JSON object as text. */
  claims: string;
  /** ETH. */
  price: string;
}

export type NodeEvent =
  | { type: 'connection'; connection: ConnectionView }
  | { type: 'message-received'; message: MessageView }
  | { type: 'message-sent'; message: MessageView }
  | { type: 'credential-received'; credential: CredentialView }
  | { type: 'proposal'; proposal: ProposalView }
  | { type: 'channel-opened'; channel: ChannelView }
  | { type: 'channel-phase'; channelId: string; from: string; to: string }
  | { type: 'payment-sent' | 'payment-received'; payment: PaymentView }
  /** A state of the channel was registered or (an app channel) progressed on chain. */
  | { type: 'dispute'; channelId: string; version: string; timeout: string; by: 'us' | 'chain' }
  | { type: 'settled'; settlement: SettlementView }
  | { type: 'credential-sale'; sale: CredentialSaleView }
  | { type: 'warning'; channelId?: string; context: string; message: string };

export type NodeEventWithId = NodeEvent & { id: number; at: string };

export interface AgentNodeApi {
  info(): AgentInfo;

  createInvitation(): Promise<InvitationView>;
  /** Accepts an invitation URL and waits until the connection is ready. */
  acceptInvitation(url: string): Promise<ConnectionView>;
  connections(): Promise<ConnectionView[]>;
  connection(id: string): Promise<ConnectionView>;
  /** Sends the peer a trust ping asking for a response and waits for it (Credo's pipeline both ways). */
  pingConnection(id: string): Promise<ConnectionView>;

  credentials(): Promise<CredentialView[]>;
  /** Issuer role: signs a peer credential for the holder on the connection and delivers it. */
  issueCredential(req: IssueCredentialRequest): Promise<CredentialView>;
  /** Holder role: asks the issuer on the connection for a peer credential (name as claimed). */
  requestCredential(connectionId: string, name: string): Promise<CredentialView>;
  /** Issuer role: signs a peer credential without sending it. */
  signCredential(req: SignCredentialRequest): Promise<SignedCredentialView>;
  /** Holder role: stores a peer credential obtained outside DIDComm (its subject must be our DID). */
  importCredential(credential: string): Promise<CredentialView>;

  channels(): ChannelView[];
  channel(id: string): ChannelView;
  /** Verifies the peer's credential, proposes, waits until the channel is funded. */
  openChannel(req: OpenChannelRequest): Promise<ChannelView>;
  /** Opens a sub-channel funded by an update of the ledger channel `parentId`. */
  openSubChannel(parentId: string, req: OpenSubChannelRequest): Promise<ChannelView>;
  /** Opens a virtual channel with a peer through the intermediary of one of our ledger channels. */
  openVirtualChannel(req: OpenVirtualChannelRequest): Promise<ChannelView>;
  /**
   * Pays `amount` (ETH) under `id` (default a fresh UUID); resolves once the state that contains it
   * is fully signed. With an idempotency key, pays once per key (./idempotent-payments.ts).
   */
  pay(channelId: string, amount: string, id?: string, options?: PayOptions): Promise<PaymentView>;
  /** Cooperative close: final state, concludeFinal, withdrawal. */
  close(channelId: string): Promise<SettlementView>;
  /** Registers the latest state on chain, waits out the challenge duration, withdraws. */
  dispute(channelId: string): Promise<SettlementView>;
  /** Oldest first, at most the `newest` (default 10,000) newest; kept across restarts. */
  payments(channelId?: string, newest?: number): Promise<PaymentView[]>;
  signedState(channelId: string): Promise<SignedStateView>;

  proposals(): ProposalView[];
  decideProposal(id: string, accept: boolean, reason?: string): Promise<ProposalView>;

  balance(): Promise<BalanceView>;

  /** Issuer role: offers the holder on the connection a credential for a price, over DIDComm. */
  offerCredential(req: OfferCredentialRequest): Promise<CredentialSaleView>;
  /** Holder role: pays for an offered credential through an app channel; resolves once it is open. */
  buyCredential(saleId: string): Promise<CredentialSaleView>;
  credentialSales(): Promise<CredentialSaleView[]>;

  sendMessage(connectionId: string, content: string): Promise<MessageView>;
  messages(connectionId?: string): Promise<MessageView[]>;

  /** Live events; returns the unsubscribe function. `since`: replay buffered events after that ID. */
  subscribe(listener: (e: NodeEventWithId) => void, since?: number): () => void;
}
