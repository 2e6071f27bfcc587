// The node: one running agent. `start` builds it: the database, the Credo agent (identity DID,
// issuer did:key, holder answers), the connection to the chain, the channel client on the Perun
// DIDComm wire with its watcher and store. Its parts map what users ask (./types.ts) onto them:
// connections (./connections.ts), credentials (./credentials.ts, ./credential-sales.ts), channels
// (./channels.ts), proposals and their gate (./proposals.ts), messages (./messages.ts); what happens
// becomes events for the API's stream (./client-events.ts and each part's listeners).
import type { DataSource } from 'typeorm';
import { ChannelClient, type ChannelInfo, type ClientEvent } from '../../channels/client.js';
import type { StoredPayment } from '../../channels/store.js';
import { ethereumBackend } from '../../channels/ethereum/backend.js';
import type { EthereumConfig, EthereumConnection } from '../../channels/ethereum/config.js';
import { EthereumSigner, secp256k1Engine } from '../../channels/ethereum/signer.js';
import { credentialPaymentApp } from '../../channels/ethereum/apps/credential-payment.js';
import type { TonChainConfig } from '../../channels/ton/config.js';
import { TypeOrmChannelStore } from '../../channels/persistence/typeorm-store.js';
import type { PeerCredentialIssuer, PeerHolder, PeerPolicy } from '../../protocols/identity/index.js';
import { createPerunAgent, type PerunIdentityAgent } from '../credo/agent.js';
import { CredoLogger } from '../credo/credo-logger.js';
import { lineLogger, type Logger } from '../log/logger.js';
import { openAgentStore } from '../datasource.js';
import { PerunKeyManagementService, TypeOrmKmsKeyStorage } from '../kms/index.js';
import {
  AgentConfigError,
  ETHEREUM_SECRET,
  databaseKind,
  databaseUrl,
  didcommEndpointOf,
  didcommWsEndpointOf,
  inboundLimitsOf,
  type AgentConfig,
} from './config.js';
import { Assets } from './assets.js';
import { ethereumLedger, type ChainStartOptions, type NodeChain } from './ledger.js';
import { isTonChain, startTonChain } from './ton-node.js';
import { Channels } from './channels.js';
import { clientEventBridge } from './client-events.js';
import { Connections } from './connections.js';
import type { NodeContext, NodeIdentity } from './context.js';
import { CredentialSales } from './credential-sales.js';
import { Credentials } from './credentials.js';
import { EventLog } from './event-log.js';
import { IdempotentPayments } from './idempotent-payments.js';
import { connectNodeChains } from './ledgers.js';
import { MediationError, invitationOrigin, mediationOptionsOf, startMediation } from './mediation.js';
import { Messages } from './messages.js';
import { bindLegacyPeers } from './pairwise-migration.js';
import { PaymentHistory } from './payment-history.js';
import { Proposals, deleteFinishedProofs, proposalGate, type GateParts } from './proposals.js';
import { testKnobs } from './test-knobs.js';
import type {
  AgentInfo,
  AgentNodeApi,
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialSaleView,
  CredentialView,
  InvitationView,
  IssueCredentialRequest,
  MessageView,
  NodeEventWithId,
  OfferCredentialRequest,
  OpenChannelRequest,
  OpenSubChannelRequest,
  OpenVirtualChannelRequest,
  PayOptions,
  PaymentView,
  ProposalView,
  SettlementView,
  SignCredentialRequest,
  SignedCredentialView,
  SignedStateView,
} from './types.js';
import { ChannelViews } from './views.js';

export interface NodeOptions {
  config: AgentConfig;
  passphrase: string;
  /** The chain: the configured chain file's contents, resolved by the caller (./start.ts); Ethereum or TON. */
  chain: EthereumConfig | TonChainConfig;
  /** Of a chain file naming several chains, all of them (`chain` first): cross-chain channels (./ledgers.ts). */
  chains?: EthereumConfig[];
  /** Waits for peers, proofs and credentials; default 30 s. */
  timeoutMs?: number;
  /** How often the watcher and the client read the chain; default 250 ms. */
  chainPollMs?: number;
  /** Plain lines at info and above, when no `logger` is given. */
  log?: (line: string) => void;
  /** The agent's log (../log/logger.ts); Credo's logger writes into it too. */
  logger?: Logger;
}

const IDENTITY_RECORD = 'perun-node-identity';

export class PerunNode implements AgentNodeApi {
  readonly #ctx: NodeContext;
  readonly #connections: Connections;
  readonly #credentials: Credentials;
  readonly #sales: CredentialSales;
  readonly #channels: Channels;
  readonly #idempotent: IdempotentPayments;
  readonly #proposals: Proposals;
  readonly #messages: Messages;
  readonly #onClientEvent: (e: ClientEvent) => void;
  readonly #views: ChannelViews;
  readonly #stops: Array<() => Promise<unknown> | unknown> = [];
  #closed = false;

  private constructor(ctx: NodeContext, on: NodeChain) {
    this.#ctx = ctx;
    this.#connections = new Connections(ctx);
    const views = new ChannelViews(ctx.assets, ctx.ledger.account, this.#connections);
    this.#views = views;
    this.#channels = new Channels(ctx, this.#connections, views);
    this.#idempotent = new IdempotentPayments(ctx, (c, amount, id, index) =>
      this.#channels.pay(c, amount, id, index),
    );
    this.#sales = new CredentialSales({
      agent: ctx.agent,
      client: ctx.client,
      signer: () => ctx.ledger.ethereum('credential sales').signer,
      chainId: ctx.ledger.chainId,
      app: on.ledger.saleApp,
      emit: (e) => ctx.events.emit(e),
      log: ctx.log,
      holderDid: (c) => this.#credentials.holderDid(c),
      peerIdentityOf: (id) => ctx.agent.modules.identity.peerIdentityOf(id),
      propose: (connectionId, req) => this.#channels.openApp(connectionId, req),
    });
    this.#credentials = new Credentials(ctx, this.#connections, this.#sales);
    this.#proposals = new Proposals(ctx);
    this.#messages = new Messages(ctx, this.#connections);
    this.#onClientEvent = clientEventBridge(ctx, views, this.#sales);
  }

  /** The view of a payment from the channel store's log; undefined for a channel we do not hold. */
  #loggedPayment(row: StoredPayment, batch: number): PaymentView | undefined {
    let info: ChannelInfo;
    try {
      info = this.#ctx.client.channel(row.channelId);
    } catch {
      return undefined;
    }
    return this.#views.loggedPayment(info, row, batch);
  }

  get config(): AgentConfig {
    return this.#ctx.config;
  }
  get agent(): PerunIdentityAgent {
    return this.#ctx.agent;
  }
  get client(): ChannelClient {
    return this.#ctx.client;
  }
  /** Ethereum only (BACKEND_UNSUPPORTED on TON; the node's address is `info().address`). */
  get signer(): EthereumSigner {
    return this.#ctx.ledger.ethereum('the Ethereum signer').signer;
  }
  /** Ethereum only (BACKEND_UNSUPPORTED on TON). */
  get chain(): EthereumConnection {
    return this.#ctx.ledger.ethereum('the Ethereum chain').chain;
  }
  get store(): TypeOrmChannelStore {
    return this.#ctx.store;
  }
  get history(): PaymentHistory {
    return this.#ctx.history;
  }
  get assets(): Assets {
    return this.#ctx.assets;
  }
  get issuer(): PeerCredentialIssuer {
    return this.#ctx.issuer;
  }
  get identity(): NodeIdentity {
    return this.#ctx.identity;
  }
  get policy(): PeerPolicy {
    return this.#ctx.policy;
  }
  get timeoutMs(): number {
    return this.#ctx.timeoutMs;
  }
  get log(): (line: string) => void {
    return this.#ctx.log;
  }
  get events(): EventLog {
    return this.#ctx.events;
  }

  /** Opens the database with the passphrase, starts Credo, connects to the chain, resumes every channel. */
  static async start(o: NodeOptions): Promise<PerunNode> {
    const { config } = o;
    const logger = o.logger ?? lineLogger(o.log);
    const log = (line: string) => logger.info(line);
    const timeoutMs = o.timeoutMs ?? 30_000;
    const stops: Array<() => Promise<unknown> | unknown> = [];
    const undo = async () => {
      for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    };
    try {
      log(`opening storage (${databaseKind(databaseUrl(config))})…`);
      const ds: DataSource = await openAgentStore(databaseUrl(config));
      stops.push(() => ds.destroy());
      log('deriving keys from the passphrase…');
      const kms = await PerunKeyManagementService.open({
        storage: new TypeOrmKmsKeyStorage(ds),
        passphrase: o.passphrase,
      });
      const pollMs = o.chainPollMs ?? 250;
      const store = new TypeOrmChannelStore(ds);
      const onWatcherError = (err: unknown) =>
        logger.warn(`watcher: ${err instanceof Error ? err.message : String(err)}`);
      const on = isTonChain(o.chain)
        ? await startTonChain(o.chain, kms, { pollMs, log, store, onWatcherError })
        : await startEthereumChain(o.chains ?? [o.chain], kms, { pollMs, log, store, onWatcherError });
      stops.push(() => on.close());
      const { assets, signer } = on;

      const mediationOptions = mediationOptionsOf(config, ds, log);
      const listen = {
        host: config.didcommHost,
        ...inboundLimitsOf(config),
        log: (line: string) => logger.warn(line),
      };
      const wsEndpoint = didcommWsEndpointOf(config);
      const agent = createPerunAgent({
        label: config.label,
        dataSource: ds,
        kms,
        identity: true,
        logger: new CredoLogger(logger),
        http: config.inbound
          ? { ...listen, port: config.didcommPort, endpoint: didcommEndpointOf(config) }
          : false,
        ...(config.inbound && wsEndpoint !== undefined
          ? { ws: { ...listen, port: config.didcommWsPort, endpoint: wsEndpoint } }
          : {}),
        log: (line: string) => logger.warn(line),
        mediation: mediationOptions,
      });
      log('starting DIDComm…');
      try {
        await agent.initialize();
      } catch (err) {
        if (mediationOptions?.role !== 'recipient') throw err;
        await agent.shutdown().catch(() => undefined);
        throw new MediationError(
          `no mediation from the mediator of the invitation at ${invitationOrigin(config.mediatorInvitation)}`,
          { error: err instanceof Error ? err.message : String(err) },
          { cause: err },
        );
      }
      stops.push(() => agent.shutdown());
      if (config.inbound)
        log(
          `DIDComm endpoint listening on ${config.didcommHost}:${config.didcommPort}, reached at ${didcommEndpointOf(config)}`,
        );
      const mediation = await startMediation(agent, mediationOptions, config, log);
      if (mediation !== undefined) stops.push(() => mediation.stop());
      const identity = await loadIdentity(agent);
      agent.modules.identity.useIdentityDid(identity.did);
      await bindLegacyPeers(agent, log);
      const issuer = await agent.modules.identity.createIssuer(identity.issuerDid);
      const holder: PeerHolder = agent.modules.identity.enablePeerHolder({ signer });
      stops.push(() => holder.stop());

      const policy: PeerPolicy = {
        trustedIssuers: config.trustedIssuers,
        requiredClaims: { name: true },
        requireAddressProof: true,
      };
      const self: { node?: PerunNode } = {};
      const history = new PaymentHistory(ds, store, (row, batch) =>
        self.node === undefined ? undefined : self.node.#loggedPayment(row, batch),
      );
      const knobs = testKnobs();
      const client = new ChannelClient({
        apps: on.apps,
        wire: agent.modules.perun.wire,
        signer: knobs.wrapSigner(signer),
        ...(knobs.failpoint ? { failpoint: knobs.failpoint } : {}),
        backend: on.backend,
        funder: on.funder,
        adjudicator: on.adjudicator,
        store,
        watcher: on.watcher,
        chainPollMs: pollMs,
        proposalsPerMinute: config.proposalsPerMinute,
        intermediary: config.intermediary,
        onProposal: proposalGate(
          { agent, policy, timeoutMs, reverifyAfterMs: config.reverifyAfterSeconds * 1000, log },
          () => (self.node === undefined ? undefined : self.node.#gateParts()),
        ),
      });
      const ctx: NodeContext = {
        config,
        agent,
        client,
        ledger: on.ledger,
        store,
        db: ds,
        history,
        assets,
        issuer,
        identity,
        policy,
        timeoutMs,
        log,
        events: new EventLog(),
        didcommEndpoint: mediation?.endpoint(didcommEndpointOf(config)) ?? didcommEndpointOf(config),
        mediation,
      };
      const node = new PerunNode(ctx, on);
      self.node = node;
      client.on('event', (e: ClientEvent) => node.#onClientEvent(e));
      log('resuming channels…');
      await client.start();
      stops.push(() => client.close());
      node.#listen();
      node.#stops.push(...stops);
      return node;
    } catch (err) {
      await undo();
      throw err;
    }
  }

  /** Stops the channel client, Credo and the database, in that order. */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#proposals.refuseAll('the agent is shutting down');
    for (const stop of [...this.#stops].reverse()) await Promise.resolve(stop()).catch(() => undefined);
  }

  info(): AgentInfo {
    return {
      label: this.config.label,
      did: this.identity.did,
      issuerDid: this.issuer.did,
      address: this.#ctx.ledger.address,
      didcommEndpoint: this.#ctx.didcommEndpoint,
      ...this.#ctx.ledger.info(),
      assets: this.assets.all.map((a) => ({ ...a })),
      trustedIssuers: [...this.policy.trustedIssuers],
      signer: this.#ctx.ledger.backend === 'ton' ? 'ed25519' : secp256k1Engine(),
      ...(this.#ctx.mediation === undefined ? {} : { mediation: this.#ctx.mediation.view() }),
    };
  }

  createInvitation(): Promise<InvitationView> {
    return this.#connections.createInvitation();
  }

  acceptInvitation(url: string): Promise<ConnectionView> {
    return this.#connections.acceptInvitation(url);
  }

  connections(): Promise<ConnectionView[]> {
    return this.#connections.list();
  }

  connection(id: string): Promise<ConnectionView> {
    return this.#connections.get(id);
  }

  pingConnection(id: string): Promise<ConnectionView> {
    return this.#connections.ping(id);
  }

  credentials(): Promise<CredentialView[]> {
    return this.#credentials.list();
  }

  issueCredential(req: IssueCredentialRequest): Promise<CredentialView> {
    return this.#credentials.issue(req);
  }

  requestCredential(connectionId: string, name: string): Promise<CredentialView> {
    return this.#credentials.request(connectionId, name);
  }

  signCredential(req: SignCredentialRequest): Promise<SignedCredentialView> {
    return this.#credentials.sign(req);
  }

  importCredential(credential: string): Promise<CredentialView> {
    return this.#credentials.import(credential);
  }

  channels(): ChannelView[] {
    return this.#channels.list();
  }

  channel(id: string): ChannelView {
    return this.#channels.get(id);
  }

  openChannel(req: OpenChannelRequest): Promise<ChannelView> {
    return this.#channels.open(req);
  }

  openSubChannel(parentId: string, req: OpenSubChannelRequest): Promise<ChannelView> {
    return this.#channels.openSub(parentId, req);
  }

  openVirtualChannel(req: OpenVirtualChannelRequest): Promise<ChannelView> {
    return this.#channels.openVirtual(req);
  }

  async pay(channelId: string, amount: string, id?: string, options: PayOptions = {}): Promise<PaymentView> {
    const key = options.idempotencyKey;
    const index = this.#channels.assetIndex(channelId, options);
    if (key === undefined) return this.#channels.pay(channelId, amount, id, index);
    return this.#idempotent.pay(key, channelId, amount, id, index);
  }

  close(channelId: string): Promise<SettlementView> {
    return this.#channels.close(channelId);
  }

  dispute(channelId: string): Promise<SettlementView> {
    return this.#channels.dispute(channelId);
  }

  payments(channelId?: string, newest?: number): Promise<PaymentView[]> {
    return this.#channels.payments(channelId, newest);
  }

  signedState(channelId: string): Promise<SignedStateView> {
    return this.#channels.signedState(channelId);
  }

  proposals(): ProposalView[] {
    return this.#proposals.list();
  }

  decideProposal(id: string, accept: boolean, reason?: string): Promise<ProposalView> {
    return this.#proposals.decide(id, accept, reason);
  }

  balance(): Promise<BalanceView> {
    return this.#channels.balance();
  }

  offerCredential(req: OfferCredentialRequest): Promise<CredentialSaleView> {
    this.#ctx.ledger.ethereum('credential sales');
    return this.#credentials.offer(req);
  }

  buyCredential(saleId: string): Promise<CredentialSaleView> {
    this.#ctx.ledger.ethereum('credential sales');
    return this.#sales.buy(saleId);
  }

  credentialSales(): Promise<CredentialSaleView[]> {
    return this.#sales.list();
  }

  sendMessage(connectionId: string, content: string): Promise<MessageView> {
    return this.#messages.send(connectionId, content);
  }

  messages(connectionId?: string): Promise<MessageView[]> {
    return this.#messages.list(connectionId);
  }

  subscribe(listener: (e: NodeEventWithId) => void, since?: number): () => void {
    return this.events.subscribe(listener, since);
  }

  /** What the channel client's proposal gate consults. */
  #gateParts(): GateParts {
    return { sales: this.#sales, proposals: this.#proposals };
  }

  #listen(): void {
    const { agent, log } = this.#ctx;
    this.#stops.push(
      agent.modules.credentialSale.onOffer((offer, connection) =>
        this.#sales
          .received(offer, connection)
          .catch((err: unknown) => log(`sale offer: ${err instanceof Error ? err.message : String(err)}`)),
      ),
      this.#connections.listen(),
      this.#messages.listen(),
      this.#credentials.listen(),
      deleteFinishedProofs(agent, log),
    );
    this.#connections.remember();
  }
}

/** Connects a node to the Ethereum chains of the chain file (the primary first) with the agent's Ethereum account. */
async function startEthereumChain(
  configs: readonly EthereumConfig[],
  kms: PerunKeyManagementService,
  o: ChainStartOptions,
): Promise<NodeChain> {
  const secret = await kms.getSecret<{ privateKey: string }>(ETHEREUM_SECRET);
  if (secret === undefined)
    throw new AgentConfigError('NOT_INITIALISED', 'the database holds no Ethereum account: run init');
  const signer = new EthereumSigner(secret.privateKey);
  const chains = await connectNodeChains({ chains: configs, privateKey: secret.privateKey, signer, ...o });
  try {
    const ledger = ethereumLedger({ signer, chain: chains.primary, chains: chains.all });
    return {
      ledger,
      assets: await Assets.loadChains(chains.all),
      signer,
      backend: ethereumBackend,
      funder: chains.funder,
      adjudicator: chains.adjudicator,
      watcher: chains.watcher,
      apps: ledger.saleApp === undefined ? [] : [credentialPaymentApp(ledger.saleApp)],
      close: () => chains.close(),
    };
  } catch (err) {
    chains.close();
    throw err;
  }
}

async function loadIdentity(agent: PerunIdentityAgent): Promise<NodeIdentity> {
  const [stored] = await agent.genericRecords.findAllByQuery({ kind: IDENTITY_RECORD });
  if (stored !== undefined) return stored.content as unknown as NodeIdentity;
  const did = await agent.modules.identity.createIdentityDid();
  const issuerDid = (await agent.modules.identity.createIssuer()).did;
  const identity: NodeIdentity = { did, issuerDid };
  await agent.genericRecords.save({ content: { ...identity }, tags: { kind: IDENTITY_RECORD } });
  return identity;
}
