// The credential-sale protocol as a Credo module: registers its service for dependency injection,
// and on initialize its handler (for the offer under the old URI too, ../protocol-uris.ts) and the
// protocol with its roles for discover-features.
import type { AgentContext, DependencyManager, Module } from '@credo-ts/core';
import { DidCommFeatureRegistry, DidCommMessageHandlerRegistry, DidCommProtocol } from '@credo-ts/didcomm';
import { CredentialSaleApi } from './credential-sale-api.js';
import { CredentialSaleOfferHandler } from './handlers/credential-sale-offer-handler.js';
import {
  CREDENTIAL_SALE_PROTOCOL_URI,
  CREDENTIAL_SALE_ROLES,
  LEGACY_CREDENTIAL_SALE_MESSAGES,
} from './messages/credential-sale-messages.js';
import { legacyHandler } from '../protocol-uris.js';
import { CredentialSaleService } from './services/credential-sale-service.js';

export class CredentialSaleModule implements Module {
  public readonly api = CredentialSaleApi;

  public register(dependencyManager: DependencyManager): void {
    dependencyManager.registerSingleton(CredentialSaleService);
  }

  public async initialize(agentContext: AgentContext): Promise<void> {
    const handler = new CredentialSaleOfferHandler(agentContext.resolve(CredentialSaleService));
    agentContext
      .resolve(DidCommMessageHandlerRegistry)
      .registerMessageHandlers([handler, legacyHandler(handler, LEGACY_CREDENTIAL_SALE_MESSAGES)]);
    agentContext
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: CREDENTIAL_SALE_PROTOCOL_URI, roles: [...CREDENTIAL_SALE_ROLES] }));
  }
}
