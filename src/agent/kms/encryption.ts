/**
 * Encryption of the Perun KMS: content encryption with a symmetric key (C20P, XC20P, AES-GCM,
 * XSalsa20-Poly1305) and ECDH-HSALSA20 + XSALSA20-POLY1305, libsodium's crypto_box and
 * crypto_box_seal, for DIDComm v1 envelopes.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { Kms } from '@credo-ts/core';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import type { KeyRing } from './key-ring.js';
import { bytes, fromB64u, notSupported, type PrivateJwk, toError } from './key-types.js';
import { BOX_NONCE_BYTES, boxSeal, boxSealOpen, secretboxOpen, secretboxSeal } from './nacl.js';

const SYMMETRIC_KEY_BYTES: Record<string, number> = {
  C20P: 32,
  XC20P: 32,
  'XSALSA20-POLY1305': 32,
  A128GCM: 16,
  A192GCM: 24,
  A256GCM: 32,
};

export async function encrypt(ring: KeyRing, options: Kms.KmsEncryptOptions): Promise<Kms.KmsEncryptReturn> {
  const { encryption, data } = options;
  const keyAgreement = options.key.keyAgreement;
  if (keyAgreement) {
    if (keyAgreement.algorithm !== 'ECDH-HSALSA20' || encryption.algorithm !== 'XSALSA20-POLY1305') {
      throw notSupported(`${keyAgreement.algorithm} with ${encryption.algorithm}`, ring.backend);
    }
    const recipient = x25519PublicKeyFromJwk(keyAgreement.externalPublicJwk);
    if (keyAgreement.keyId === undefined) {
      // crypto_box_seal: anonymous sender, no nonce to return.
      if (encryption.iv) throw new Kms.KeyManagementError('XSALSA20-POLY1305 sealed box takes no iv');
      return { encrypted: bytes(boxSeal(data, recipient)) };
    }
    // crypto_box_easy from our key to the recipient.
    const sender = await ring.require(keyAgreement.keyId);
    const nonce = encryption.iv ?? randomFillSync(new Uint8Array(BOX_NONCE_BYTES));
    if (nonce.length !== BOX_NONCE_BYTES)
      throw new Kms.KeyManagementError('XSALSA20-POLY1305 iv must be 24 bytes');
    const encrypted = secretboxSeal(ring.sharedBoxKey(sender, recipient), nonce, data);
    return { encrypted: bytes(encrypted), iv: bytes(nonce) };
  }

  const key = await symmetricKey(ring, options.key, encryption.algorithm, 'encrypt');
  const aad = 'aad' in encryption ? encryption.aad : undefined;
  switch (encryption.algorithm) {
    case 'C20P':
    case 'A128GCM':
    case 'A192GCM':
    case 'A256GCM': {
      const iv = encryption.iv ?? randomFillSync(new Uint8Array(12));
      if (iv.length !== 12) throw new Kms.KeyManagementError(`${encryption.algorithm} iv must be 12 bytes`);
      const cipherName =
        encryption.algorithm === 'C20P' ? 'chacha20-poly1305' : gcmName(encryption.algorithm);
      const cipher = createCipheriv(cipherName as 'chacha20-poly1305', key, iv, { authTagLength: 16 });
      if (aad) cipher.setAAD(aad, { plaintextLength: data.length });
      const encrypted = Buffer.concat([cipher.update(data), cipher.final()]);
      return { encrypted: bytes(encrypted), iv: bytes(iv), tag: bytes(cipher.getAuthTag()) };
    }
    case 'XC20P': {
      const iv = encryption.iv ?? randomFillSync(new Uint8Array(24));
      if (iv.length !== 24) throw new Kms.KeyManagementError('XC20P iv must be 24 bytes');
      const sealed = xchacha20poly1305(key, iv, aad).encrypt(data);
      return {
        encrypted: bytes(sealed.subarray(0, sealed.length - 16)),
        iv: bytes(iv),
        tag: bytes(sealed.subarray(sealed.length - 16)),
      };
    }
    case 'XSALSA20-POLY1305': {
      const iv = encryption.iv ?? randomFillSync(new Uint8Array(BOX_NONCE_BYTES));
      if (iv.length !== BOX_NONCE_BYTES)
        throw new Kms.KeyManagementError('XSALSA20-POLY1305 iv must be 24 bytes');
      return { encrypted: bytes(xsalsa20poly1305(key, iv).encrypt(data)), iv: bytes(iv) };
    }
    case 'A128CBC-HS256':
    case 'A192CBC-HS384':
    case 'A256CBC-HS512':
    case 'A128CBC':
    case 'A256CBC':
      throw notSupported(`content encryption ${encryption.algorithm}`, ring.backend);
  }
}

export async function decrypt(ring: KeyRing, options: Kms.KmsDecryptOptions): Promise<Kms.KmsDecryptReturn> {
  const { decryption, encrypted } = options;
  const keyAgreement = options.key.keyAgreement;
  if (keyAgreement) {
    if (keyAgreement.algorithm !== 'ECDH-HSALSA20' || decryption.algorithm !== 'XSALSA20-POLY1305') {
      throw notSupported(`${keyAgreement.algorithm} with ${decryption.algorithm}`, ring.backend);
    }
    const recipient = await ring.require(keyAgreement.keyId);
    let opened: Uint8Array | undefined;
    if (keyAgreement.externalPublicJwk) {
      // crypto_box_open_easy from the sender's key.
      const sender = x25519PublicKeyFromJwk(keyAgreement.externalPublicJwk);
      if (!decryption.iv || decryption.iv.length !== BOX_NONCE_BYTES) {
        throw new Kms.KeyManagementError('XSALSA20-POLY1305 box needs a 24-byte iv');
      }
      opened = secretboxOpen(ring.sharedBoxKey(recipient, sender), decryption.iv, encrypted);
    } else {
      // crypto_box_seal_open.
      if (decryption.iv) throw new Kms.KeyManagementError('XSALSA20-POLY1305 sealed box takes no iv');
      const boxKey = ring.boxKeyOf(recipient);
      opened = boxSealOpen(encrypted, boxKey.privateKey, boxKey.publicKey);
    }
    if (!opened)
      throw new Kms.KeyManagementError('XSALSA20-POLY1305 decryption failed: data does not authenticate');
    return { data: bytes(opened) };
  }

  const key = await symmetricKey(ring, options.key, decryption.algorithm, 'decrypt');
  const aad = 'aad' in decryption ? decryption.aad : undefined;
  const failed = (cause?: unknown): Kms.KeyManagementError =>
    new Kms.KeyManagementError(`${decryption.algorithm} decryption failed: data does not authenticate`, {
      cause: toError(cause),
    });
  switch (decryption.algorithm) {
    case 'C20P':
    case 'XC20P':
    case 'A128GCM':
    case 'A192GCM':
    case 'A256GCM': {
      const { iv, tag } = decryption;
      if (tag.length !== 16) throw failed();
      // A 24-byte nonce with C20P is XChaCha20-Poly1305: envelopes named `xchacha20poly1305_ietf`
      // by libsodium-based agents (indy-sdk) carry one.
      if (decryption.algorithm === 'XC20P' || (decryption.algorithm === 'C20P' && iv.length === 24)) {
        if (iv.length !== 24) throw new Kms.KeyManagementError('XC20P iv must be 24 bytes');
        const sealed = new Uint8Array(encrypted.length + 16);
        sealed.set(encrypted, 0);
        sealed.set(tag, encrypted.length);
        try {
          return { data: bytes(xchacha20poly1305(key, iv, aad).decrypt(sealed)) };
        } catch (cause) {
          throw failed(cause);
        }
      }
      if (iv.length !== 12) throw new Kms.KeyManagementError(`${decryption.algorithm} iv must be 12 bytes`);
      const cipherName =
        decryption.algorithm === 'C20P' ? 'chacha20-poly1305' : gcmName(decryption.algorithm);
      const decipher = createDecipheriv(cipherName as 'chacha20-poly1305', key, iv, { authTagLength: 16 });
      if (aad) decipher.setAAD(aad, { plaintextLength: encrypted.length });
      decipher.setAuthTag(tag);
      try {
        return { data: bytes(Buffer.concat([decipher.update(encrypted), decipher.final()])) };
      } catch (cause) {
        throw failed(cause);
      }
    }
    case 'XSALSA20-POLY1305': {
      const { iv } = decryption;
      if (!iv || iv.length !== BOX_NONCE_BYTES)
        throw new Kms.KeyManagementError('XSALSA20-POLY1305 iv must be 24 bytes');
      const opened = secretboxOpen(key, iv, encrypted);
      if (!opened) throw failed();
      return { data: bytes(opened) };
    }
    case 'A128CBC-HS256':
    case 'A192CBC-HS384':
    case 'A256CBC-HS512':
    case 'A128CBC':
    case 'A256CBC':
      throw notSupported(`content encryption ${decryption.algorithm}`, ring.backend);
  }
}

function gcmName(algorithm: 'A128GCM' | 'A192GCM' | 'A256GCM'): string {
  return `aes-${algorithm.slice(1, 4)}-gcm`;
}

function x25519PublicKeyFromJwk(jwk: { kty: string; crv: string; x: string }): Uint8Array {
  const publicKey = fromB64u(jwk.x);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'X25519' || publicKey.length !== 32) {
    throw new Kms.KeyManagementError('ECDH-HSALSA20 needs an X25519 public JWK');
  }
  return publicKey;
}

async function symmetricKey(
  ring: KeyRing,
  key: { keyId?: string; privateJwk?: Kms.KmsJwkPrivateOct },
  algorithm: string,
  use: 'encrypt' | 'decrypt',
): Promise<Uint8Array> {
  let jwk: PrivateJwk;
  if (key.privateJwk) jwk = key.privateJwk;
  else if (key.keyId !== undefined) jwk = (await ring.require(key.keyId)).privateJwk;
  else throw new Kms.KeyManagementError(`${algorithm} needs a key`);
  if (jwk.kty !== 'oct') throw new Kms.KeyManagementError(`${algorithm} needs a symmetric (oct) key`);
  if (use === 'encrypt') Kms.assertKeyAllowsEncrypt(jwk);
  else Kms.assertKeyAllowsDecrypt(jwk);
  const material = fromB64u(jwk.k);
  const expected = SYMMETRIC_KEY_BYTES[algorithm];
  if (expected === undefined) throw notSupported(`content encryption ${algorithm}`, ring.backend);
  if (material.length !== expected) {
    throw new Kms.KeyManagementError(
      `${algorithm} needs a ${expected * 8}-bit key, got ${material.length * 8} bits`,
    );
  }
  return material;
}
