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
import { keccak_256 } from '@noble/hashes/sha3.js';
import { recoverSigner, type EthereumSigner } from '../../channels/ethereum/signer.js';
import type { Address, Hex } from '../../channels/types.js';

export interface AddressProofBinding {
  /** The verifier's DID on the connection. */
  verifierDid: string;
  /** The holder's DID on the connection. */
  holderDid: string;
  challenge: string;
  /** The holder's identity DID, when the proof names one. */
  identityDid?: string;
}

export function addressProofDigest(b: AddressProofBinding): Uint8Array {
  const text =
    'perun-agent address proof v1\n' +
    `verifier: ${b.verifierDid}\n` +
    `holder: ${b.holderDid}\n` +
    `challenge: ${b.challenge}` +
    (b.identityDid === undefined ? '' : `\nidentity: ${b.identityDid}`);
  return keccak_256(new TextEncoder().encode(text));
}

export function signAddressProof(signer: EthereumSigner, b: AddressProofBinding): Hex {
  return signer.signHash(addressProofDigest(b));
}

/** The address that signed the proof, or undefined for a malformed signature. */
export function recoverAddressProof(b: AddressProofBinding, signature: Hex): Address | undefined {
  try {
    return recoverSigner(addressProofDigest(b), signature);
  } catch {
    return undefined;
  }
}
