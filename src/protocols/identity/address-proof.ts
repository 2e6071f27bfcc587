// Proof of control of an Ethereum address, bound to a DIDComm connection and a verifier's challenge.
//
// The holder signs, with the key of the address (EIP-191, the same scheme that signs channel
// states: keccak256("\x19Ethereum Signed Message:\n32" ‖ digest)), the 32-byte digest
//   keccak256(utf8("perun-agent address proof v1\nverifier: <verifier DID>\nholder: <holder DID>\nchallenge: <challenge>"))
// Each side takes both DIDs from its own connection record, never from the message, so an
// answer relayed from another connection names other DIDs and does not verify. The challenge is
// the one of the verifier's presentation request, so the address proof and the presentation
// answer the same fresh nonce. A holder with an identity DID (the subject of its credentials; its
// connections use pairwise DIDs) names it in the proof: the digest then ends with
//   "\nidentity: <identity DID>"
// which is how an issuer learns the DID to make a credential out to, and a verifier checks it is
// the subject of the presentation beside it.
// The proof is made with the signer of the backend the address belongs to. The form above is the
// Ethereum one (a proof that names no backend is one). A TON address (a participant's Ed25519
// key) signs, with Ed25519, the 32-byte digest
//   sha256(<the same text> ‖ "\nbackend: ton")
// and the proof names its backend, `ton`: an Ed25519 signature does not recover its key, so the
// verifier checks it against the address the credential binds.
import { createHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { getAddress, isAddress } from 'ethers';
import { recoverSigner, type EthereumSigner } from '../../channels/ethereum/signer.js';
import { TonSigner, verifyHash } from '../../channels/ton/signer.js';
import type { Address, Hex } from '../../channels/types.js';

/** The backend an address belongs to; absent in a credential or a proof: ethereum. */
export type AddressBackend = 'ethereum' | 'ton';
export const ADDRESS_BACKENDS: readonly AddressBackend[] = ['ethereum', 'ton'];

/** What signs address proofs: the agent's key on the backend of its channels. */
export type AddressProofSigner = EthereumSigner | TonSigner;

export const backendOfSigner = (signer: AddressProofSigner): AddressBackend =>
  signer instanceof TonSigner ? 'ton' : 'ethereum';

/**
 * Whether `candidate` (a proposal's participant, any case) is the verified address `verified`
 * (in its normal form; 32 bytes: a TON key, else an Ethereum address).
 */
export function isVerifiedAddress(verified: string, candidate: unknown): boolean {
  const backend: AddressBackend = /^0x[0-9a-f]{64}$/.test(verified) ? 'ton' : 'ethereum';
  return normalAddress(backend, candidate) === verified;
}

/** An address in the form credentials and proofs carry it: EIP-55, or lower-case 0x-hex of 32 bytes for TON; undefined if malformed. */
export function normalAddress(backend: AddressBackend, address: unknown): string | undefined {
  if (typeof address !== 'string') return undefined;
  if (backend === 'ton') return /^0x[0-9a-fA-F]{64}$/.test(address) ? address.toLowerCase() : undefined;
  let normal = ethereumForms.get(address);
  if (normal === undefined && !ethereumForms.has(address)) {
    normal = isAddress(address) ? getAddress(address) : undefined;
    if (ethereumForms.size >= ETHEREUM_FORMS) ethereumForms.delete(ethereumForms.keys().next().value!);
    ethereumForms.set(address, normal);
  }
  return normal;
}

/** The normal forms of the Ethereum addresses seen last (a gate checks the same few, two hashes each). */
const ethereumForms = new Map<string, string | undefined>();
const ETHEREUM_FORMS = 256;

export interface AddressProofBinding {
  /** The verifier's DID on the connection. */
  verifierDid: string;
  /** The holder's DID on the connection. */
  holderDid: string;
  challenge: string;
  /** The holder's identity DID, when the proof names one. */
  identityDid?: string;
}

export function addressProofDigest(b: AddressProofBinding, backend: AddressBackend = 'ethereum'): Uint8Array {
  const text =
    'perun-agent address proof v1\n' +
    `verifier: ${b.verifierDid}\n` +
    `holder: ${b.holderDid}\n` +
    `challenge: ${b.challenge}` +
    (b.identityDid === undefined ? '' : `\nidentity: ${b.identityDid}`);
  if (backend === 'ton') return createHash('sha256').update(`${text}\nbackend: ton`).digest();
  return keccak_256(new TextEncoder().encode(text));
}

export function signAddressProof(signer: AddressProofSigner, b: AddressProofBinding): Hex {
  if (signer instanceof TonSigner) return signer.signHash(Buffer.from(addressProofDigest(b, 'ton')));
  return signer.signHash(addressProofDigest(b));
}

/** A proof as it arrives: the address it claims, its signature, its backend (absent: ethereum). */
export interface AddressProofAnswer {
  address: string;
  signature: string;
  backend?: string;
}

/**
 * The backend and address `proof` proves control of over `b`, or undefined when it does not
 * verify: a backend we do not know, a malformed address, or a signature that is not the claimed
 * address's over this binding with that backend's scheme.
 */
export function provenAddress(
  b: AddressProofBinding,
  proof: AddressProofAnswer,
): { backend: AddressBackend; address: string } | undefined {
  const backend = proof.backend ?? 'ethereum';
  if (backend !== 'ethereum' && backend !== 'ton') return undefined;
  const address = normalAddress(backend, proof.address);
  if (address === undefined) return undefined;
  if (backend === 'ton') {
    const ok = verifyHash(Buffer.from(addressProofDigest(b, 'ton')), proof.signature as Hex, address);
    return ok ? { backend, address } : undefined;
  }
  // Recovery yields some address for any signature: only the address the proof claims counts.
  return recoverAddressProof(b, proof.signature as Hex) === address ? { backend, address } : undefined;
}

/** The address that signed the proof, or undefined for a malformed signature. */
export function recoverAddressProof(b: AddressProofBinding, signature: Hex): Address | undefined {
  try {
    return recoverSigner(addressProofDigest(b), signature);
  } catch {
    return undefined;
  }
}
