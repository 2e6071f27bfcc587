// The peer credential as JSON: a W3C VC 1.1 of type PerunPeerCredential whose subject is the
// holder's DID and whose claims name its channel address, a name and a spending limit. Signed by
// the issuer (./services/peer-issuer-service.ts) with Ed25519Signature2018. The address is an
// Ethereum one (`ethereumAddress`, the original form, no `backend`), or a TON one (`backend`
// "ton", `tonAddress`).
import { getAddress } from 'ethers';
import { normalAddress, type AddressBackend } from './address-proof.js';
import { CREDENTIALS_V1_URL, PEER_CREDENTIAL_TYPE, PERUN_CONTEXT_URL } from './context.js';

export const PROOF_TYPE = 'Ed25519Signature2018';

/** The claims of a peer credential besides its subject. */
export interface PeerClaims {
  /** The address that signs the holder's channel states: on Ethereum (the default backend)… */
  ethereumAddress?: string;
  /** …or, with backend "ton", a TON participant's Ed25519 key (0x-hex). */
  tonAddress?: string;
  /** Absent: ethereum. */
  backend?: AddressBackend;
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

/** The address claims of a proven address: `ethereumAddress`, or `backend` "ton" and `tonAddress`. */
export function addressClaims(proven: {
  address: string;
  backend?: AddressBackend;
}): Pick<PeerClaims, 'ethereumAddress' | 'tonAddress' | 'backend'> {
  return proven.backend === 'ton'
    ? { backend: 'ton', tonAddress: proven.address }
    : { ethereumAddress: proven.address };
}

/** The credential as JSON, unsigned: what the issuer offers and later signs. */
export function peerCredentialJson(
  issuer: string,
  subject: string,
  claims: PeerClaims,
  dates: CredentialDates = {},
) {
  if (claims.spendingLimit < 0n) throw new RangeError('spendingLimit must not be negative');
  const backend = claims.backend ?? 'ethereum';
  const address =
    backend === 'ton' ? normalAddress('ton', claims.tonAddress) : getAddress(claims.ethereumAddress ?? '');
  if (address === undefined) throw new RangeError('the claims name no valid TON address');
  const date = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    '@context': [CREDENTIALS_V1_URL, PERUN_CONTEXT_URL],
    type: ['VerifiableCredential', PEER_CREDENTIAL_TYPE],
    issuer,
    issuanceDate: date(dates.issuanceDate ?? new Date()),
    ...(dates.expirationDate === undefined ? {} : { expirationDate: date(dates.expirationDate) }),
    credentialSubject: {
      id: subject,
      ...(backend === 'ton' ? { backend, tonAddress: address } : { ethereumAddress: address }),
      name: claims.name,
      spendingLimit: claims.spendingLimit.toString(),
    },
  };
}
