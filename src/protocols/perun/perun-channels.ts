// The channel client a PerunModule runs when it is given a chain and keys
// (PerunModuleOptions.channels): built on the module's DIDComm wire, started when the agent
// initializes and closed when it shuts down; and the payment calls of `agent.modules.perun`
// (openChannel, pay, close) in a Credo user's terms: a connection, amounts in the asset's units.
// Given `ethereum` (a chain configuration and an account key) instead of the chain's parts, it
// connects when the agent initializes and builds signer, funder, adjudicator and a local watcher
// itself (../../channels/ethereum/environment.ts). Given a gate (a peer policy), the identity
// module's gate stands in front of incoming proposals and openChannel verifies the peer first, at
// the address its credential names.
import type { AgentContext } from '@credo-ts/core';
import { DidCommConnectionService } from '@credo-ts/didcomm';
import { ChannelClient } from '../../channels/client.js';
import type {
  ChannelClientOptions,
  ChannelInfo,
  Decision,
  IncomingProposal,
} from '../../channels/client/types.js';
import { PerunError } from '../../channels/errors.js';
import {
  ethereumConfigToJson,
  parseEthereumConfig,
  type EthereumConfig,
} from '../../channels/ethereum/config.js';
import { connectEthereumEnvironment, type EthereumEnvironment } from '../../channels/ethereum/environment.js';
import type { WithdrawnAmount } from '../../channels/interfaces.js';
import type { Address, Allocation, Hex, State } from '../../channels/types.js';
import { IdentityApi } from '../identity/identity-api.js';
import type { PeerPolicy } from '../identity/policy.js';
import type { GateOptions, VerifiedProposalHandler } from '../identity/services/proposal-gate-service.js';
import type { VerifyOptions } from '../identity/services/peer-verifier-service.js';
import type { DidCommChannelWire } from './didcomm-wire.js';

/** The channel client's environment: signer, backend, funder, adjudicator, store, onProposal, …; the wire is the module's. */
export type PerunChannelOptions = Omit<ChannelClientOptions, 'wire'>;

/** The chain parts PerunModuleOptions.ethereum builds; `channels` leaves them out then. */
const CHAIN_PARTS = ['signer', 'backend', 'funder', 'adjudicator', 'watcher'] as const;

/** With `ethereum`: the rest of the channel client's environment (the store, onProposal, timings, …). */
export type PerunChainChannelOptions = Omit<PerunChannelOptions, (typeof CHAIN_PARTS)[number]>;

/** The chain as one option: the module connects to it when the agent initializes. */
export interface PerunEthereumOptions {
  /**
   * JSON-RPC URL, chain ID and contract addresses (adjudicator, assetHolderETH, …), named as in the
   * agent's chain file: an EthereumConfig, or the chain file's JSON as it is.
   */
  config: EthereumConfig | Record<string, unknown>;
  /** The account's private key: it pays for the transactions and signs channel states and withdrawals. */
  privateKey: string;
  /** How often the chain is read (events, watcher, and the client unless channels.chainPollMs); default 250 ms. */
  pollIntervalMs?: number;
}

/** The identity gate (the agent runs IdentityModule): whom we open channels with and accept them from. */
export interface PerunGateOptions {
  /** Trusted issuers, credential type, required claims, address proof. */
  policy: PeerPolicy;
  /** How peers are verified (timeout, reliance on an earlier verification), both ways. */
  verify?: VerifyOptions;
  /** Called with every refused proposal. */
  onRefusal?: GateOptions['onRefusal'];
}

export interface OpenChannelOptions {
  /** The DIDComm connection with the peer. */
  connectionId: string;
  /** The address that signs the peer's channel states; with a gate, the verified credential's (leave it out). */
  peerAddress?: Address;
  /** Initial balances, [asset][participant]; we are participant 0. */
  allocation: Allocation;
  /** Seconds a registered state can be refuted. */
  challengeDuration: bigint;
}

export type PerunModuleErrorCode =
  'NO_CHANNEL_CLIENT' | 'NO_PEER' | 'NO_PEER_ADDRESS' | 'NO_IDENTITY_MODULE' | 'INVALID_OPTIONS';

export class PerunModuleError extends PerunError {
  declare readonly code: PerunModuleErrorCode;
  constructor(code: PerunModuleErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

/** PerunModuleOptions.ethereum with its configuration checked, and the client's other options. */
interface ChainSetting {
  config: EthereumConfig;
  options: PerunEthereumOptions;
  rest: PerunChainChannelOptions;
}

export class PerunChannels {
  #client: ChannelClient | undefined;
  /** With `ethereum`: the configuration, checked, and the client's other options, until start connects. */
  readonly #chain: ChainSetting | undefined;
  #environment: EthereumEnvironment | undefined;
  /** The gated onProposal, made on start in the agent's context. */
  #gated: ((p: IncomingProposal) => Promise<Decision>) | undefined;
  #identity: IdentityApi | undefined;
  /** The caller's onProposal: with a gate, asked about verified peers' proposals only. */
  readonly #inner: VerifiedProposalHandler | undefined;

  constructor(
    private readonly wire: DidCommChannelWire,
    options?: PerunChannelOptions | PerunChainChannelOptions,
    private readonly gate?: PerunGateOptions,
    ethereum?: PerunEthereumOptions,
  ) {
    this.#inner = options?.onProposal;
    if (ethereum !== undefined) {
      if (options === undefined)
        throw new PerunModuleError(
          'INVALID_OPTIONS',
          'PerunModule({ ethereum }) needs channels: { store, … }',
        );
      const given = CHAIN_PARTS.filter((part) => part in options);
      if (given.length > 0)
        throw new PerunModuleError(
          'INVALID_OPTIONS',
          `with ethereum the module builds ${given.join(', ')} itself: leave them out of channels`,
          { given },
        );
      const { config } = ethereum;
      const json =
        typeof config['chainId'] === 'bigint' ? ethereumConfigToJson(config as EthereumConfig) : config;
      this.#chain = { config: parseEthereumConfig(json), options: ethereum, rest: options };
    } else if (options !== undefined) {
      this.#client = this.#make(options as PerunChannelOptions);
    }
  }

  /** Absent when the module was made without `channels` (the DIDComm layer only), and with `ethereum` until the agent initialized. */
  get client(): ChannelClient | undefined {
    return this.#client;
  }

  #make(options: PerunChannelOptions): ChannelClient {
    const gated: ChannelClientOptions['onProposal'] = (p) =>
      this.#gated === undefined
        ? { accept: false, reason: 'the proposal gate is not running' }
        : this.#gated(p);
    return new ChannelClient({
      ...options,
      wire: this.wire,
      ...(this.gate === undefined ? {} : { onProposal: gated }),
    });
  }

  /** With `ethereum`: connects to the chain and builds the client on it (a watcher included). */
  async #connect(agentContext: AgentContext, chain: ChainSetting): Promise<ChannelClient> {
    const { logger } = agentContext.config;
    const env = await connectEthereumEnvironment(chain.config, chain.options.privateKey, {
      store: chain.rest.store,
      ...(chain.options.pollIntervalMs === undefined ? {} : { pollIntervalMs: chain.options.pollIntervalMs }),
      onWatcherError: (err) =>
        logger.warn(`perun watcher: ${err instanceof Error ? err.message : String(err)}`),
    });
    this.#environment = env;
    return this.#make({
      chainPollMs: env.pollIntervalMs,
      ...chain.rest,
      signer: env.signer,
      backend: env.backend,
      funder: env.funder,
      adjudicator: env.adjudicator,
      watcher: env.watcher,
    });
  }

  #running(): ChannelClient {
    if (this.#client === undefined) {
      throw new PerunModuleError(
        'NO_CHANNEL_CLIENT',
        'this PerunModule runs no channel client: make it with new PerunModule({ channels: { … } }) or ({ ethereum, channels })',
      );
    }
    return this.#client;
  }

  /** Proposes a channel to the peer on the connection; resolves once it is funded. */
  async openChannel(agentContext: AgentContext, o: OpenChannelOptions): Promise<ChannelInfo> {
    const client = this.#running();
    if (this.gate !== undefined) {
      const { channel } = await this.#identityApi().proposeToVerifiedPeer(
        client,
        o.connectionId,
        this.gate.policy,
        { allocation: o.allocation, challengeDuration: o.challengeDuration },
        this.gate.verify,
      );
      return channel;
    }
    if (o.peerAddress === undefined) {
      throw new PerunModuleError('NO_PEER_ADDRESS', 'openChannel needs the peer’s address without a gate', {
        connectionId: o.connectionId,
      });
    }
    const connection = await agentContext
      .resolve(DidCommConnectionService)
      .getById(agentContext, o.connectionId);
    const { id, theirDid } = connection;
    const peer = theirDid === undefined ? undefined : this.wire.peerOf({ id, theirDid });
    if (peer === undefined) {
      throw new PerunModuleError(
        'NO_PEER',
        `connection ${o.connectionId} has no peer on the Perun wire yet`,
        {
          connectionId: o.connectionId,
        },
      );
    }
    return client.proposeChannel({
      peer,
      peerAddress: o.peerAddress,
      allocation: o.allocation,
      challengeDuration: o.challengeDuration,
    });
  }

  /** Pays `amount` of the asset at index `asset` to the peer; resolves with the fully signed state. */
  async pay(channelId: Hex, amount: bigint, asset = 0): Promise<State> {
    return this.#running().sendPayment(channelId, amount, asset);
  }

  /** Cooperative close: final state, concludeFinal, withdrawal; what we withdrew. */
  async close(channelId: Hex): Promise<WithdrawnAmount[]> {
    return this.#running().settle(channelId);
  }

  #identityApi(): IdentityApi {
    if (this.#identity === undefined)
      throw new PerunModuleError('NO_IDENTITY_MODULE', 'the gate is not running');
    return this.#identity;
  }

  /** Starts the client (connecting to the chain first with `ethereum`), behind the identity gate if the module has one. */
  async start(agentContext: AgentContext): Promise<void> {
    if (this.gate !== undefined && (this.#client !== undefined || this.#chain !== undefined)) {
      if (!agentContext.dependencyManager.isRegistered(IdentityApi)) {
        throw new PerunModuleError(
          'NO_IDENTITY_MODULE',
          'PerunModule({ gate }) needs the IdentityModule in the same agent',
        );
      }
      this.#identity = agentContext.resolve(IdentityApi);
      const { policy, verify, onRefusal } = this.gate;
      this.#gated = this.#identity.gatedProposalHandler(policy, this.#inner, {
        ...(verify === undefined ? {} : { verify }),
        ...(onRefusal === undefined ? {} : { onRefusal }),
      });
    }
    if (this.#chain !== undefined) this.#client = await this.#connect(agentContext, this.#chain);
    try {
      await this.#client?.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Closes the client, and with `ethereum` its watcher and chain connection (start connects anew). */
  async stop(): Promise<void> {
    await this.#client?.close();
    if (this.#environment !== undefined) {
      await this.#environment.close();
      this.#environment = undefined;
      this.#client = undefined;
    }
  }
}
