// Signing and verification of Perun states and withdrawal authorizations on Ethereum:
// secp256k1 over the EIP-191 digest keccak256("\x19Ethereum Signed Message:\n32" ‖ dataHash),
// 65-byte r‖s‖v with v ∈ {27, 28} and a low s. Verification accepts exactly what the contracts
// accept, so a signature that passes here also passes on-chain.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { getAddress, getBytes, hexlify } from 'ethers';
import { SignatureError } from '../errors.js';
import {
  hashStateBytes,
  hashWithdrawalAuthBytes,
  type Address,
  type Hex,
  type State,
  type WithdrawalAuth,
} from './encoding.js';

const PREFIX = new TextEncoder().encode('\x19Ethereum Signed Message:\n32');
const HALF_N = secp256k1.Point.CURVE().n >> 1n;

/** keccak256("\x19Ethereum Signed Message:\n32" ‖ dataHash). */
export function ethSignedDigest(dataHash: Uint8Array): Uint8Array {
  if (dataHash.length !== 32)
    throw new SignatureError('data hash must be 32 bytes', { length: dataHash.length });
  const buf = new Uint8Array(PREFIX.length + 32);
  buf.set(PREFIX, 0);
  buf.set(dataHash, PREFIX.length);
  return keccak_256(buf);
}

function addressOfPublicKey(uncompressed: Uint8Array): Address {
  return getAddress(hexlify(keccak_256(uncompressed.subarray(1)).subarray(12)));
}

/** A participant key that signs channel states and withdrawal authorizations. */
export class EthereumSigner {
  readonly address: Address;
  readonly #key: Uint8Array;

  constructor(privateKey: Hex) {
    let key: Uint8Array;
    try {
      key = getBytes(privateKey);
      this.address = addressOfPublicKey(secp256k1.getPublicKey(key, false));
    } catch (err) {
      throw new SignatureError('invalid private key', {}, { cause: err });
    }
    this.#key = key;
  }

  static random(): EthereumSigner {
    return new EthereumSigner(hexlify(secp256k1.utils.randomSecretKey()));
  }

  /** EIP-191 signature over a 32-byte data hash. */
  signHash(dataHash: Uint8Array): Hex {
    const rec = secp256k1.sign(ethSignedDigest(dataHash), this.#key, { prehash: false, format: 'recovered' });
    const sig = new Uint8Array(65);
    sig.set(rec.subarray(1), 0);
    sig[64] = 27 + rec[0]!;
    return hexlify(sig);
  }

  signState(state: State): Hex {
    return this.signHash(hashStateBytes(state));
  }

  signWithdrawalAuth(auth: WithdrawalAuth): Hex {
    return this.signHash(hashWithdrawalAuthBytes(auth));
  }
}

/** The address that made `sig` over `dataHash`; throws SignatureError for a malformed signature. */
export function recoverSigner(dataHash: Uint8Array, sig: Hex): Address {
  let raw: Uint8Array;
  try {
    raw = getBytes(sig);
  } catch (err) {
    throw new SignatureError('signature is not hex', {}, { cause: err });
  }
  if (raw.length !== 65) throw new SignatureError('signature must be 65 bytes', { length: raw.length });
  const v = raw[64]!;
  if (v !== 27 && v !== 28) throw new SignatureError('signature v must be 27 or 28', { v });
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(raw[i]!);
  if (s > HALF_N) throw new SignatureError('signature s is not low', {});
  const rec = new Uint8Array(65);
  rec[0] = v - 27;
  rec.set(raw.subarray(0, 64), 1);
  try {
    return addressOfPublicKey(
      secp256k1.Point.fromBytes(
        secp256k1.recoverPublicKey(rec, ethSignedDigest(dataHash), { prehash: false }),
      ).toBytes(false),
    );
  } catch (err) {
    throw new SignatureError('signature does not recover to a public key', {}, { cause: err });
  }
}

/** True iff `sig` is a valid signature of `signer` over `dataHash`; false for any malformed input. */
export function verifySignature(dataHash: Uint8Array, sig: Hex, signer: Address): boolean {
  try {
    return recoverSigner(dataHash, sig) === getAddress(signer);
  } catch (err) {
    if (err instanceof SignatureError) return false;
    throw err;
  }
}

export function verifyStateSignature(state: State, sig: Hex, signer: Address): boolean {
  return verifySignature(hashStateBytes(state), sig, signer);
}

/** Throws SignatureError unless `sig` is `signer`'s signature on `state`. */
export function requireStateSignature(state: State, sig: Hex, signer: Address): void {
  if (!verifyStateSignature(state, sig, signer)) {
    throw new SignatureError('invalid state signature', {
      channelID: state.channelID,
      version: String(state.version),
      signer,
    });
  }
}
