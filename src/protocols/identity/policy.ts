// The verifier's policy and its check of a presented peer credential: the presentation definition
// a verifier asks with, and the checks on a presentation Credo verified (issuer, type, expiry,
// signer = the credential's subject: the holder's identity DID, the required claims), and the
// policy's fingerprint. The presentation's challenge and domain (our DID on this connection) bind
// it to the connection; Credo checks them. No I/O here.
import { createHash } from 'node:crypto';
import type { DifPresentationExchangeDefinitionV2 } from '@credo-ts/core';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { normalAddress, type AddressBackend } from './address-proof.js';
import { PEER_CREDENTIAL_TYPE, PERUN_CONTEXT_URL } from './context.js';
import { refuse } from './errors.js';
import { PROOF_TYPE } from './peer-credential.js';

export interface RequiredClaims {
  /** A non-empty `name`. */
  name?: boolean;
  /** `spendingLimit` (wei) at least this much. */
  minSpendingLimit?: bigint;
}

export interface PeerPolicy {
  /** Issuer DIDs whose peer credentials we accept. */
  trustedIssuers: string[];
  /** Default PerunPeerCredential. */
  credentialType?: string;
  requiredClaims?: RequiredClaims;
  /** Ask for an EIP-191 proof of control of the credential's address (default true). */
  requireAddressProof?: boolean;
}

export interface VerifiedPeer {
  connectionId: string;
  /** The peer's identity DID: the credential's subject, whose key signed the presentation. */
  did: string;
  issuer: string;
  /** EIP-55; for a TON address (backend "ton"), the Ed25519 key as lower-case 0x-hex. */
  address: string;
  /** The backend of `address`; absent: ethereum. */
  backend?: 'ton';
  name: string | undefined;
  spendingLimit: bigint | undefined;
  expirationDate: string | undefined;
  addressProven: boolean;
  /** The verified credential as presented. */
  credential: Record<string, unknown>;
}

/**
 * What a verification was checked against, as a short digest: the trusted issuers (in any order),
 * the credential type, the required claims and whether an address proof is asked for. A
 * verification is relied on only under the policy it was made with.
 */
export function policyFingerprint(policy: PeerPolicy): string {
  const canonical = JSON.stringify([
    [...new Set(policy.trustedIssuers)].sort(),
    policy.credentialType ?? PEER_CREDENTIAL_TYPE,
    policy.requiredClaims?.name === true,
    policy.requiredClaims?.minSpendingLimit?.toString() ?? null,
    policy.requireAddressProof !== false,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

const DESCRIPTOR_ID = 'perun-peer-credential';

/** The presentation definition: one credential that names an Ethereum or a TON address, JSON-LD, Ed25519Signature2018. */
export function peerPresentationDefinition(): DifPresentationExchangeDefinitionV2 {
  return {
    id: 'perun-peer',
    purpose: 'A Perun channel peer shows the credential that binds its DID to its channel address',
    format: { ldp_vc: { proof_type: [PROOF_TYPE] }, ldp_vp: { proof_type: [PROOF_TYPE] } },
    input_descriptors: [
      {
        id: DESCRIPTOR_ID,
        constraints: {
          fields: [{ path: ['$.credentialSubject.ethereumAddress', '$.credentialSubject.tonAddress'] }],
        },
      },
    ],
  };
}

type Json = Record<string, unknown>;

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const didOf = (s: string) => s.split('#')[0]!;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The credentials a presentation holds. */
export function credentialsOf(vp: unknown): Json[] {
  if (!isObject(vp)) return [];
  return asArray(vp.verifiableCredential as Json | Json[] | undefined).filter(isObject);
}

export function isExpired(vc: Json, now = Date.now()): boolean {
  const exp = vc.expirationDate;
  return typeof exp === 'string' && !(Date.parse(exp) > now);
}

/** The policy checks on a presentation Credo verified (signatures, challenge, PE match). */
export function checkPresentation(
  vp: Json,
  connection: DidCommConnectionRecord,
  policy: PeerPolicy,
): Omit<VerifiedPeer, 'addressProven'> {
  const vcs = credentialsOf(vp);
  if (vcs.length !== 1) refuse('no-credential', 'the presentation does not hold exactly one credential');
  const vc = vcs[0]!;
  const type = policy.credentialType ?? PEER_CREDENTIAL_TYPE;
  const types = asArray(vc.type as string | string[] | undefined);
  const contexts = asArray(vc['@context'] as unknown);
  if (!types.includes(type) || !contexts.includes(PERUN_CONTEXT_URL))
    refuse('wrong-type', `the credential is not a ${type}`, { types });
  const issuer = isObject(vc.issuer) ? vc.issuer.id : vc.issuer;
  if (typeof issuer !== 'string' || !policy.trustedIssuers.includes(issuer))
    refuse('untrusted-issuer', 'the credential was issued by an issuer we do not trust', { issuer });
  if (isExpired(vc)) refuse('expired', 'the credential has expired', { expirationDate: vc.expirationDate });
  const subject = vc.credentialSubject;
  if (!isObject(subject)) return refuse('subject-mismatch', 'the credential must have one subject');
  const did = subject.id;
  if (typeof did !== 'string' || !did.startsWith('did:'))
    return refuse('subject-mismatch', 'the credential’s subject is not a DID', { subject: did });
  const signers = asArray(vp.proof as unknown).map((p) => (isObject(p) ? p.verificationMethod : undefined));
  if (signers.length === 0 || signers.some((vm) => typeof vm !== 'string' || didOf(vm) !== did))
    refuse('subject-mismatch', 'the presentation is not signed by the credential’s subject', {
      subject: did,
      signers,
    });
  const backend = subject.backend ?? 'ethereum';
  if (backend !== 'ethereum' && backend !== 'ton')
    refuse('missing-claim', 'the credential names a backend we do not know', { claim: 'backend', backend });
  const claim = backend === 'ton' ? 'tonAddress' : 'ethereumAddress';
  const address = normalAddress(backend as AddressBackend, subject[claim]);
  if (address === undefined) refuse('missing-claim', `the credential names no valid ${claim}`, { claim });
  const name = typeof subject.name === 'string' && subject.name !== '' ? subject.name : undefined;
  if (policy.requiredClaims?.name === true && name === undefined)
    refuse('missing-claim', 'the credential has no name', { claim: 'name' });
  const limitText = subject.spendingLimit;
  const spendingLimit =
    typeof limitText === 'string' && /^(0|[1-9]\d{0,77})$/.test(limitText) ? BigInt(limitText) : undefined;
  const min = policy.requiredClaims?.minSpendingLimit;
  if (min !== undefined && (spendingLimit === undefined || spendingLimit < min))
    refuse('missing-claim', `the credential's spendingLimit is not at least ${min}`, {
      claim: 'spendingLimit',
      value: limitText,
    });
  return {
    connectionId: connection.id,
    did,
    issuer: issuer as string,
    address: address!,
    ...(backend === 'ton' ? { backend: 'ton' as const } : {}),
    name,
    spendingLimit,
    expirationDate: typeof vc.expirationDate === 'string' ? vc.expirationDate : undefined,
    credential: vc,
  };
}
