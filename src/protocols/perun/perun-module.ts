// The Perun protocol as a Credo module: registers the handler, advertises the protocol and its
// roles for discover-features, and binds the DIDComm wire to the agent. The channel client on
// top of it is the agent's (src/agent); `agent.modules.perun.wire` is what it is handed.
import { injectable, type AgentContext, type DependencyManager, type Module } from '@credo-ts/core';
import { DidCommFeatureRegistry, DidCommMessageHandlerRegistry, DidCommProtocol } from '@credo-ts/didcomm';
import { DidCommChannelWire } from './didcomm-wire.js';
import { PerunMessageHandler } from './handlers/perun-message-handler.js';
import { PERUN_PROTOCOL_URI, PERUN_ROLES } from './messages/channel-messages.js';

@injectable()
export class PerunApi {
  public constructor(public readonly wire: DidCommChannelWire) {}
}

export class PerunModule implements Module {
  public readonly wire = new DidCommChannelWire();
  public readonly api = PerunApi;

  public register(dependencyManager: DependencyManager): void {
    dependencyManager.registerInstance(DidCommChannelWire, this.wire);
  }

  public async initialize(agentContext: AgentContext): Promise<void> {
    this.wire.attach(agentContext);
    agentContext
      .resolve(DidCommMessageHandlerRegistry)
      .registerMessageHandler(new PerunMessageHandler(this.wire));
    agentContext
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: PERUN_PROTOCOL_URI, roles: [...PERUN_ROLES] }));
  }
}
