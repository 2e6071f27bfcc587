// The verifier's handler of the identity protocol's problem reports: each settles the request, or
// the watched thread, it is threaded to. Credo's generic ones (what a peer sends for a message type
// it does not support) come the same way through ../../generic-problem-reports.ts.
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
