// The peer credential as JSON: a W3C VC 1.1 of type PerunPeerCredential whose subject is the
// holder's DID and whose claims name its channel address, a name and a spending limit. Signed by
// the issuer (./services/peer-issuer-service.ts) with Ed25519Signature2018.
import { getAddress } from 'ethers';
import { CREDENTIALS_V1_URL, PEER_CREDENTIAL_TYPE, PERUN_CONTEXT_URL } from './context.js';

export const PROOF_TYPE = 'Ed25519Signature2018';

/** The claims of a peer credential besides its subject. */
export interface PeerClaims {
  /** The address that signs the holder's channel states. */
  ethereumAddress: string;
  name: string;
  /** Wei. */
  spendingLimit: bigint;
}

export interface CredentialDates {
  /** Default: now. */
  issuanceDate?: Date;
  /** Default: none (the credential does not expire). */
  expirationDate?: Date;
}

/** The credential as JSON, unsigned: what the issuer offers and later signs. */
export function peerCredentialJson(
  issuer: string,
  subject: string,
  claims: PeerClaims,
  dates: CredentialDates = {},
) {
  if (claims.spendingLimit < 0n) throw new RangeError('spendingLimit must not be negative');
  const date = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    '@context': [CREDENTIALS_V1_URL, PERUN_CONTEXT_URL],
    type: ['VerifiableCredential', PEER_CREDENTIAL_TYPE],
    issuer,
    issuanceDate: date(dates.issuanceDate ?? new Date()),
    ...(dates.expirationDate === undefined ? {} : { expirationDate: date(dates.expirationDate) }),
    credentialSubject: {
      id: subject,
      ethereumAddress: getAddress(claims.ethereumAddress),
      name: claims.name,
      spendingLimit: claims.spendingLimit.toString(),
    },
  };
}
