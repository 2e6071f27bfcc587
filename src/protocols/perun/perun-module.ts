// The Perun protocol as a Credo module: registers the handler (for the messages under the old
// URI too, ../protocol-uris.ts), advertises the protocol and its roles for discover-features, and binds the DIDComm wire to the agent. The channel client on
// top of it is the agent's (src/agent); `agent.modules.perun.wire` is what it is handed. Given
// lean options (the agent's key agreement and carrier), it also runs the lean path for the
// channel messages (./lean/), which the agent's inbound transports find registered here.
import { injectable, type AgentContext, type DependencyManager, type Module } from '@credo-ts/core';
import { DidCommFeatureRegistry, DidCommMessageHandlerRegistry, DidCommProtocol } from '@credo-ts/didcomm';
import { DidCommChannelWire } from './didcomm-wire.js';
import { PerunMessageHandler } from './handlers/perun-message-handler.js';
import { PerunLeanPath } from './lean/lean-path.js';
import type { LeanOptions } from './lean/types.js';
import { LEGACY_PERUN_MESSAGES, PERUN_PROTOCOL_URI, PERUN_ROLES } from './messages/channel-messages.js';
import { legacyHandler } from '../protocol-uris.js';

@injectable()
export class PerunApi {
  public constructor(public readonly wire: DidCommChannelWire) {}

  /** The lean path, where the agent runs it. */
  public get lean(): PerunLeanPath | undefined {
    return this.wire.lean;
  }
}

export interface PerunModuleOptions {
  /** Runs the lean path beside Credo's pipeline; without it every message goes through Credo. */
  lean?: LeanOptions;
}

export class PerunModule implements Module {
  public readonly lean: PerunLeanPath | undefined;
  public readonly wire: DidCommChannelWire;
  public readonly api = PerunApi;

  public constructor(options: PerunModuleOptions = {}) {
    this.lean = options.lean === undefined ? undefined : new PerunLeanPath(options.lean);
    this.wire = new DidCommChannelWire(this.lean);
  }

  public register(dependencyManager: DependencyManager): void {
    dependencyManager.registerInstance(DidCommChannelWire, this.wire);
    if (this.lean !== undefined) dependencyManager.registerInstance(PerunLeanPath, this.lean);
  }

  public async initialize(agentContext: AgentContext): Promise<void> {
    this.wire.attach(agentContext);
    const handler = new PerunMessageHandler(this.wire);
    agentContext
      .resolve(DidCommMessageHandlerRegistry)
      .registerMessageHandlers([handler, legacyHandler(handler, LEGACY_PERUN_MESSAGES)]);
    agentContext
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: PERUN_PROTOCOL_URI, roles: [...PERUN_ROLES] }));
  }

  public async shutdown(): Promise<void> {
    await this.lean?.close();
  }
}
