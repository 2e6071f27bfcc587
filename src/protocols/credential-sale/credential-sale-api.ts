// The credential-sale module's API, `agent.modules.credentialSale`: send offers, listen for them.
import { AgentContext, injectable } from '@credo-ts/core';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import {
  CredentialSaleService,
  type SaleOffer,
  type SaleOfferListener,
} from './services/credential-sale-service.js';

@injectable()
export class CredentialSaleApi {
  public constructor(
    private readonly agentContext: AgentContext,
    private readonly sales: CredentialSaleService,
  ) {}

  /** Calls `listener` with every sale offer the agent receives; returns the function that stops it. */
  public onOffer(listener: SaleOfferListener): () => void {
    return this.sales.onOffer(listener);
  }

  /** Sends `offer` to the peer on `connection`. */
  public sendOffer(connection: DidCommConnectionRecord, offer: SaleOffer): Promise<void> {
    return this.sales.sendOffer(this.agentContext, connection, offer);
  }
}
