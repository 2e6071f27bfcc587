// The node: one running agent. It owns the Credo agent (identity DID, issuer did:key, holder
// answers), the channel client on the Perun DIDComm wire with its watcher, the connection to the
// chain and the database; it maps what users ask (src/agent/node/types.ts) onto them and turns
// everything that happens into events for the API's stream. Gating: a channel opens only with a
// peer whose credential passes our policy, in both directions.
import {
  ClaimFormat,
  JsonTransformer,
  W3cJsonLdVerifiableCredential,
  type W3cCredentialRecord,
} from '@credo-ts/core';
import {
  DidCommAutoAcceptCredential,
  DidCommBasicMessageEventTypes,
  DidCommBasicMessageRole,
  DidCommConnectionEventTypes,
  DidCommConnectionService,
  DidCommCredentialEventTypes,
  DidCommCredentialRole,
  DidCommCredentialState,
  DidCommDidExchangeRole,
  DidCommDidExchangeState,
  DidCommProofEventTypes,
  DidCommProofState,
  type DidCommBasicMessageRecord,
  type DidCommBasicMessageStateChangedEvent,
  type DidCommConnectionDidRotatedEvent,
  type DidCommConnectionRecord,
  type DidCommConnectionStateChangedEvent,
  type DidCommCredentialStateChangedEvent,
  type DidCommProofStateChangedEvent,
} from '@credo-ts/didcomm';
import { getAddress, isAddress } from 'ethers';
import type { DataSource } from 'typeorm';
import {
  ChannelClient,
  type ChannelInfo,
  type ClientEvent,
  type IncomingProposal,
} from '../../channels/client.js';
import {
  EthereumAdjudicatorAdapter,
  EthereumEventSource,
  ethereumBackend,
} from '../../channels/ethereum/backend.js';
import {
  connectEthereum,
  type EthereumConfig,
  type EthereumConnection,
} from '../../channels/ethereum/config.js';
import { erc20Contract } from '../../channels/ethereum/contracts.js';
import { ETH_BACKEND_ID, ZERO_ADDRESS, ethAsset } from '../../channels/ethereum/encoding.js';
import { EthereumSigner } from '../../channels/ethereum/signer.js';
import { credentialPaymentApp } from '../../channels/ethereum/apps/credential-payment.js';
import { onSaleOffer } from '../../protocols/credential-sale/protocol.js';
import { TypeOrmChannelStore } from '../../channels/persistence/typeorm-store.js';
import { paramsToJson, stateToJson } from '../../channels/json.js';
import type { Allocation, State } from '../../channels/types.js';
import { LocalWatcher } from '../../channels/watcher.js';
import {
  PEER_CREDENTIAL_TYPE,
  PROOF_TYPE,
  PeerCredentialIssuer,
  PeerNotAuthorizedError,
  adoptIdentityDid,
  createIdentityDid,
  enablePeerHolder,
  gatedProposalHandler,
  peerCredentialJson,
  proposeToVerifiedPeer,
  verifyPeer,
  provenAddress,
  storePeerCredential,
  type PeerHolder,
  type PeerPolicy,
  type VerifiedPeer,
} from '../../protocols/identity/index.js';
import { ApiRequestError } from '../api/api-error.js';
import { formatAmount, parseAmount } from '../api/amounts.js';
import { createPerunAgent, type PerunIdentityAgent } from '../credo/agent.js';
import { openAgentStore } from '../datasource.js';
import { PerunKeyManagementService, TypeOrmKmsKeyStorage } from '../kms/index.js';
import {
  AgentConfigError,
  ETHEREUM_SECRET,
  databaseUrl,
  didcommEndpointOf,
  type AgentConfig,
} from './config.js';
import { Assets, format, parse, type AssetInfo } from './assets.js';
import { CredentialSales } from './credential-sales.js';
import { EventLog } from './event-log.js';
import { testKnobs } from './test-knobs.js';
import { PaymentHistory } from './payment-history.js';
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
  PaymentView,
  ProposalView,
  SettlementView,
  SignCredentialRequest,
  SignedCredentialView,
  SignedStateView,
} from './types.js';

export interface NodeOptions {
  config: AgentConfig;
  passphrase: string;
  /** The chain: the configured chain file's contents, resolved by the caller (./start.ts). */
  chain: EthereumConfig;
  /** Waits for peers, proofs and credentials; default 30 s. */
  timeoutMs?: number;
  /** How often the watcher and the client read the chain; default 250 ms. */
  chainPollMs?: number;
  log?: (line: string) => void;
}

/** The DIDs an agent keeps across restarts (a generic record). */
interface NodeIdentity {
  did: string;
  issuerDid: string;
}
const IDENTITY_RECORD = 'perun-node-identity';
/** How long a proposal waits for the user's decision; the proposer waits 30 s for an answer. */
const DECISION_MS = 25_000;
/** How long an invitee waits for the inviter to switch to its identity DID. */
const ROTATION_MS = 10_000;
const EXPIRED = 'nobody decided on the proposal in time (it asks more of us than auto-accept allows)';

const iso = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());

interface PendingProposal {
  view: ProposalView;
  decide?: (accept: boolean, reason?: string) => void;
}

/** A new channel's allocation of one Ethereum asset: the proposer's and the peer's balances. */
function oneAssetAllocation(chainId: bigint, holder: string, balances: [bigint, bigint]): Allocation {
  return {
    assets: [ethAsset(chainId, holder)],
    backends: [ETH_BACKEND_ID],
    balances: [balances],
    locked: [],
  };
}

export class PerunNode implements AgentNodeApi {
  readonly events = new EventLog();
  readonly #proposals = new Map<string, PendingProposal>();
  readonly #labels = new Map<string, string | undefined>();
  readonly #stops: Array<() => Promise<unknown> | unknown> = [];
  #sales!: CredentialSales;
  /** Our switches to the identity DID in flight, by connection: proofs on it wait for them. */
  readonly #adoptions = new Map<string, Promise<unknown>>();
  #closed = false;

  private constructor(
    readonly config: AgentConfig,
    readonly agent: PerunIdentityAgent,
    readonly client: ChannelClient,
    readonly signer: EthereumSigner,
    readonly chain: EthereumConnection,
    readonly store: TypeOrmChannelStore,
    readonly history: PaymentHistory,
    readonly assets: Assets,
    readonly issuer: PeerCredentialIssuer,
    readonly identity: NodeIdentity,
    readonly policy: PeerPolicy,
    readonly timeoutMs: number,
    readonly log: (line: string) => void,
  ) {}

  /** Opens the database with the passphrase, starts Credo, connects to the chain, resumes every channel. */
  static async start(o: NodeOptions): Promise<PerunNode> {
    const { config } = o;
    const log = o.log ?? (() => undefined);
    const stops: Array<() => Promise<unknown> | unknown> = [];
    const undo = async () => {
      for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    };
    try {
      const ds: DataSource = await openAgentStore(databaseUrl(config));
      stops.push(() => ds.destroy());
      const kms = await PerunKeyManagementService.open({
        storage: new TypeOrmKmsKeyStorage(ds),
        passphrase: o.passphrase,
      });
      const secret = await kms.getSecret<{ privateKey: string }>(ETHEREUM_SECRET);
      if (secret === undefined)
        throw new AgentConfigError('NOT_INITIALISED', 'the database holds no Ethereum account: run init');
      const signer = new EthereumSigner(secret.privateKey);
      const chain = await connectEthereum(o.chain, secret.privateKey);
      stops.push(() => chain.close());
      const assets = await Assets.load(o.chain, chain.provider);

      const agent = createPerunAgent({
        label: config.label,
        dataSource: ds,
        kms,
        identity: true,
        http: { host: config.didcommHost, port: config.didcommPort, endpoint: didcommEndpointOf(config) },
      });
      await agent.initialize();
      stops.push(() => agent.shutdown());
      const identity = await loadIdentity(agent);
      const issuer = await PeerCredentialIssuer.create(agent, identity.issuerDid);
      const holder: PeerHolder = enablePeerHolder(agent, { signer });
      stops.push(() => holder.stop());

      const policy: PeerPolicy = {
        trustedIssuers: config.trustedIssuers,
        requiredClaims: { name: true },
        requireAddressProof: true,
      };
      const pollMs = o.chainPollMs ?? 250;
      const store = new TypeOrmChannelStore(ds);
      const history = new PaymentHistory(ds, 200, (err) =>
        log(`payment history: ${err instanceof Error ? err.message : String(err)}`),
      );
      stops.push(() => history.flush());
      const adapter = new EthereumAdjudicatorAdapter(chain.adjudicator, signer);
      const watcher = new LocalWatcher({
        events: new EthereumEventSource(chain.provider, o.chain.adjudicator, { pollIntervalMs: pollMs }),
        adjudicator: adapter,
        store,
        pollIntervalMs: pollMs,
        onError: (err) => log(`watcher: ${err instanceof Error ? err.message : String(err)}`),
      });
      const self: { node?: PerunNode } = {};
      const gate = gatedProposalHandler(agent, policy, (p, peer) => self.node!.#decide(p, peer), {
        onRefusal: (p, err) => log(`refused a channel from ${p.peer}: ${err.code} (${err.message})`),
        verify: { timeoutMs: o.timeoutMs ?? 30_000 },
      });
      const knobs = testKnobs();
      const saleApp = o.chain.apps?.['credentialPayment'];
      const client = new ChannelClient({
        apps: saleApp === undefined ? [] : [credentialPaymentApp(saleApp)],
        wire: agent.modules.perun.wire,
        signer: knobs.wrapSigner(signer),
        ...(knobs.failpoint ? { failpoint: knobs.failpoint } : {}),
        backend: ethereumBackend,
        funder: chain.funder,
        adjudicator: adapter,
        store,
        watcher,
        chainPollMs: pollMs,
        proposalsPerMinute: config.proposalsPerMinute,
        intermediary: config.intermediary,
        onProposal: async (p) => {
          if (self.node !== undefined) await self.node.#adoptionWith(p.peer);
          const refusal = self.node === undefined ? undefined : await self.node.#sales.refusal(p);
          if (refusal !== undefined) return { accept: false, reason: refusal };
          return gate(p);
        },
      });
      const node = new PerunNode(
        config,
        agent,
        client,
        signer,
        chain,
        store,
        history,
        assets,
        issuer,
        identity,
        policy,
        o.timeoutMs ?? 30_000,
        log,
      );
      self.node = node;
      node.#sales = new CredentialSales({
        agent,
        client,
        signer,
        chainId: chain.config.chainId,
        app: saleApp,
        emit: (e) => node.events.emit(e),
        log,
        propose: async (connectionId, req) => {
          const { channel } = await proposeToVerifiedPeer(
            agent,
            client,
            connectionId,
            policy,
            {
              allocation: oneAssetAllocation(chain.config.chainId, chain.config.assetHolderETH, [
                req.price,
                0n,
              ]),
              challengeDuration: BigInt(config.challengeDuration),
              app: req.app,
              initData: req.initData,
            },
            { timeoutMs: o.timeoutMs ?? 30_000 },
          );
          return channel;
        },
      });
      client.on('event', (e: ClientEvent) => node.#onClientEvent(e));
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
    for (const p of this.#proposals.values()) p.decide?.(false, 'the agent is shutting down');
    for (const stop of [...this.#stops].reverse()) await Promise.resolve(stop()).catch(() => undefined);
  }

  info(): AgentInfo {
    return {
      label: this.config.label,
      did: this.identity.did,
      issuerDid: this.issuer.did,
      address: this.signer.address,
      didcommEndpoint: didcommEndpointOf(this.config),
      chainId: this.chain.config.chainId.toString(),
      adjudicator: this.chain.config.adjudicator,
      assetHolderETH: this.chain.config.assetHolderETH,
      assets: this.assets.all.map((a) => ({ ...a })),
      trustedIssuers: [...this.policy.trustedIssuers],
    };
  }

  // ------------------------------------------------------------------------------ connections

  async createInvitation(): Promise<InvitationView> {
    const oob = await this.agent.didcomm.oob.createInvitation({ label: this.config.label });
    return { id: oob.id, url: oob.outOfBandInvitation.toUrl({ domain: didcommEndpointOf(this.config) }) };
  }

  async acceptInvitation(url: string): Promise<ConnectionView> {
    let parsed;
    try {
      parsed = await this.agent.didcomm.oob.parseInvitation(url);
    } catch (err) {
      throw new ApiRequestError(400, 'INVALID_INVITATION', 'not an out-of-band invitation URL', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    const rotated = this.#nextRotation();
    try {
      const { connectionRecord } = await this.agent.didcomm.oob.receiveInvitation(parsed, {
        label: this.config.label,
        ourDid: this.identity.did,
      });
      if (connectionRecord === undefined)
        throw new ApiRequestError(400, 'INVALID_INVITATION', 'the invitation asks for no connection');
      let c = await this.agent.didcomm.connections.returnWhenIsConnected(connectionRecord.id, {
        timeoutMs: this.timeoutMs,
      });
      // An inviter of ours switches to its identity DID (its credential's subject) right away;
      // wait for that so that the first proof request sees the DID it will be shown.
      c = (await rotated.wait(c.id, ROTATION_MS)) ?? c;
      return this.#connectionView(c);
    } finally {
      rotated.stop();
    }
  }

  async connections(): Promise<ConnectionView[]> {
    const all = await this.agent.didcomm.connections.getAll();
    return all
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((c) => this.#connectionView(c));
  }

  async connection(id: string): Promise<ConnectionView> {
    return this.#connectionView(await this.#readyConnection(id, false));
  }

  // ------------------------------------------------------------------------------ credentials

  async credentials(): Promise<CredentialView[]> {
    const records = await this.agent.w3cCredentials.getAll();
    return records.flatMap((r) => {
      const vc = r.firstCredential;
      return vc.claimFormat === ClaimFormat.LdpVc && vc.type.includes(PEER_CREDENTIAL_TYPE)
        ? [credentialView(r.id, vc as W3cJsonLdVerifiableCredential)]
        : [];
    });
  }

  async issueCredential(req: IssueCredentialRequest): Promise<CredentialView> {
    const c = await this.#readyConnection(req.connectionId);
    const spendingLimit = parseAmount(req.spendingLimit);
    const expirationDate = dateField('expirationDate', req.expirationDate);
    let address: string;
    if (req.ethereumAddress !== undefined) {
      if (!isAddress(req.ethereumAddress))
        throw new ApiRequestError(400, 'INVALID_REQUEST', 'not an Ethereum address', {
          field: 'ethereumAddress',
        });
      address = getAddress(req.ethereumAddress);
    } else {
      address = await provenAddress(this.agent, c.id, { timeoutMs: this.timeoutMs });
    }
    const vc = await this.issuer.issue(
      c.id,
      { ethereumAddress: address, name: req.name, spendingLimit },
      { expirationDate, timeoutMs: this.timeoutMs },
    );
    return credentialView(vc.id ?? `${c.id}:${vc.issuanceDate}`, vc);
  }

  async requestCredential(connectionId: string, name: string): Promise<CredentialView> {
    const c = await this.#readyConnection(connectionId);
    if (typeof name !== 'string' || name.trim() === '')
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'a name is required', { field: 'name' });
    const done = this.#nextCredential(c.id);
    try {
      await this.agent.didcomm.credentials.proposeCredential({
        connectionId: c.id,
        protocolVersion: 'v2',
        credentialFormats: {
          jsonld: {
            credential: peerCredentialJson(c.theirDid!, c.did!, {
              ethereumAddress: this.signer.address,
              name,
              spendingLimit: 0n,
            }),
            options: { proofType: PROOF_TYPE, proofPurpose: 'assertionMethod' },
          },
        },
        autoAcceptCredential: DidCommAutoAcceptCredential.Always,
      });
      return await done.wait(this.timeoutMs);
    } finally {
      done.stop();
    }
  }

  async signCredential(req: SignCredentialRequest): Promise<SignedCredentialView> {
    if (!isAddress(req.ethereumAddress))
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'not an Ethereum address', {
        field: 'ethereumAddress',
      });
    if (!/^did:[a-z0-9]+:\S+$/.test(req.subject))
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'the subject must be a DID', { field: 'subject' });
    const vc = await this.issuer.sign(
      req.subject,
      { ethereumAddress: req.ethereumAddress, name: req.name, spendingLimit: parseAmount(req.spendingLimit) },
      {
        issuanceDate: dateField('issuanceDate', req.issuanceDate),
        expirationDate: dateField('expirationDate', req.expirationDate),
      },
    );
    return { credential: JSON.stringify(JsonTransformer.toJSON(vc)) };
  }

  async importCredential(credential: string): Promise<CredentialView> {
    const refuse = (why: string): never => {
      throw new ApiRequestError(400, 'INVALID_CREDENTIAL', why, { field: 'credential' });
    };
    let vc: W3cJsonLdVerifiableCredential;
    try {
      vc = JsonTransformer.fromJSON(JSON.parse(credential), W3cJsonLdVerifiableCredential);
    } catch (err) {
      return refuse(
        `not a JSON-LD verifiable credential (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    if (!vc.type.includes(PEER_CREDENTIAL_TYPE)) refuse(`not a ${PEER_CREDENTIAL_TYPE}`);
    if (!vc.credentialSubjectIds.includes(this.identity.did))
      refuse('the credential is not made out to our DID');
    const record = await storePeerCredential(this.agent, vc);
    return credentialView(record.id, vc);
  }

  // ------------------------------------------------------------------------------ channels

  /** Our channels (not the virtual channels we are the intermediary of: their money is not ours). */
  channels(): ChannelView[] {
    return this.client
      .channels()
      .filter((c) => c.observer !== true)
      .map((c) => this.#channelView(c));
  }

  channel(id: string): ChannelView {
    return this.#channelView(this.client.channel(id));
  }

  async openChannel(req: OpenChannelRequest): Promise<ChannelView> {
    const asset = this.assets.named(req.asset);
    const c = await this.#readyConnection(req.connectionId);
    const [fund, peerFund] = this.#funds(asset, req, 'channel');
    const challengeDuration = BigInt(req.challengeDuration ?? this.config.challengeDuration);
    const { channel } = await proposeToVerifiedPeer(
      this.agent,
      this.client,
      c.id,
      this.policy,
      {
        allocation: oneAssetAllocation(this.chain.config.chainId, asset.holder, [fund, peerFund]),
        challengeDuration,
      },
      { timeoutMs: this.timeoutMs },
    );
    return this.#channelView(channel);
  }

  /** What we and the peer put into a new channel of `asset`; 400 when it is nothing at all. */
  #funds(asset: AssetInfo, req: { fund: string; peerFund?: string }, what: string): [bigint, bigint] {
    const fund = parse(asset, req.fund);
    const peerFund = parse(asset, req.peerFund ?? '0');
    if (fund + peerFund === 0n)
      throw new ApiRequestError(400, 'INVALID_REQUEST', `a ${what} needs funds`, { field: 'fund' });
    return [fund, peerFund];
  }

  async openSubChannel(parentId: string, req: OpenSubChannelRequest): Promise<ChannelView> {
    const parent = this.client.channel(parentId);
    const asset = this.#assetOf(parent);
    const [fund, peerFund] = this.#funds(asset, req, 'sub-channel');
    const row = parent.idx === 0 ? [fund, peerFund] : [peerFund, fund];
    return this.#channelView(await this.client.proposeSubChannel(parent.id, { balances: [row] }));
  }

  async openVirtualChannel(req: OpenVirtualChannelRequest): Promise<ChannelView> {
    const parent = this.client.channel(req.via);
    const asset = this.#assetOf(parent);
    const [fund, peerFund] = this.#funds(asset, req, 'virtual channel');
    const c = await this.#readyConnection(req.connectionId);
    // The peer's credential first: its verified address is the virtual channel's participant.
    const peer = await verifyPeer(this.agent, c.id, this.policy, { timeoutMs: this.timeoutMs });
    const channel = await this.client.proposeVirtualChannel({
      peer: c.theirDid!,
      peerAddress: peer.address,
      parent: parent.id,
      balances: [[fund, peerFund]],
    });
    return this.#channelView(channel);
  }

  async pay(channelId: string, amount: string): Promise<PaymentView> {
    const info = this.client.channel(channelId);
    const units = parse(this.#assetOf(info), amount);
    if (units === 0n)
      throw new ApiRequestError(400, 'INVALID_AMOUNT', 'a payment must be positive', { amount });
    const state = await this.client.sendPayment(info.id, units);
    return this.#paymentView(info, state, units, 'sent');
  }

  async close(channelId: string): Promise<SettlementView> {
    const info = this.client.channel(channelId);
    return this.#settlementView(info, await this.client.settle(info.id));
  }

  async dispute(channelId: string): Promise<SettlementView> {
    const info = this.client.channel(channelId);
    return this.#settlementView(info, await this.client.dispute(info.id));
  }

  payments(channelId?: string): Promise<PaymentView[]> {
    return this.history.list(channelId);
  }

  async signedState(channelId: string): Promise<SignedStateView> {
    const info = this.client.channel(channelId);
    const record = await this.store.getChannel(info.id);
    const current = record?.current;
    if (current == null)
      throw new ApiRequestError(409, 'NOT_SIGNED', 'the channel has no fully signed state yet', {
        channelId,
      });
    return {
      channelId: info.id,
      version: current.state.version.toString(),
      params: paramsToJson(record!.params),
      state: stateToJson(current.state),
      sigs: [...current.sigs],
    };
  }

  proposals(): ProposalView[] {
    return [...this.#proposals.values()].map((p) => p.view);
  }

  async decideProposal(id: string, accept: boolean, reason?: string): Promise<ProposalView> {
    const p = this.#proposals.get(id.toLowerCase());
    if (p === undefined)
      throw new ApiRequestError(404, 'UNKNOWN_PROPOSAL', 'no such proposal', { proposalId: id });
    if (p.view.status !== 'pending' || p.decide === undefined)
      throw new ApiRequestError(409, 'PROPOSAL_DECIDED', `the proposal is ${p.view.status}`, {
        proposalId: id,
      });
    p.decide(accept, reason);
    return p.view;
  }

  async balance(): Promise<BalanceView> {
    const open = this.client
      .channels()
      .filter((c) => c.phase !== 'Withdrawn' && c.state !== undefined && c.observer !== true);
    const inChannels = (asset: AssetInfo) =>
      format(
        asset,
        open
          .filter((c) => this.#assetOf(c) === asset)
          .reduce((sum, c) => sum + (c.state!.outcome.balances[0]?.[c.idx] ?? 0n), 0n),
      );
    const tokens = await Promise.all(
      this.assets.all
        .filter((a) => a.token !== undefined)
        .map(async (a) => {
          const held = (await erc20Contract(a.token!, this.chain.provider)
            .getFunction('balanceOf')
            .staticCall(this.signer.address)) as bigint;
          return { asset: a.symbol, token: a.token!, onChain: format(a, held), inChannels: inChannels(a) };
        }),
    );
    return {
      address: this.signer.address,
      onChain: formatAmount(await this.chain.provider.getBalance(this.signer.address)),
      inChannels: inChannels(this.assets.eth),
      channels: open.length,
      tokens,
    };
  }

  // ------------------------------------------------------------------------------ credential sales

  async offerCredential(req: OfferCredentialRequest): Promise<CredentialSaleView> {
    const c = await this.#readyConnection(req.connectionId);
    let claims: unknown;
    try {
      claims = JSON.parse(req.claims);
    } catch {
      claims = undefined;
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'claims must be a JSON object', { field: 'claims' });
    }
    return this.#sales.offer(c, claims as Record<string, unknown>, req.price);
  }

  buyCredential(saleId: string): Promise<CredentialSaleView> {
    return this.#sales.buy(saleId);
  }

  credentialSales(): Promise<CredentialSaleView[]> {
    return this.#sales.list();
  }

  // ------------------------------------------------------------------------------ messages

  async sendMessage(connectionId: string, content: string): Promise<MessageView> {
    const c = await this.#readyConnection(connectionId);
    if (typeof content !== 'string' || content === '' || content.length > 10_000)
      throw new ApiRequestError(400, 'INVALID_REQUEST', 'a message has 1 to 10,000 characters', {
        field: 'content',
      });
    const record = await this.agent.didcomm.basicMessages.sendMessage(c.id, content);
    return messageView(record);
  }

  async messages(connectionId?: string): Promise<MessageView[]> {
    const records = await this.agent.didcomm.basicMessages.findAllByQuery(
      connectionId === undefined ? {} : { connectionId },
    );
    return records.map(messageView).sort((a, b) => a.sentTime.localeCompare(b.sentTime));
  }

  subscribe(listener: (e: NodeEventWithId) => void, since?: number): () => void {
    return this.events.subscribe(listener, since);
  }

  // ------------------------------------------------------------------------------ internals

  /**
   * Whether we already have a connection with the same peer on our identity DID: two connections
   * with one pair of DIDs cannot be told apart, so the newer one keeps its own DID.
   */
  #duplicates(c: DidCommConnectionRecord): boolean {
    const other = this.#connectionIds.get(c.theirDid ?? '');
    return other !== undefined && other !== c.id;
  }

  /** Waits for our DID switch on the connection with the peer whose DID is `did`, if one is in flight. */
  async #adoptionWith(did: string): Promise<void> {
    const id = this.#connectionIds.get(did);
    if (id !== undefined) await this.#adoptions.get(id);
  }

  async #readyConnection(id: string, ready = true): Promise<DidCommConnectionRecord> {
    await this.#adoptions.get(id);
    const c = typeof id === 'string' ? await this.agent.didcomm.connections.findById(id) : null;
    if (c === null)
      throw new ApiRequestError(404, 'UNKNOWN_CONNECTION', 'no such connection', { connectionId: id });
    if (ready && !c.isReady)
      throw new ApiRequestError(409, 'CONNECTION_NOT_READY', 'the connection is not established', {
        connectionId: id,
        state: c.state,
      });
    return c;
  }

  #connectionView(c: DidCommConnectionRecord): ConnectionView {
    if (c.theirDid !== undefined) this.#labels.set(c.theirDid, c.theirLabel);
    return {
      id: c.id,
      theirLabel: c.theirLabel,
      state: c.state,
      ready: c.isReady,
      ourDid: c.did,
      theirDid: c.theirDid,
      createdAt: iso(c.createdAt),
    };
  }

  /** The asset a channel holds (its first; our channels hold one). */
  #assetOf(c: ChannelInfo): AssetInfo {
    return this.assets.ofHolder(c.state?.outcome.assets[0]?.ethHolder);
  }

  #channelView(c: ChannelInfo): ChannelView {
    const balances = c.state?.outcome.balances[0] ?? [0n, 0n];
    const asset = this.#assetOf(c);
    return {
      id: c.id,
      connectionId: this.#connectionIds.get(c.peer),
      peerDid: c.peer,
      peerLabel: this.#labels.get(c.peer),
      idx: c.idx,
      phase: c.phase,
      version: (c.state?.version ?? 0n).toString(),
      asset: asset.symbol,
      ourBalance: format(asset, balances[c.idx] ?? 0n),
      theirBalance: format(asset, balances[1 - c.idx] ?? 0n),
      challengeDuration: Number(c.params.challengeDuration),
      participants: c.params.participants.map((p) => p.ethAddress),
      isFinal: c.state?.isFinal ?? false,
      ...(c.parent === undefined ? {} : { parentId: c.parent }),
      virtual: c.params.virtualChannel,
      locked: format(
        asset,
        (c.state?.outcome.locked ?? []).reduce((sum, l) => sum + (l.balances[0] ?? 0n), 0n),
      ),
    };
  }

  readonly #connectionIds = new Map<string, string>();

  /** A payment of `amount` (either sign) that made `state` of channel `c`. */
  #paymentView(c: ChannelInfo, state: State, amount: bigint, direction: 'sent' | 'received'): PaymentView {
    const asset = this.#assetOf(c);
    const balances = state.outcome.balances[0]!;
    return {
      channelId: c.id,
      asset: asset.symbol,
      version: state.version.toString(),
      amount: format(asset, amount < 0n ? -amount : amount),
      direction,
      ourBalance: format(asset, balances[c.idx]!),
      theirBalance: format(asset, balances[1 - c.idx]!),
      at: new Date().toISOString(),
    };
  }

  #settlementView(c: ChannelInfo, withdrawn: { asset: number; amount: bigint }[]): SettlementView {
    return {
      channelId: c.id,
      withdrawn: withdrawn.map((w) => {
        const asset = this.assets.ofHolder(c.state?.outcome.assets[w.asset]?.ethHolder);
        return { asset: asset.symbol, amount: format(asset, w.amount), receiver: this.signer.address };
      }),
    };
  }

  /** The user's (or the auto-accept policy's) decision on a verified peer's proposal. */
  async #decide(p: IncomingProposal, peer: VerifiedPeer) {
    // We are participant 1 of a channel a peer proposes; of a sub-channel, what we are in its parent.
    const me = Math.max(
      0,
      p.participants.findIndex((a) => a.toLowerCase() === this.signer.address.toLowerCase()),
    );
    const ourFund = p.fundingAgreement[0]?.[me] ?? 0n;
    const peerFund = p.fundingAgreement[0]?.[1 - me] ?? 0n;
    const known = p.allocation.assets.map((a) => this.assets.byHolder(a.ethHolder));
    const asset = known[0] ?? this.assets.eth;
    const connection = await this.agent.dependencyManager
      .resolve(DidCommConnectionService)
      .findByTheirDid(this.agent.context, p.peer);
    const view: ProposalView = {
      id: p.proposalID.toLowerCase(),
      connectionId: connection?.id,
      peerDid: p.peer,
      peerLabel: connection?.theirLabel,
      claims: {
        issuer: peer.issuer,
        ethereumAddress: peer.address,
        name: peer.name,
        spendingLimit: peer.spendingLimit === undefined ? undefined : formatAmount(peer.spendingLimit),
      },
      asset: asset.symbol,
      peerFund: format(asset, peerFund),
      ourFund: format(asset, ourFund),
      challengeDuration: Number(p.challengeDuration),
      status: 'pending',
      receivedAt: new Date().toISOString(),
    };
    const entry: PendingProposal = { view };
    this.#proposals.set(view.id, entry);
    const settle = (accept: boolean, reason: string) => {
      view.status = accept ? 'accepted' : reason === EXPIRED ? 'expired' : 'rejected';
      entry.decide = undefined;
      this.events.emit({ type: 'proposal', proposal: { ...view } });
      return accept ? ({ accept: true } as const) : ({ accept: false, reason } as const);
    };
    // The app channels we take part in pay for a credential we offered (checked before the gate).
    const saleApp = this.chain.config.apps?.['credentialPayment'];
    const app = p.app.toLowerCase();
    const ourApp = app === ZERO_ADDRESS || (saleApp !== undefined && app === saleApp.toLowerCase());
    if (!ourApp || known.length !== 1 || known[0] === undefined)
      return settle(false, 'only payment and credential-sale channels of one asset of our deployment');
    // The spending limit and the auto-accept limit are ETH; a token channel that asks for our
    // tokens always asks the user.
    const isEth = asset.token === undefined;
    if (isEth && peer.spendingLimit !== undefined && peerFund > peer.spendingLimit)
      return settle(false, 'the deposit exceeds the peer’s spending limit');
    const limit = isEth ? parseAmount(this.config.autoAcceptMaxFund) : 0n;
    if (this.config.autoAccept && ourFund <= limit) return settle(true, '');
    this.events.emit({ type: 'proposal', proposal: { ...view } });
    const answer = await new Promise<{ accept: boolean; reason?: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ accept: false, reason: EXPIRED }), DECISION_MS);
      entry.decide = (accept, reason) => {
        clearTimeout(timer);
        resolve({ accept, reason });
      };
    });
    return settle(answer.accept, answer.accept ? '' : (answer.reason ?? 'declined by the user'));
  }

  #onClientEvent(e: ClientEvent): void {
    void this.#sales
      .onClientEvent(e)
      .catch((err: unknown) =>
        this.log(`credential sale: ${err instanceof Error ? err.message : String(err)}`),
      );
    const info = 'channelId' in e && e.channelId !== undefined ? this.#tryChannel(e.channelId) : undefined;
    switch (e.type) {
      case 'opened':
        if (info !== undefined)
          this.events.emit({ type: 'channel-opened', channel: this.#channelView(info) });
        break;
      case 'phase':
        this.events.emit({ type: 'channel-phase', channelId: e.channelId, from: e.from, to: e.to });
        break;
      case 'payment-sent':
      case 'payment-received': {
        if (info?.state === undefined) break;
        const direction = e.type === 'payment-sent' ? 'sent' : 'received';
        const payment = this.#paymentView(info, info.state, e.amounts[0] ?? 0n, direction);
        this.history.add(payment);
        this.events.emit({ type: e.type, payment });
        break;
      }
      case 'registered':
      case 'progressed':
        this.events.emit({
          type: 'dispute',
          channelId: e.channelId,
          version: e.version.toString(),
          timeout: e.timeout.toString(),
          by: e.by,
        });
        break;
      case 'settled':
        if (info !== undefined)
          this.events.emit({ type: 'settled', settlement: this.#settlementView(info, e.withdrawn) });
        break;
      case 'funding-failed':
      case 'warning':
        this.events.emit({
          type: 'warning',
          channelId: e.channelId,
          context: e.type === 'warning' ? e.context : 'funding',
          message: e.error instanceof Error ? e.error.message : String(e.error),
        });
        break;
      case 'updated':
        break;
    }
  }

  #tryChannel(id: string): ChannelInfo | undefined {
    try {
      return this.client.channel(id);
    } catch {
      return undefined;
    }
  }

  #listen(): void {
    const agent = this.agent;
    this.#stops.push(
      onSaleOffer(agent, (offer, connection) =>
        this.#sales
          .received(offer, connection)
          .catch((err: unknown) =>
            this.log(`sale offer: ${err instanceof Error ? err.message : String(err)}`),
          ),
      ),
    );
    const onConnection = (e: DidCommConnectionStateChangedEvent) => {
      const c = e.payload.connectionRecord;
      const duplicate = this.#duplicates(c);
      if (c.theirDid !== undefined && !duplicate) this.#connectionIds.set(c.theirDid, c.id);
      this.events.emit({ type: 'connection', connection: this.#connectionView(c) });
      // As inviter we answered with a fresh DID: switch to our identity DID, the subject of our credential.
      if (
        c.role === DidCommDidExchangeRole.Responder &&
        c.state === DidCommDidExchangeState.Completed &&
        c.did !== this.identity.did &&
        !duplicate
      ) {
        const adoption = adoptIdentityDid(agent, c.id, this.identity.did, this.timeoutMs).then(
          (r) => this.events.emit({ type: 'connection', connection: this.#connectionView(r) }),
          (err: unknown) => this.log(`identity DID not adopted on ${c.id}: ${(err as Error).message}`),
        );
        this.#adoptions.set(c.id, adoption);
        void adoption.finally(() => this.#adoptions.delete(c.id));
      }
    };
    const onRotated = (e: DidCommConnectionDidRotatedEvent) => {
      const c = e.payload.connectionRecord;
      if (c.theirDid !== undefined) this.#connectionIds.set(c.theirDid, c.id);
      this.#labels.set(c.theirDid ?? '', c.theirLabel);
    };
    const onMessage = (e: DidCommBasicMessageStateChangedEvent) => {
      const view = messageView(e.payload.basicMessageRecord);
      this.events.emit({
        type: view.direction === 'sent' ? 'message-sent' : 'message-received',
        message: view,
      });
    };
    const onCredential = (e: DidCommCredentialStateChangedEvent) => this.#onCredentialExchange(e);
    // A finished presentation exchange (two for every channel opened) has nothing left to say:
    // what the gate verified went into the proposal event. Done is its last write in both roles.
    const onProof = (e: DidCommProofStateChangedEvent) => {
      const r = e.payload.proofRecord;
      if (r.state !== DidCommProofState.Done) return;
      void agent.didcomm.proofs
        .deleteById(r.id, { deleteAssociatedDidCommMessages: true })
        .catch((err: unknown) => this.log(`proof exchange ${r.id} not deleted: ${(err as Error).message}`));
    };
    agent.events.on(DidCommConnectionEventTypes.DidCommConnectionStateChanged, onConnection);
    agent.events.on(DidCommConnectionEventTypes.DidCommConnectionDidRotated, onRotated);
    agent.events.on(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, onMessage);
    agent.events.on(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onCredential);
    agent.events.on(DidCommProofEventTypes.ProofStateChanged, onProof);
    this.#stops.push(() => {
      agent.events.off(DidCommConnectionEventTypes.DidCommConnectionStateChanged, onConnection);
      agent.events.off(DidCommConnectionEventTypes.DidCommConnectionDidRotated, onRotated);
      agent.events.off(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, onMessage);
      agent.events.off(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onCredential);
      agent.events.off(DidCommProofEventTypes.ProofStateChanged, onProof);
    });
    void agent.didcomm.connections.getAll().then((all) => {
      for (const c of all) {
        if (c.theirDid !== undefined) {
          this.#connectionIds.set(c.theirDid, c.id);
          this.#labels.set(c.theirDid, c.theirLabel);
        }
      }
    });
  }

  /** Holder: a credential arrived. Issuer: a holder asked for one (issued when auto-issue is on). */
  #onCredentialExchange(e: DidCommCredentialStateChangedEvent): void {
    const r = e.payload.credentialExchangeRecord;
    if (r.role === DidCommCredentialRole.Holder && r.state === DidCommCredentialState.Done) {
      void this.#credentialOf(r.credentials.map((c) => c.credentialRecordId)).then((view) => {
        if (view !== undefined) this.events.emit({ type: 'credential-received', credential: view });
      });
    }
    if (r.role === DidCommCredentialRole.Issuer && r.state === DidCommCredentialState.ProposalReceived) {
      const limit = this.config.autoIssueSpendingLimit;
      if (limit === '') {
        this.log(`credential request on ${r.connectionId}: issue it with issue-credential`);
        return;
      }
      void this.#answerRequest(r.id, r.connectionId!, parseAmount(limit)).catch((err: unknown) =>
        this.log(`credential request on ${r.connectionId} not answered: ${(err as Error).message}`),
      );
    }
  }

  async #answerRequest(recordId: string, connectionId: string, spendingLimit: bigint): Promise<void> {
    const c = await this.#readyConnection(connectionId);
    const proposal = (await this.agent.didcomm.credentials.getFormatData(recordId)).proposal?.jsonld
      ?.credential;
    const subject = proposal?.credentialSubject as { name?: unknown } | undefined;
    const name = typeof subject?.name === 'string' && subject.name.trim() !== '' ? subject.name : undefined;
    if (name === undefined) {
      await this.agent.didcomm.credentials
        .declineOffer({ credentialExchangeRecordId: recordId })
        .catch(() => undefined);
      return;
    }
    const address = await provenAddress(this.agent, c.id, { timeoutMs: this.timeoutMs });
    await this.agent.didcomm.credentials.negotiateProposal({
      credentialExchangeRecordId: recordId,
      credentialFormats: {
        jsonld: {
          credential: peerCredentialJson(this.issuer.did, c.theirDid!, {
            ethereumAddress: address,
            name,
            spendingLimit,
          }),
          options: { proofType: PROOF_TYPE, proofPurpose: 'assertionMethod' },
        },
      },
      autoAcceptCredential: DidCommAutoAcceptCredential.Always,
    });
  }

  async #credentialOf(ids: string[]): Promise<CredentialView | undefined> {
    for (const id of ids) {
      const r: W3cCredentialRecord | null = await this.agent.w3cCredentials.getById(id).catch(() => null);
      const vc = r?.firstCredential;
      if (r !== null && vc?.claimFormat === ClaimFormat.LdpVc && vc.type.includes(PEER_CREDENTIAL_TYPE))
        return credentialView(r.id, vc as W3cJsonLdVerifiableCredential);
    }
    return undefined;
  }

  /** The next credential received on `connectionId`. */
  #nextCredential(connectionId: string) {
    let stop = () => undefined as void;
    const promise = new Promise<CredentialView>((resolve, reject) => {
      const unsubscribe = this.events.subscribe((e) => {
        if (e.type === 'credential-received') resolve(e.credential);
      });
      const onFail = (ev: DidCommCredentialStateChangedEvent) => {
        const r = ev.payload.credentialExchangeRecord;
        if (
          r.connectionId === connectionId &&
          [DidCommCredentialState.Abandoned, DidCommCredentialState.Declined].includes(r.state)
        )
          reject(
            new PeerNotAuthorizedError('no-credential', `the issuer refused: ${r.errorMessage ?? r.state}`),
          );
      };
      this.agent.events.on(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onFail);
      stop = () => {
        unsubscribe();
        this.agent.events.off(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onFail);
      };
    });
    promise.catch(() => undefined);
    return {
      wait: (ms: number) =>
        Promise.race([
          promise,
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new PeerNotAuthorizedError('timeout', 'no credential arrived in time')),
              ms,
            ).unref(),
          ),
        ]),
      stop: () => stop(),
    };
  }

  /** The next DID rotation by a peer, per connection (for acceptInvitation). */
  #nextRotation() {
    const seen = new Map<string, DidCommConnectionRecord>();
    const waiters = new Map<string, (c: DidCommConnectionRecord) => void>();
    const on = (e: DidCommConnectionDidRotatedEvent) => {
      if (e.payload.theirDid === undefined) return;
      const c = e.payload.connectionRecord;
      seen.set(c.id, c);
      waiters.get(c.id)?.(c);
    };
    this.agent.events.on(DidCommConnectionEventTypes.DidCommConnectionDidRotated, on);
    return {
      wait: (id: string, ms: number) =>
        new Promise<DidCommConnectionRecord | undefined>((resolve) => {
          const hit = seen.get(id);
          if (hit !== undefined) return resolve(hit);
          const timer = setTimeout(() => resolve(undefined), ms);
          waiters.set(id, (c) => {
            clearTimeout(timer);
            resolve(c);
          });
        }),
      stop: () => this.agent.events.off(DidCommConnectionEventTypes.DidCommConnectionDidRotated, on),
    };
  }
}

async function loadIdentity(agent: PerunIdentityAgent): Promise<NodeIdentity> {
  const [stored] = await agent.genericRecords.findAllByQuery({ kind: IDENTITY_RECORD });
  if (stored !== undefined) return stored.content as unknown as NodeIdentity;
  const did = await createIdentityDid(agent);
  const issuerDid = (await PeerCredentialIssuer.create(agent)).did;
  const identity: NodeIdentity = { did, issuerDid };
  await agent.genericRecords.save({ content: { ...identity }, tags: { kind: IDENTITY_RECORD } });
  return identity;
}

/** An optional ISO 8601 date of a request; a 400 naming the field if it is not one. */
function dateField(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new ApiRequestError(400, 'INVALID_REQUEST', `${field} is not a date`, { field });
  return d;
}

function credentialView(id: string, vc: W3cJsonLdVerifiableCredential): CredentialView {
  const subject = (Array.isArray(vc.credentialSubject)
    ? vc.credentialSubject[0]
    : vc.credentialSubject) as unknown as {
    id?: string;
    claims?: Record<string, unknown>;
  } & Record<string, unknown>;
  const claims = { ...(subject.claims ?? {}), ...subject } as Record<string, unknown>;
  const limit = typeof claims['spendingLimit'] === 'string' ? claims['spendingLimit'] : undefined;
  return {
    id,
    issuer: typeof vc.issuer === 'string' ? vc.issuer : vc.issuer.id,
    subject: subject.id ?? '',
    types: [...vc.type],
    claims: {
      ethereumAddress: String(claims['ethereumAddress'] ?? ''),
      name: typeof claims['name'] === 'string' ? claims['name'] : undefined,
      spendingLimit: limit !== undefined && /^\d+$/.test(limit) ? formatAmount(BigInt(limit)) : undefined,
    },
    issuanceDate: vc.issuanceDate,
    expirationDate: vc.expirationDate,
  };
}

function messageView(r: DidCommBasicMessageRecord): MessageView {
  return {
    id: r.id,
    connectionId: r.connectionId,
    content: r.content,
    direction: r.role === DidCommBasicMessageRole.Sender ? 'sent' : 'received',
    sentTime: r.sentTime,
  };
}
