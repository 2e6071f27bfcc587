// The one handler of the Perun protocol: every Perun message (and a Perun problem report) goes to
// the DIDComm wire, which decodes it and hands it to the channel core. No logic here.
import type { DidCommInboundMessageContext, DidCommMessageHandler } from '@credo-ts/didcomm';
import type { DidCommChannelWire } from '../didcomm-wire.js';
import { PERUN_CHANNEL_MESSAGES, PerunProblemReportMessage } from '../messages/channel-messages.js';

export class PerunMessageHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [...PERUN_CHANNEL_MESSAGES, PerunProblemReportMessage];

  public constructor(private readonly wire: DidCommChannelWire) {}

  public async handle(ctx: DidCommInboundMessageContext): Promise<undefined> {
    await this.wire.receive(ctx);
    return undefined;
  }
}
