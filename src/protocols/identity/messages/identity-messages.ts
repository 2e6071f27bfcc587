// The identity protocol's DIDComm messages (IDENTITY_PROTOCOL_URI, specified in
// docs/protocols/perun-identity.md; their subclasses under the old
// https://didcomm.org/perun-identity/1.0): the verifier asks for proof of control of the holder's
// channel address, the holder answers with a signature by that address's backend (EIP-191 on
// Ethereum, Ed25519 on TON: ../address-proof.ts), threaded on the request; a holder that cannot
// sign answers with a problem report.
import {
  DidCommMessage,
  DidCommProblemReportMessage,
  IsValidMessageType,
  parseMessageType,
  type DidCommProblemReportMessageOptions,
} from '@credo-ts/didcomm';
import { Expose } from 'class-transformer';
import { IsIn, IsOptional, IsString, Matches, ValidateBy } from 'class-validator';
import { legacyMessageClasses, protocolUri } from '../../protocol-uris.js';

export const IDENTITY_PROTOCOL_URI = protocolUri('perun-identity', '1.0');
export const IDENTITY_ROLES = ['verifier', 'holder'] as const;

export class AddressProofRequestMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${IDENTITY_PROTOCOL_URI}/address-proof-request`);
  @IsValidMessageType(AddressProofRequestMessage.type)
  public override readonly type = AddressProofRequestMessage.type.messageTypeUri;

  public constructor(fields?: { challenge: string }) {
    super();
    if (fields !== undefined) {
      this.id = this.generateId();
      this.challenge = fields.challenge;
    }
  }

  /** The challenge of the verifier's presentation request. */
  @IsString() public challenge!: string;
}

type Backend = 'ethereum' | 'ton';

/** The field has its backend's form (`forms`): the message's `backend`, absent meaning ethereum. */
function InBackendForm(forms: Record<Backend, RegExp>) {
  return ValidateBy({
    name: 'inBackendForm',
    validator: {
      validate: (value, args) => {
        const backend = (args?.object as { backend?: unknown } | undefined)?.backend ?? 'ethereum';
        return (
          typeof value === 'string' &&
          (backend === 'ethereum' || backend === 'ton') &&
          forms[backend].test(value)
        );
      },
      defaultMessage: (args) => `${args?.property ?? 'the field'} is not in its backend's form`,
    },
  });
}

export class AddressProofMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${IDENTITY_PROTOCOL_URI}/address-proof`);
  @IsValidMessageType(AddressProofMessage.type)
  public override readonly type = AddressProofMessage.type.messageTypeUri;

  public constructor(fields?: {
    address: string;
    signature: string;
    threadId: string;
    identityDid?: string;
    /** Absent: ethereum. */
    backend?: 'ton';
  }) {
    super();
    if (fields !== undefined) {
      this.id = this.generateId();
      this.address = fields.address;
      this.signature = fields.signature;
      if (fields.identityDid !== undefined) this.identityDid = fields.identityDid;
      if (fields.backend !== undefined) this.backend = fields.backend;
      this.setThread({ threadId: fields.threadId });
    }
  }

  /** An Ethereum address (20 bytes), or a TON participant's Ed25519 key (32 bytes), hex. */
  @InBackendForm({ ethereum: /^0x[0-9a-fA-F]{40}$/, ton: /^0x[0-9a-fA-F]{64}$/ })
  public address!: string;
  /** 65 bytes r ‖ s ‖ v (Ethereum) or 64 bytes (Ed25519, TON), hex. */
  @Expose({ name: 'signature' })
  @InBackendForm({ ethereum: /^0x[0-9a-fA-F]{130}$/, ton: /^0x[0-9a-fA-F]{128}$/ })
  public signature!: string;
  /** The backend of the address; absent: ethereum (the proof's original form). */
  @IsOptional() @IsIn(['ethereum', 'ton']) public backend?: 'ethereum' | 'ton';
  /** The holder's identity DID, covered by the signature (../address-proof.ts); absent: none named. */
  @Expose({ name: 'identity_did' })
  @IsOptional()
  @Matches(/^did:[a-z0-9]+:\S+$/)
  public identityDid?: string;
}

export class IdentityProblemReportMessage extends DidCommProblemReportMessage {
  public static override readonly type = parseMessageType(`${IDENTITY_PROTOCOL_URI}/problem-report`);
  @IsValidMessageType(IdentityProblemReportMessage.type)
  public override readonly type = IdentityProblemReportMessage.type.messageTypeUri;

  public constructor(options: DidCommProblemReportMessageOptions) {
    super(options);
  }
}

/** Each identity message class → its subclass under the old URI. */
export const LEGACY_IDENTITY_MESSAGES = legacyMessageClasses([
  AddressProofRequestMessage,
  AddressProofMessage,
  IdentityProblemReportMessage,
]);
