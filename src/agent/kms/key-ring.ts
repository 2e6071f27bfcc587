/**
 * The keys of the Perun KMS: stored encrypted in the vault, kept decrypted in memory once used
 * (as Node KeyObjects), and the X25519 box keys and `crypto_box_beforenm` shared keys derived
 * from them.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { Kms } from '@credo-ts/core';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromB64u, nodeJwk, type PrivateJwk, type PublicJwk, toB64u, toError } from './key-types.js';
import { boxBeforeNm, ed25519PrivateKeyObject, rawPublicKey, x25519PrivateKeyObject } from './nacl.js';
import type { KeyVault } from './vault.js';

const SHARED_KEY_CACHE_SIZE = 1024;

export interface BoxKey {
  privateKey: KeyObject;
  publicKey: Uint8Array;
}

export interface LoadedKey {
  keyId: string;
  privateJwk: PrivateJwk;
  publicJwk: PublicJwk & { kid: string };
  /** Node KeyObject of an asymmetric private key. */
  nodeKey?: KeyObject;
  /** X25519 key pair for crypto_box, from an X25519 key or converted from an Ed25519 key. */
  boxKey?: BoxKey;
}

/** A Map used as a small LRU cache. */
class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
  deleteWhere(predicate: (key: string) => boolean): void {
    for (const key of [...this.map.keys()]) if (predicate(key)) this.map.delete(key);
  }
}

export class KeyRing {
  private readonly keys = new Map<string, LoadedKey>();
  private readonly sharedKeys = new LruCache<Uint8Array>(SHARED_KEY_CACHE_SIZE);

  constructor(
    private readonly vault: KeyVault,
    readonly backend: string,
  ) {}

  async assertKeyIdFree(keyId: string): Promise<void> {
    if (this.keys.has(keyId) || (await this.vault.has(keyId))) {
      throw new Kms.KeyManagementKeyExistsError(keyId, this.backend);
    }
  }

  async store(keyId: string, jwk: PrivateJwk): Promise<LoadedKey> {
    const privateJwk = { ...jwk, kid: keyId } as PrivateJwk;
    await this.vault.put(keyId, privateJwk);
    const key = this.materialise(keyId, privateJwk);
    this.keys.set(keyId, key);
    return key;
  }

  async load(keyId: string): Promise<LoadedKey | undefined> {
    const cached = this.keys.get(keyId);
    if (cached) return cached;
    const privateJwk = await this.vault.get<PrivateJwk>(keyId);
    if (!privateJwk) return undefined;
    const key = this.materialise(keyId, privateJwk);
    this.keys.set(keyId, key);
    return key;
  }

  async require(keyId: string): Promise<LoadedKey> {
    const key = await this.load(keyId);
    if (!key) throw new Kms.KeyManagementKeyNotFoundError(keyId, [this.backend]);
    return key;
  }

  async delete(keyId: string): Promise<boolean> {
    this.keys.delete(keyId);
    this.sharedKeys.deleteWhere((cacheKey) => cacheKey.startsWith(`${keyId}\u0000`));
    return this.vault.delete(keyId);
  }

  private materialise(keyId: string, privateJwk: PrivateJwk): LoadedKey {
    const publicJwk = { ...Kms.publicJwkFromPrivateJwk(privateJwk), kid: keyId } as PublicJwk & {
      kid: string;
    };
    const key: LoadedKey = { keyId, privateJwk, publicJwk };
    if (privateJwk.kty === 'OKP') {
      const d = fromB64u(privateJwk.d);
      if (privateJwk.crv === 'Ed25519') {
        key.nodeKey = ed25519PrivateKeyObject(d);
      } else {
        key.nodeKey = x25519PrivateKeyObject(d);
        key.boxKey = { privateKey: key.nodeKey, publicKey: fromB64u(privateJwk.x) };
      }
    } else if (privateJwk.kty === 'EC' || privateJwk.kty === 'RSA') {
      key.nodeKey = createPrivateKey({ key: nodeJwk(privateJwk, true), format: 'jwk' });
    }
    return key;
  }

  /** The X25519 key pair of an X25519 key, or of an Ed25519 key converted to Montgomery form. */
  boxKeyOf(key: LoadedKey): BoxKey {
    if (key.boxKey) return key.boxKey;
    if (key.privateJwk.kty === 'OKP' && key.privateJwk.crv === 'Ed25519') {
      const secret = ed25519.utils.toMontgomerySecret(fromB64u(key.privateJwk.d));
      const privateKey = x25519PrivateKeyObject(secret);
      secret.fill(0);
      key.boxKey = { privateKey, publicKey: rawPublicKey(privateKey) };
      return key.boxKey;
    }
    throw new Kms.KeyManagementError(
      `key '${key.keyId}' (${Kms.getJwkHumanDescription(key.publicJwk)}) cannot be used for ECDH-HSALSA20`,
    );
  }

  /** crypto_box_beforenm(peer, our key), cached per (key id, peer key). */
  sharedBoxKey(key: LoadedKey, peerPublicKey: Uint8Array): Uint8Array {
    const cacheKey = `${key.keyId}\u0000${toB64u(peerPublicKey)}`;
    let shared = this.sharedKeys.get(cacheKey);
    if (!shared) {
      try {
        shared = boxBeforeNm(peerPublicKey, this.boxKeyOf(key).privateKey);
      } catch (cause) {
        if (cause instanceof Kms.KeyManagementError) throw cause;
        throw new Kms.KeyManagementError(`ECDH-HSALSA20 key agreement failed: ${(cause as Error).message}`, {
          cause: toError(cause),
        });
      }
      this.sharedKeys.set(cacheKey, shared);
    }
    return shared;
  }
}
