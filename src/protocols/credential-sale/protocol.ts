// Per-agent plumbing of the credential-sale protocol: its handler (registered once per agent,
// advertised for discover-features) hands every offer that arrives on a ready connection to the
// agent's listeners; `sendSaleOffer` sends one.
import {
  DidCommFeatureRegistry,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  DidCommProtocol,
  type DidCommConnectionRecord,
  type DidCommInboundMessageContext,
  type DidCommMessageHandler,
} from '@credo-ts/didcomm';
import type { PerunIdentityAgent } from '../../agent/credo/agent.js';
import {
  CREDENTIAL_SALE_PROTOCOL_URI,
  CREDENTIAL_SALE_ROLES,
  CredentialSaleOfferMessage,
} from './messages.js';

export interface SaleOffer {
  saleId: string;
  credential: Record<string, unknown>;
  price: bigint;
}

export type SaleOfferListener = (
  offer: SaleOffer,
  connection: DidCommConnectionRecord,
) => void | Promise<void>;

class CredentialSaleHandler implements DidCommMessageHandler {
  public readonly supportedMessages = [CredentialSaleOfferMessage];

  public constructor(private readonly listeners: Set<SaleOfferListener>) {}

  public async handle(ctx: DidCommInboundMessageContext): Promise<undefined> {
    const connection = ctx.assertReadyConnection();
    const m = ctx.message as CredentialSaleOfferMessage;
    const offer = { saleId: m.saleId, credential: m.credential, price: BigInt(m.price) };
    for (const l of this.listeners) await l(offer, connection);
    return undefined;
  }
}

const listeners = new WeakMap<PerunIdentityAgent, Set<SaleOfferListener>>();

/** Calls `listener` with every sale offer the agent receives; returns the function that stops it. */
export function onSaleOffer(agent: PerunIdentityAgent, listener: SaleOfferListener): () => void {
  let set = listeners.get(agent);
  if (set === undefined) {
    set = new Set();
    listeners.set(agent, set);
    agent.didcomm.registerMessageHandlers([new CredentialSaleHandler(set)]);
    agent.dependencyManager
      .resolve(DidCommFeatureRegistry)
      .register(new DidCommProtocol({ id: CREDENTIAL_SALE_PROTOCOL_URI, roles: [...CREDENTIAL_SALE_ROLES] }));
  }
  set.add(listener);
  return () => set.delete(listener);
}

/** Sends `offer` to the peer on `connection`. */
export async function sendSaleOffer(
  agent: PerunIdentityAgent,
  connection: DidCommConnectionRecord,
  offer: SaleOffer,
): Promise<void> {
  const message = new CredentialSaleOfferMessage({
    saleId: offer.saleId,
    credential: offer.credential,
    price: offer.price.toString(),
  });
  await agent.dependencyManager
    .resolve(DidCommMessageSender)
    .sendMessage(new DidCommOutboundMessageContext(message, { agentContext: agent.context, connection }));
}
