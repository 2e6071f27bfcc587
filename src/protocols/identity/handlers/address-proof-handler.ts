// The verifier's handler of an address proof: settles the request waiting for it.
import type { DidCommInboundMessageContext, DidCommMessageHandler } from '@credo-ts/didcomm';
import { AddressProofMessage } from '../messages/identity-messages.js';
import type { AddressProofService } from '../services/address-proof-service.js';

export class AddressProofHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [AddressProofMessage];

  public constructor(private readonly addressProofs: AddressProofService) {}

  public async handle(ctx: DidCommInboundMessageContext<AddressProofMessage>): Promise<undefined> {
    this.addressProofs.settle(ctx.assertReadyConnection(), ctx.message);
    return undefined;
  }
}
