// The verifier's handler of the identity protocol's problem report: fails the request waiting for it.
import type { DidCommInboundMessageContext, DidCommMessageHandler } from '@credo-ts/didcomm';
import { IdentityProblemReportMessage } from '../messages/identity-messages.js';
import type { AddressProofService } from '../services/address-proof-service.js';

export class IdentityProblemReportHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [IdentityProblemReportMessage];

  public constructor(private readonly addressProofs: AddressProofService) {}

  public async handle(ctx: DidCommInboundMessageContext<IdentityProblemReportMessage>): Promise<undefined> {
    this.addressProofs.settle(ctx.assertReadyConnection(), ctx.message);
    return undefined;
  }
}
