// The credential-sale protocol as a Credo module: registers its service for dependency injection,
// and on initialize its handler and the protocol with its roles for discover-features.
import type { AgentContext, DependencyManager, Module } from '@credo-ts/core';
import { DidCommFeatureRegistry, DidCommMessageHandlerRegistry, DidCommProtocol } from '@credo-ts/didcomm';
import { CredentialSaleApi } from './credential-sale-api.js';
import { CredentialSaleOfferHandler } from './handlers/credential-sale-offer-handler.js';
import { CREDENTIAL_SALE_PROTOCOL_URI, CREDENTIAL_SALE_ROLES } from './messages/credential-sale-messages.js';
import { CredentialSaleService } from './services/credential-sale-service.js';

export class CredentialSaleModule implements Module {
  public readonly api = CredentialSaleApi;

  public register(dependencyManager: DependencyManager): void {
    dependencyManager.registerSingleton(CredentialSaleService);
  }

  public async initialize(agentContext: AgentContext): Promise<void> {
    agentContext
      .resolve(DidCommMessageHandlerRegistry)
      .registerMessageHandler(new CredentialSaleOfferHandler(agentContext.resolve(CredentialSaleService)));
    agentContext
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: CREDENTIAL_SALE_PROTOCOL_URI, roles: [...CREDENTIAL_SALE_ROLES] }));
  }
}
