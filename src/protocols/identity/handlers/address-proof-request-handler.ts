// The holder's handler of an address-proof request: replies with the service's answer.
import {
  DidCommOutboundMessageContext,
  type DidCommInboundMessageContext,
  type DidCommMessageHandler,
} from '@credo-ts/didcomm';
import { AddressProofRequestMessage } from '../messages/identity-messages.js';
import type { AddressProofService } from '../services/address-proof-service.js';

export class AddressProofRequestHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [AddressProofRequestMessage];

  public constructor(private readonly addressProofs: AddressProofService) {}

  public async handle(
    ctx: DidCommInboundMessageContext<AddressProofRequestMessage>,
  ): Promise<DidCommOutboundMessageContext> {
    const connection = ctx.assertReadyConnection();
    const reply = this.addressProofs.answer(connection, ctx.message);
    return new DidCommOutboundMessageContext(reply, { agentContext: ctx.agentContext, connection });
  }
}
