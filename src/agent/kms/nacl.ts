/**
 * libsodium's `crypto_box` family, as DIDComm v1 envelopes (Aries RFC 0019) use it:
 *
 * - `crypto_box_beforenm(pk, sk)` = HSalsa20(key = X25519(sk, pk), input = 16 zero bytes);
 * - `crypto_box_easy(m, n, pk, sk)` = XSalsa20-Poly1305 secretbox of m under that key and the
 *   24-byte nonce n; output `mac(16) || ciphertext`;
 * - `crypto_box_seal(m, pk)`: fresh ephemeral key pair (epk, esk), nonce = BLAKE2b-192(epk || pk),
 *   output `epk(32) || crypto_box_easy(m, nonce, pk, esk)`.
 *
 * X25519 runs in Node's crypto (OpenSSL); HSalsa20, XSalsa20-Poly1305 and BLAKE2b come from
 * @noble/ciphers and @noble/hashes.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { u32 } from '@noble/ciphers/utils.js';
import { blake2b } from '@noble/hashes/blake2.js';

export const BOX_PUBLIC_KEY_BYTES = 32;
export const BOX_NONCE_BYTES = 24;
export const BOX_MAC_BYTES = 16;
export const BOX_SEAL_BYTES = BOX_PUBLIC_KEY_BYTES + BOX_MAC_BYTES;

// DER prefixes of PKCS#8 private keys and SPKI public keys for the RFC 8410 curves.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const ZERO16 = new Uint8Array(16);

function assertLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${bytes.length}`);
}

export function x25519PrivateKeyObject(secretKey: Uint8Array): KeyObject {
  assertLength(secretKey, 32, 'X25519 private key');
  return createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, secretKey]),
    format: 'der',
    type: 'pkcs8',
  });
}

export function x25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  assertLength(publicKey, BOX_PUBLIC_KEY_BYTES, 'X25519 public key');
  return createPublicKey({
    key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
}

export function ed25519PrivateKeyObject(seed: Uint8Array): KeyObject {
  assertLength(seed, 32, 'Ed25519 private key');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  assertLength(publicKey, 32, 'Ed25519 public key');
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
}

/** The raw 32-byte public key of an Ed25519 or X25519 private or public KeyObject. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** X25519(sk, pk), refusing the all-zero output of small-order points as libsodium does. */
export function x25519(privateKey: KeyObject, publicKey: Uint8Array): Uint8Array {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: x25519PublicKeyObject(publicKey) });
  } catch (cause) {
    throw new Error('X25519 key agreement failed (invalid public key)', { cause });
  }
  if (shared.every((b) => b === 0)) throw new Error('X25519 key agreement produced the all-zero secret');
  return new Uint8Array(shared);
}

/** HSalsa20 core: 32-byte key, 16-byte input, 32-byte output. */
export function hsalsa20(key: Uint8Array, input: Uint8Array): Uint8Array {
  assertLength(key, 32, 'HSalsa20 key');
  assertLength(input, 16, 'HSalsa20 input');
  const out = new Uint32Array(8);
  hsalsa(SIGMA, u32(key.slice()), u32(input.slice()), out);
  return new Uint8Array(out.buffer);
}

/** `crypto_box_beforenm`: the shared XSalsa20-Poly1305 key of (sk, pk). */
export function boxBeforeNm(publicKey: Uint8Array, privateKey: KeyObject): Uint8Array {
  return hsalsa20(x25519(privateKey, publicKey), ZERO16);
}

/** `crypto_secretbox_easy`: `mac || ciphertext`. */
export function secretboxSeal(key: Uint8Array, nonce: Uint8Array, message: Uint8Array): Uint8Array {
  assertLength(nonce, BOX_NONCE_BYTES, 'box nonce');
  return xsalsa20poly1305(key, nonce).encrypt(message);
}

/** `crypto_secretbox_open_easy`; undefined if the box does not authenticate. */
export function secretboxOpen(key: Uint8Array, nonce: Uint8Array, boxed: Uint8Array): Uint8Array | undefined {
  assertLength(nonce, BOX_NONCE_BYTES, 'box nonce');
  if (boxed.length < BOX_MAC_BYTES) return undefined;
  try {
    return xsalsa20poly1305(key, nonce).decrypt(boxed);
  } catch {
    return undefined;
  }
}

/** The nonce of `crypto_box_seal`: BLAKE2b with a 24-byte digest of `epk || pk`. */
export function sealNonce(ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(ephemeralPublicKey, 0);
  input.set(recipientPublicKey, 32);
  return blake2b(input, { dkLen: BOX_NONCE_BYTES });
}

/** `crypto_box_seal`: anonymous encryption to `recipientPublicKey` (X25519). */
export function boxSeal(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  assertLength(recipientPublicKey, BOX_PUBLIC_KEY_BYTES, 'recipient public key');
  const ephemeral = generateKeyPairSync('x25519').privateKey;
  const epk = rawPublicKey(ephemeral);
  const key = boxBeforeNm(recipientPublicKey, ephemeral);
  const boxed = secretboxSeal(key, sealNonce(epk, recipientPublicKey), message);
  key.fill(0);
  const out = new Uint8Array(BOX_PUBLIC_KEY_BYTES + boxed.length);
  out.set(epk, 0);
  out.set(boxed, BOX_PUBLIC_KEY_BYTES);
  return out;
}

/** `crypto_box_seal_open`; undefined if the sealed box does not authenticate. */
export function boxSealOpen(
  sealed: Uint8Array,
  recipientPrivateKey: KeyObject,
  recipientPublicKey: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < BOX_SEAL_BYTES) return undefined;
  const epk = sealed.subarray(0, BOX_PUBLIC_KEY_BYTES);
  let key: Uint8Array;
  try {
    key = boxBeforeNm(epk, recipientPrivateKey);
  } catch {
    return undefined;
  }
  const opened = secretboxOpen(
    key,
    sealNonce(epk, recipientPublicKey),
    sealed.subarray(BOX_PUBLIC_KEY_BYTES),
  );
  key.fill(0);
  return opened;
}
