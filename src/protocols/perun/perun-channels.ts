// The channel client a PerunModule runs when it is given a chain and keys
// (PerunModuleOptions.channels): built on the module's DIDComm wire, started when the agent
// initializes and closed when it shuts down; and the payment calls of `agent.modules.perun`
// (openChannel, pay, close) in a Credo user's terms: a connection, amounts in the asset's units.
import type { AgentContext } from '@credo-ts/core';
import { DidCommConnectionService } from '@credo-ts/didcomm';
import { ChannelClient } from '../../channels/client.js';
import type { ChannelClientOptions, ChannelInfo } from '../../channels/client/types.js';
import { PerunError } from '../../channels/errors.js';
import type { WithdrawnAmount } from '../../channels/interfaces.js';
import type { Address, Allocation, Hex, State } from '../../channels/types.js';
import type { DidCommChannelWire } from './didcomm-wire.js';

/** The channel client's environment: signer, backend, funder, adjudicator, store, onProposal, …; the wire is the module's. */
export type PerunChannelOptions = Omit<ChannelClientOptions, 'wire'>;

export interface OpenChannelOptions {
  /** The DIDComm connection with the peer. */
  connectionId: string;
  /** The address that signs the peer's channel states. */
  peerAddress: Address;
  /** Initial balances, [asset][participant]; we are participant 0. */
  allocation: Allocation;
  /** Seconds a registered state can be refuted. */
  challengeDuration: bigint;
}

export type PerunModuleErrorCode = 'NO_CHANNEL_CLIENT' | 'NO_PEER';

export class PerunModuleError extends PerunError {
  declare readonly code: PerunModuleErrorCode;
  constructor(code: PerunModuleErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

export class PerunChannels {
  /** Absent when the module was made without `channels`: the DIDComm layer only. */
  readonly client: ChannelClient | undefined;

  constructor(
    private readonly wire: DidCommChannelWire,
    options?: PerunChannelOptions,
  ) {
    this.client = options === undefined ? undefined : new ChannelClient({ ...options, wire });
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

  async start(): Promise<void> {
    await this.client?.start();
  }

  async stop(): Promise<void> {
    await this.client?.close();
  }
}
