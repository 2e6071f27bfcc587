// The channel client a PerunModule runs when it is given a chain and keys
// (PerunModuleOptions.channels): built on the module's DIDComm wire, started when the agent
// initializes and closed when it shuts down; and the payment calls of `agent.modules.perun`
// (openChannel, pay, close) in a Credo user's terms: a connection, amounts in the asset's units.
// Given a gate (a peer policy), the identity module's gate stands in front of incoming proposals
// and openChannel verifies the peer first, at the address its credential names.
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
import type { WithdrawnAmount } from '../../channels/interfaces.js';
import type { Address, Allocation, Hex, State } from '../../channels/types.js';
import { IdentityApi } from '../identity/identity-api.js';
import type { PeerPolicy } from '../identity/policy.js';
import type { GateOptions, VerifiedProposalHandler } from '../identity/services/proposal-gate-service.js';
import type { VerifyOptions } from '../identity/services/peer-verifier-service.js';
import type { DidCommChannelWire } from './didcomm-wire.js';

/** The channel client's environment: signer, backend, funder, adjudicator, store, onProposal, …; the wire is the module's. */
export type PerunChannelOptions = Omit<ChannelClientOptions, 'wire'>;

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

export type PerunModuleErrorCode = 'NO_CHANNEL_CLIENT' | 'NO_PEER' | 'NO_PEER_ADDRESS' | 'NO_IDENTITY_MODULE';

export class PerunModuleError extends PerunError {
  declare readonly code: PerunModuleErrorCode;
  constructor(code: PerunModuleErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

export class PerunChannels {
  /** Absent when the module was made without `channels`: the DIDComm layer only. */
  readonly client: ChannelClient | undefined;
  /** The gated onProposal, made on start in the agent's context. */
  #gated: ((p: IncomingProposal) => Promise<Decision>) | undefined;
  #identity: IdentityApi | undefined;
  /** The caller's onProposal: with a gate, asked about verified peers' proposals only. */
  readonly #inner: VerifiedProposalHandler | undefined;

  constructor(
    private readonly wire: DidCommChannelWire,
    options?: PerunChannelOptions,
    private readonly gate?: PerunGateOptions,
  ) {
    const gated: ChannelClientOptions['onProposal'] = (p) =>
      this.#gated === undefined
        ? { accept: false, reason: 'the proposal gate is not running' }
        : this.#gated(p);
    this.client =
      options === undefined
        ? undefined
        : new ChannelClient({ ...options, wire, ...(gate === undefined ? {} : { onProposal: gated }) });
    this.#inner = options?.onProposal;
  }

  #client(): ChannelClient {
    if (this.client === undefined) {
      throw new PerunModuleError(
        'NO_CHANNEL_CLIENT',
        'this PerunModule runs no channel client: make it with new PerunModule({ channels: { … } })',
      );
    }
    return this.client;
  }

  /** Proposes a channel to the peer on the connection; resolves once it is funded. */
  async openChannel(agentContext: AgentContext, o: OpenChannelOptions): Promise<ChannelInfo> {
    const client = this.#client();
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
    return this.#client().sendPayment(channelId, amount, asset);
  }

  /** Cooperative close: final state, concludeFinal, withdrawal; what we withdrew. */
  async close(channelId: Hex): Promise<WithdrawnAmount[]> {
    return this.#client().settle(channelId);
  }

  #identityApi(): IdentityApi {
    if (this.#identity === undefined)
      throw new PerunModuleError('NO_IDENTITY_MODULE', 'the gate is not running');
    return this.#identity;
  }

  /** Starts the client, behind the identity gate if the module has one. */
  async start(agentContext: AgentContext): Promise<void> {
    if (this.gate !== undefined && this.client !== undefined) {
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
    await this.client?.start();
  }

  async stop(): Promise<void> {
    await this.client?.close();
  }
}
