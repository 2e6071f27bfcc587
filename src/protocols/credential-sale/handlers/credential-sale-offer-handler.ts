// The buyer's handler of a sale offer: hands it to the service's listeners.
import type { DidCommInboundMessageContext, DidCommMessageHandler } from '@credo-ts/didcomm';
import { CredentialSaleOfferMessage } from '../messages/credential-sale-messages.js';
import type { CredentialSaleService } from '../services/credential-sale-service.js';

export class CredentialSaleOfferHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [CredentialSaleOfferMessage];

  public constructor(private readonly sales: CredentialSaleService) {}

  public async handle(ctx: DidCommInboundMessageContext<CredentialSaleOfferMessage>): Promise<undefined> {
    await this.sales.receiveOffer(ctx.assertReadyConnection(), ctx.message);
    return undefined;
  }
}
