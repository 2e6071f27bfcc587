// The Perun protocol as a Credo module: registers the handler (for the messages under the old
// URI too, ../protocol-uris.ts), advertises the protocol and its roles for discover-features, and binds the DIDComm wire to the agent.
// Given `channels` (a chain and keys), or `ethereum` (a chain configuration and an account key,
// connected when the agent initializes) with `channels` holding the rest, it also runs a channel
// client on that wire (./perun-channels.ts) and `agent.modules.perun` opens, pays and closes; without, the channel
// client is the caller's (src/agent's), handed `agent.modules.perun.wire`. Given lean options (the
// agent's key agreement and carrier), it also runs the lean path for the channel messages
// (./lean/), which the agent's inbound transports find registered here.
import { AgentContext, injectable, type DependencyManager, type Module } from '@credo-ts/core';
import type { ChannelClient } from '../../channels/client.js';
import type { ChannelInfo } from '../../channels/client/types.js';
import type { WithdrawnAmount } from '../../channels/interfaces.js';
import type { Hex, State } from '../../channels/types.js';
import { DidCommFeatureRegistry, DidCommMessageHandlerRegistry, DidCommProtocol } from '@credo-ts/didcomm';
import { DidCommChannelWire } from './didcomm-wire.js';
import { PerunMessageHandler } from './handlers/perun-message-handler.js';
import {
  PerunChannels,
  type OpenChannelOptions,
  type PerunChainChannelOptions,
  type PerunChannelOptions,
  type PerunEthereumOptions,
  type PerunGateOptions,
} from './perun-channels.js';
import { PerunLeanPath } from './lean/lean-path.js';
import type { LeanOptions } from './lean/types.js';
import { LEGACY_PERUN_MESSAGES, PERUN_PROTOCOL_URI, PERUN_ROLES } from './messages/channel-messages.js';
import { legacyHandler } from '../protocol-uris.js';
import { genericProblemReports } from '../generic-problem-reports.js';

@injectable()
export class PerunApi {
  public constructor(
    public readonly wire: DidCommChannelWire,
    private readonly channels: PerunChannels,
    private readonly agentContext: AgentContext,
  ) {}

  /** The lean path, where the agent runs it. */
  public get lean(): PerunLeanPath | undefined {
    return this.wire.lean;
  }

  /** The channel client the module runs (made with `channels`, or on `ethereum` once initialized), for all it offers beyond the calls below. */
  public get client(): ChannelClient | undefined {
    return this.channels.client;
  }

  /** Proposes a channel to the peer on a connection; resolves once it is funded. */
  public openChannel(options: OpenChannelOptions): Promise<ChannelInfo> {
    return this.channels.openChannel(this.agentContext, options);
  }

  /** Pays `amount` (the asset's smallest unit) on the channel; resolves with the fully signed state. */
  public pay(channelId: Hex, amount: bigint, asset = 0): Promise<State> {
    return this.channels.pay(channelId, amount, asset);
  }

  /** Closes the channel cooperatively and withdraws; what we withdrew. */
  public close(channelId: Hex): Promise<WithdrawnAmount[]> {
    return this.channels.close(channelId);
  }
}

export interface PerunModuleOptions {
  /** Runs the lean path beside Credo's pipeline; without it every message goes through Credo. */
  lean?: LeanOptions;
  /**
   * Runs a channel client on the wire with this environment (chain, keys, store, onProposal); with
   * `ethereum`, all of it but the chain's parts (signer, backend, funder, adjudicator, watcher).
   */
  channels?: PerunChannelOptions | PerunChainChannelOptions;
  /**
   * The chain as one option: the module connects when the agent initializes and builds the signer,
   * funder, adjudicator and a local watcher itself; `channels` then needs only the store.
   */
  ethereum?: PerunEthereumOptions;
  /**
   * With `channels`, where the agent also runs IdentityModule: its gate in front of incoming
   * proposals (channels.onProposal then decides on verified peers only), and openChannel verifies
   * the peer and opens at its credential's address.
   */
  gate?: PerunGateOptions;
}

export class PerunModule implements Module {
  public readonly lean: PerunLeanPath | undefined;
  public readonly wire: DidCommChannelWire;
  public readonly channels: PerunChannels;
  public readonly api = PerunApi;

  public constructor(options: PerunModuleOptions = {}) {
    this.lean = options.lean === undefined ? undefined : new PerunLeanPath(options.lean);
    this.wire = new DidCommChannelWire(this.lean);
    this.channels = new PerunChannels(this.wire, options.channels, options.gate, options.ethereum);
  }

  public register(dependencyManager: DependencyManager): void {
    dependencyManager.registerInstance(DidCommChannelWire, this.wire);
    dependencyManager.registerInstance(PerunChannels, this.channels);
    if (this.lean !== undefined) dependencyManager.registerInstance(PerunLeanPath, this.lean);
  }

  public async initialize(agentContext: AgentContext): Promise<void> {
    this.wire.attach(agentContext);
    const handler = new PerunMessageHandler(this.wire);
    agentContext
      .resolve(DidCommMessageHandlerRegistry)
      .registerMessageHandlers([handler, legacyHandler(handler, LEGACY_PERUN_MESSAGES)]);
    genericProblemReports(agentContext).subscribe((connection, report) =>
      this.wire.unsupported(connection, report),
    );
    agentContext
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: PERUN_PROTOCOL_URI, roles: [...PERUN_ROLES] }));
    await this.channels.start(agentContext);
  }

  public async shutdown(): Promise<void> {
    await this.channels.stop();
    await this.lean?.close();
  }
}
