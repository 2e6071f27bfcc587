// Signing and verification of Perun states and withdrawal authorizations on Ethereum:
// secp256k1 over the EIP-191 digest keccak256("\x19Ethereum Signed Message:\n32" ‖ dataHash),
// 65-byte r‖s‖v with v ∈ {27, 28} and a low s. Verification accepts exactly what the contracts
// accept, so a signature that passes here also passes on-chain. The curve arithmetic is the
// engine's (./secp256k1-engine.ts: native libsecp256k1, or @noble/curves); both give the same
// signatures and the same verdicts.
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
import { activeEngine, type KeyCheck, type Secp256k1Engine } from './secp256k1-engine.js';

export { secp256k1Engine, type Secp256k1EngineName } from './secp256k1-engine.js';

const PREFIX = new TextEncoder().encode('\x19Ethereum Signed Message:\n32');
const N = secp256k1.Point.CURVE().n;
const HALF_N = N >> 1n;

/** The digests of the latest data hashes (latin1 text of the hash): a state is signed and checked on each side. */
const recentDigests = new Map<string, Uint8Array>();
const RECENT_DIGESTS = 16;

/** keccak256("\x19Ethereum Signed Message:\n32" ‖ dataHash). */
export function ethSignedDigest(dataHash: Uint8Array): Uint8Array {
  if (dataHash.length !== 32)
    throw new SignatureError('data hash must be 32 bytes', { length: dataHash.length });
  const key = Buffer.from(dataHash.buffer, dataHash.byteOffset, 32).toString('latin1');
  let digest = recentDigests.get(key);
  if (digest === undefined) {
    const buf = new Uint8Array(PREFIX.length + 32);
    buf.set(PREFIX, 0);
    buf.set(dataHash, PREFIX.length);
    digest = keccak_256(buf);
    if (recentDigests.size >= RECENT_DIGESTS) recentDigests.delete(recentDigests.keys().next().value!);
    recentDigests.set(key, digest);
  }
  return digest.slice();
}

function addressOfPublicKey(uncompressed: Uint8Array): Address {
  return getAddress(hexlify(keccak_256(uncompressed.subarray(1)).subarray(12)));
}

/** r‖s‖v (v = 27 or 28) as the engines take it: r‖s‖recovery bit. */
function engineSig(raw: Uint8Array, v: number): Uint8Array {
  const sig = new Uint8Array(65);
  sig.set(raw.subarray(0, 64), 0);
  sig[64] = v - 27;
  return sig;
}

/** A participant key that signs channel states and withdrawal authorizations. */
export class EthereumSigner {
  readonly address: Address;
  readonly #key: Uint8Array;
  readonly #engine: Secp256k1Engine;

  /** `engine` is for tests and benchmarks; by default the process's engine signs. */
  constructor(privateKey: Hex, engine: Secp256k1Engine = activeEngine()) {
    let key: Uint8Array;
    try {
      key = getBytes(privateKey);
      this.address = addressOfPublicKey(engine.publicKey(key));
    } catch (err) {
      throw new SignatureError('invalid private key', {}, { cause: err });
    }
    this.#key = key;
    this.#engine = engine;
  }

  static random(engine?: Secp256k1Engine): EthereumSigner {
    return new EthereumSigner(hexlify(secp256k1.utils.randomSecretKey()), engine);
  }

  /** EIP-191 signature over a 32-byte data hash. */
  signHash(dataHash: Uint8Array): Hex {
    const sig = this.#engine.sign(ethSignedDigest(dataHash), this.#key);
    sig[64] = 27 + sig[64]!;
    return `0x${Buffer.from(sig.buffer, sig.byteOffset, sig.length).toString('hex')}`;
  }

  signState(state: State): Hex {
    return this.signHash(hashStateBytes(state));
  }

  signWithdrawalAuth(auth: WithdrawalAuth): Hex {
    return this.signHash(hashWithdrawalAuthBytes(auth));
  }
}

const SIG_HEX = /^0x[0-9a-fA-F]{130}$/;
const word = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const ZERO_WORD = Buffer.alloc(32);
const N_WORD = word(N);
const HALF_N_WORD = word(HALF_N);

/**
 * `sig` in the engines' form if it is well-formed: 0x and 130 hex digits, v 27 or 28, 0 < r < n,
 * 0 < s ≤ n/2 (r and s compared as big-endian words, which orders them as numbers).
 */
export function parseSig(sig: Hex): Uint8Array | undefined {
  if (typeof sig !== 'string' || !SIG_HEX.test(sig)) return undefined;
  const raw = Buffer.from(sig.slice(2), 'hex');
  const v = raw[64]!;
  const r = raw.subarray(0, 32);
  const s = raw.subarray(32, 64);
  if ((v !== 27 && v !== 28) || r.equals(ZERO_WORD) || Buffer.compare(r, N_WORD) >= 0) return undefined;
  if (s.equals(ZERO_WORD) || Buffer.compare(s, HALF_N_WORD) > 0) return undefined;
  raw[64] = v - 27;
  return raw;
}

const KNOWN_KEYS_MAX = 4096;

/**
 * Recovery and verification with one engine. The first valid signature of an address is checked
 * by recovery (what ecrecover does); its public key is then kept, prepared by the engine, and
 * later signatures of that address are checked against it (engine.keyCheck), which accepts the
 * same signatures as a recovery would. The module's functions below use one verifier on the
 * process's engine; tests make one per engine.
 */
export class SignatureVerifier {
  readonly #engine: Secp256k1Engine;
  readonly #knownKeys = new Map<string, KeyCheck>();

  constructor(engine: Secp256k1Engine = activeEngine()) {
    this.#engine = engine;
  }

  /** The address that made `sig` over `dataHash`; throws SignatureError for a malformed signature. */
  recoverSigner(dataHash: Uint8Array, sig: Hex): Address {
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
    try {
      return addressOfPublicKey(this.#engine.recover(ethSignedDigest(dataHash), engineSig(raw, v)));
    } catch (err) {
      throw new SignatureError('signature does not recover to a public key', {}, { cause: err });
    }
  }

  /** True iff `sig` is a valid signature of `signer` over `dataHash`; false for any malformed input. */
  verifySignature(dataHash: Uint8Array, sig: Hex, signer: Address): boolean {
    const raw = parseSig(sig);
    if (raw === undefined || typeof signer !== 'string') return false;
    const addr = signer.toLowerCase();
    const digest = ethSignedDigest(dataHash);
    const known = this.#knownKeys.get(addr);
    if (known !== undefined) return known(digest, raw);
    let key: Uint8Array;
    try {
      key = this.#engine.recover(digest, raw);
    } catch {
      return false;
    }
    if (addressOfPublicKey(key).toLowerCase() !== addr) return false;
    if (this.#knownKeys.size >= KNOWN_KEYS_MAX) this.#knownKeys.delete(this.#knownKeys.keys().next().value!);
    this.#knownKeys.set(addr, this.#engine.keyCheck(key));
    return true;
  }

  verifyStateSignature(state: State, sig: Hex, signer: Address): boolean {
    return this.verifySignature(hashStateBytes(state), sig, signer);
  }

  /** Throws SignatureError unless `sig` is `signer`'s signature on `state`. */
  requireStateSignature(state: State, sig: Hex, signer: Address): void {
    if (!this.verifyStateSignature(state, sig, signer)) {
      throw new SignatureError('invalid state signature', {
        channelID: state.channelID,
        version: String(state.version),
        signer,
      });
    }
  }
}

let verifier: SignatureVerifier | undefined;
const processVerifier = () => (verifier ??= new SignatureVerifier());

/** The address that made `sig` over `dataHash`; throws SignatureError for a malformed signature. */
export function recoverSigner(dataHash: Uint8Array, sig: Hex): Address {
  return processVerifier().recoverSigner(dataHash, sig);
}

/** True iff `sig` is a valid signature of `signer` over `dataHash`; false for any malformed input. */
export function verifySignature(dataHash: Uint8Array, sig: Hex, signer: Address): boolean {
  return processVerifier().verifySignature(dataHash, sig, signer);
}

export function verifyStateSignature(state: State, sig: Hex, signer: Address): boolean {
  return processVerifier().verifyStateSignature(state, sig, signer);
}

/** Throws SignatureError unless `sig` is `signer`'s signature on `state`. */
export function requireStateSignature(state: State, sig: Hex, signer: Address): void {
  processVerifier().requireStateSignature(state, sig, signer);
}
