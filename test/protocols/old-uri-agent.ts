// An agent of before the new namespace, made from a real one: the handlers of every message type
// under https://perun-agent.org/protocols/ taken out, so its Credo answers such a message with the
// generic "not supported" problem report, as perun-agent 0.1.0 did, and takes the old URIs only.
import { DidCommMessageHandlerRegistry, type DidCommMessageHandler } from '@credo-ts/didcomm';
import type { DependencyManager } from '@credo-ts/core';
import { PROTOCOL_NAMESPACE } from '../../src/protocols/protocol-uris.js';

export function forgetNewNamespace(agent: { dependencyManager: DependencyManager }): void {
  const registry = agent.dependencyManager.resolve(DidCommMessageHandlerRegistry) as unknown as {
    messageHandlers: DidCommMessageHandler[];
  };
  registry.messageHandlers = registry.messageHandlers.filter(
    (h) => !h.supportedMessages.some((m) => m.type.messageTypeUri.startsWith(PROTOCOL_NAMESPACE)),
  );
}
