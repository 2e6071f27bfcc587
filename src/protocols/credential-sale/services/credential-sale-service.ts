// The credential-sale protocol's logic: sends an issuer's offer, and hands every offer that
// arrives on a ready connection to the agent's listeners (the node prices and answers it).
import { injectable, type AgentContext } from '@credo-ts/core';
import {
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  type DidCommConnectionRecord,
} from '@credo-ts/didcomm';
import { CredentialSaleOfferMessage } from '../messages/credential-sale-messages.js';

export interface SaleOffer {
  saleId: string;
  credential: Record<string, unknown>;
  price: bigint;
}

export type SaleOfferListener = (
  offer: SaleOffer,
  connection: DidCommConnectionRecord,
) => void | Promise<void>;

@injectable()
export class CredentialSaleService {
  readonly #listeners = new Set<SaleOfferListener>();

  public constructor(private readonly messageSender: DidCommMessageSender) {}

  /** Calls `listener` with every sale offer the agent receives; returns the function that stops it. */
  public onOffer(listener: SaleOfferListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** An offer received on `connection`: to every listener, one after the other. */
  public async receiveOffer(
    connection: DidCommConnectionRecord,
    m: CredentialSaleOfferMessage,
  ): Promise<void> {
    const offer = { saleId: m.saleId, credential: m.credential, price: BigInt(m.price) };
    for (const l of this.#listeners) await l(offer, connection);
  }

  /** Sends `offer` to the peer on `connection`. */
  public async sendOffer(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    offer: SaleOffer,
  ): Promise<void> {
    const message = new CredentialSaleOfferMessage({
      saleId: offer.saleId,
      credential: offer.credential,
      price: offer.price.toString(),
    });
    await this.messageSender.sendMessage(
      new DidCommOutboundMessageContext(message, { agentContext, connection }),
    );
  }
}
