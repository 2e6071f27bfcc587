// The verifier's handler of problem reports: the identity protocol's own, and Credo's generic one
// (https://didcomm.org/notification/1.0/problem-report, what a peer sends for a message type it
// does not support). Each settles the request, or the watched thread, it is threaded to.
import {
  DidCommProblemReportMessage,
  type DidCommInboundMessageContext,
  type DidCommMessageHandler,
} from '@credo-ts/didcomm';
import { IdentityProblemReportMessage } from '../messages/identity-messages.js';
import type { AddressProofService } from '../services/address-proof-service.js';

export class IdentityProblemReportHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [IdentityProblemReportMessage, DidCommProblemReportMessage];

  public constructor(private readonly addressProofs: AddressProofService) {}

  public async handle(ctx: DidCommInboundMessageContext<DidCommProblemReportMessage>): Promise<undefined> {
    this.addressProofs.settle(ctx.assertReadyConnection(), ctx.message);
    return undefined;
  }
}
