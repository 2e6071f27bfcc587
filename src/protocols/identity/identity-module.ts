// The identity protocol as a Credo module: registers its services for dependency injection, and on
// initialize its message handlers (for the messages under the old URI too, answered under it:
// ../protocol-uris.ts) and the protocol with its roles for discover-features. It needs
// the DIDComm module with the exchange protocols of ./exchange-protocols.ts, DIDs (did:key,
// did:peer) and W3C credentials with ./context.ts's document loader; the agent configures those.
// Where the agent runs the Perun module, its wire names peers by their verified identity DIDs
// (./services/peer-identities-service.ts), read from the connections on initialize.
import type { AgentContext, DependencyManager, Module } from '@credo-ts/core';
import {
  DidCommFeatureRegistry,
  DidCommMessageHandlerRegistry,
  DidCommProtocol,
  type DidCommMessageHandler,
} from '@credo-ts/didcomm';
import { AddressProofHandler } from './handlers/address-proof-handler.js';
import { AddressProofRequestHandler } from './handlers/address-proof-request-handler.js';
import { IdentityProblemReportHandler } from './handlers/identity-problem-report-handler.js';
import { genericProblemReports } from '../generic-problem-reports.js';
import { IdentityApi } from './identity-api.js';
import {
  IDENTITY_PROTOCOL_URI,
  IDENTITY_ROLES,
  LEGACY_IDENTITY_MESSAGES,
} from './messages/identity-messages.js';
import { legacyHandler } from '../protocol-uris.js';
import { DidCommChannelWire } from '../perun/didcomm-wire.js';
import { PeerVerificationRepository } from './peer-verification-record.js';
import { AddressProofService } from './services/address-proof-service.js';
import { PeerHolderService } from './services/peer-holder-service.js';
import { PeerIdentitiesService } from './services/peer-identities-service.js';
import { PeerIssuerService } from './services/peer-issuer-service.js';
import { PeerVerifierService } from './services/peer-verifier-service.js';
import { ProposalGateService } from './services/proposal-gate-service.js';
import { VerifiedPeersService } from './services/verified-peers-service.js';

/** The identity protocol's message handlers, over the agent's AddressProofService, each also under the old URI. */
export function identityMessageHandlers(addressProofs: AddressProofService): DidCommMessageHandler[] {
  const handlers = [
    new AddressProofRequestHandler(addressProofs),
    new AddressProofHandler(addressProofs),
    new IdentityProblemReportHandler(addressProofs),
  ];
  return [...handlers, ...handlers.map((h) => legacyHandler(h, LEGACY_IDENTITY_MESSAGES))];
}

export class IdentityModule implements Module {
  public readonly api = IdentityApi;

  public register(dependencyManager: DependencyManager): void {
    dependencyManager.registerSingleton(AddressProofService);
    dependencyManager.registerSingleton(PeerHolderService);
    dependencyManager.registerSingleton(PeerVerifierService);
    dependencyManager.registerSingleton(PeerVerificationRepository);
    dependencyManager.registerSingleton(PeerIdentitiesService);
    dependencyManager.registerSingleton(VerifiedPeersService);
    dependencyManager.registerSingleton(ProposalGateService);
    dependencyManager.registerSingleton(PeerIssuerService);
  }

  public async initialize(agentContext: AgentContext): Promise<void> {
    const registry = agentContext.resolve(DidCommMessageHandlerRegistry);
    const addressProofs = agentContext.resolve(AddressProofService);
    for (const handler of identityMessageHandlers(addressProofs)) registry.registerMessageHandler(handler);
    genericProblemReports(agentContext).subscribe((connection, report) =>
      addressProofs.settle(connection, report),
    );
    agentContext
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: IDENTITY_PROTOCOL_URI, roles: [...IDENTITY_ROLES] }));
    const identities = agentContext.resolve(PeerIdentitiesService);
    await identities.load(agentContext);
    if (agentContext.dependencyManager.isRegistered(DidCommChannelWire))
      agentContext.resolve(DidCommChannelWire).usePeers(identities);
  }

  public async shutdown(agentContext: AgentContext): Promise<void> {
    agentContext.resolve(PeerIdentitiesService).stop();
  }
}
