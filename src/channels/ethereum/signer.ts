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

// Verification against a known key. The first valid signature of an address is checked by
// recovery (what ecrecover does); its public key is then kept with precomputed multiples, and
// later signatures of that address are checked by computing R' = (e/s)·G + (r/s)·Q: the signature
// recovers to Q exactly when R'.x = r and R'.y has the parity v - 27, so both checks accept the
// same signatures, and the second costs two fixed-base multiplications instead of a recovery.
const { Point } = secp256k1;
const N = Point.CURVE().n;
const KNOWN_KEYS_MAX = 4096;
const knownKeys = new Map<string, InstanceType<typeof Point>>();

interface RawSig {
  r: bigint;
  s: bigint;
  v: number;
}

function parseSig(sig: Hex): RawSig | undefined {
  if (typeof sig !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(sig)) return undefined;
  const r = BigInt('0x' + sig.slice(2, 66));
  const s = BigInt('0x' + sig.slice(66, 130));
  const v = parseInt(sig.slice(130, 132), 16);
  if ((v !== 27 && v !== 28) || r === 0n || r >= N || s === 0n || s > HALF_N) return undefined;
  return { r, s, v };
}

function bytesToBigint(b: Uint8Array): bigint {
  return BigInt(hexlify(b));
}

function matchesKey(key: InstanceType<typeof Point>, digest: Uint8Array, { r, s, v }: RawSig): boolean {
  const { Fn } = Point;
  const sInv = Fn.inv(s);
  const e = Fn.create(bytesToBigint(digest));
  const R = Point.BASE.multiplyUnsafe(Fn.mul(e, sInv)).add(key.multiplyUnsafe(Fn.mul(r, sInv)));
  if (R.is0()) return false;
  const { x, y } = R.toAffine();
  return x === r && Number(y & 1n) === v - 27;
}

/** True iff `sig` is a valid signature of `signer` over `dataHash`; false for any malformed input. */
export function verifySignature(dataHash: Uint8Array, sig: Hex, signer: Address): boolean {
  const raw = parseSig(sig);
  if (raw === undefined || typeof signer !== 'string') return false;
  const addr = signer.toLowerCase();
  const known = knownKeys.get(addr);
  if (known !== undefined) return matchesKey(known, ethSignedDigest(dataHash), raw);
  let key: InstanceType<typeof Point>;
  try {
    const rec = new Uint8Array(65);
    rec[0] = raw.v - 27;
    rec.set(getBytes(sig).subarray(0, 64), 1);
    key = Point.fromBytes(secp256k1.recoverPublicKey(rec, ethSignedDigest(dataHash), { prehash: false }));
  } catch {
    return false;
  }
  if (addressOfPublicKey(key.toBytes(false)).toLowerCase() !== addr) return false;
  if (knownKeys.size >= KNOWN_KEYS_MAX) knownKeys.delete(knownKeys.keys().next().value!);
  knownKeys.set(addr, key.precompute(8, false));
  return true;
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
