// The credential-sale protocol's one message (CREDENTIAL_SALE_PROTOCOL_URI, specified in
// docs/protocols/perun-credential-sale.md; its subclass under the old
// https://didcomm.org/perun-credential-sale/1.0): an issuer offers a holder a credential for a
// price. The credential travels whole but unsigned; the holder pays for the issuer's signature
// over its digest through a pay-for-credential app channel
// (src/channels/ethereum/apps/credential-payment.ts), which reveals the signature.
import { DidCommMessage, IsValidMessageType, parseMessageType } from '@credo-ts/didcomm';
import { Expose } from 'class-transformer';
import { IsObject, Matches } from 'class-validator';
import { legacyMessageClasses, protocolUri } from '../../protocol-uris.js';

export const CREDENTIAL_SALE_PROTOCOL_URI = protocolUri('perun-credential-sale', '1.0');
export const CREDENTIAL_SALE_ROLES = ['seller', 'buyer'] as const;

export class CredentialSaleOfferMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${CREDENTIAL_SALE_PROTOCOL_URI}/offer`);
  @IsValidMessageType(CredentialSaleOfferMessage.type)
  public override readonly type = CredentialSaleOfferMessage.type.messageTypeUri;

  public constructor(fields?: { saleId: string; credential: Record<string, unknown>; price: string }) {
    super();
    if (fields !== undefined) {
      this.id = this.generateId();
      Object.assign(this, fields);
    }
  }

  @Expose({ name: 'sale_id' }) @Matches(/^[0-9a-f-]{36}$/) public saleId!: string;
  /** The credential without proof: what the digest the holder pays for is taken of. */
  @IsObject() public credential!: Record<string, unknown>;
  /** In wei of asset 0 (ETH), decimal. */
  @Matches(/^(0|[1-9][0-9]{0,77})$/) public price!: string;
}

/** The offer's class → its subclass under the old URI. */
export const LEGACY_CREDENTIAL_SALE_MESSAGES = legacyMessageClasses([CredentialSaleOfferMessage]);
