/**
 * A Credo 0.6 `Kms.KeyManagementService` on Node's crypto and @noble, with private keys encrypted
 * at rest under a passphrase (see vault.ts).
 *
 * Keys: OKP Ed25519 / X25519, EC P-256 / P-384 / P-521 / secp256k1, RSA 2048 / 3072 / 4096,
 * oct (AES, HMAC, C20P).
 * Signatures: EdDSA (Ed25519), ES256 / ES384 / ES512 / ES256K, RS* / PS*, HS*.
 * Encryption: C20P, XC20P, A128GCM / A192GCM / A256GCM and XSALSA20-POLY1305 with a symmetric key;
 * ECDH-HSALSA20 + XSALSA20-POLY1305 (libsodium crypto_box when a sender key is given, crypto_box_seal
 * otherwise), which is what Credo's DidCommEnvelopeService uses for DIDComm v1 envelopes. An Ed25519
 * key used for ECDH-HSALSA20 is converted to X25519 (the birational map, as libsodium's
 * crypto_sign_ed25519_sk_to_curve25519).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
  generateKeyPairSync,
  randomFillSync,
  randomUUID,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  constants as cryptoConstants,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { type AgentContext, Kms } from '@credo-ts/core';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  BOX_NONCE_BYTES,
  boxBeforeNm,
  boxSeal,
  boxSealOpen,
  ed25519PrivateKeyObject,
  rawPublicKey,
  secretboxOpen,
  secretboxSeal,
  x25519PrivateKeyObject,
} from './nacl.js';
import { KeyVault, type OpenVaultOptions } from './vault.js';

const generateKeyPair = promisify(generateKeyPairCallback);

export const PERUN_KMS_BACKEND = 'perun';

type Bytes = Uint8Array<ArrayBuffer>;
type PrivateJwk = Kms.KmsJwkPrivate;
type PublicJwk = Kms.KmsJwkPublic;
type SignatureAlgorithm = Kms.KnownJwaSignatureAlgorithm;

const SIGNATURE_ALGORITHMS = new Set<string>([
  'EdDSA',
  'Ed25519',
  'ES256',
  'ES384',
  'ES512',
  'ES256K',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'HS256',
  'HS384',
  'HS512',
]);
const SYMMETRIC_ALGORITHMS = new Set<string>([
  'C20P',
  'XC20P',
  'A128GCM',
  'A192GCM',
  'A256GCM',
  'XSALSA20-POLY1305',
]);
const SYMMETRIC_KEY_BYTES: Record<string, number> = {
  C20P: 32,
  XC20P: 32,
  'XSALSA20-POLY1305': 32,
  A128GCM: 16,
  A192GCM: 24,
  A256GCM: 32,
};
const EC_CURVES: Record<string, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  secp256k1: 'secp256k1',
};
const HASH_OF_ALGORITHM: Record<string, string> = {
  ES256: 'sha256',
  ES256K: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
};
const SHARED_KEY_CACHE_SIZE = 1024;

interface BoxKey {
  privateKey: KeyObject;
  publicKey: Uint8Array;
}

interface LoadedKey {
  keyId: string;
  privateJwk: PrivateJwk;
  publicJwk: PublicJwk & { kid: string };
  /** Node KeyObject of an asymmetric private key. */
  nodeKey?: KeyObject;
  /** X25519 key pair for crypto_box, from an X25519 key or converted from an Ed25519 key. */
  boxKey?: BoxKey;
}

export interface OpenPerunKmsOptions extends OpenVaultOptions {
  /** The backend name Credo knows this KMS by (default `perun`). */
  backend?: string;
}

const bytes = (data: Uint8Array): Bytes => new Uint8Array(data);
const toError = (cause: unknown): Error | undefined =>
  cause === undefined ? undefined : cause instanceof Error ? cause : new Error(String(cause));
const fromB64u = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'base64url'));
const toB64u = (data: Uint8Array): string => Buffer.from(data).toString('base64url');

function notSupported(what: string, backend: string): Kms.KeyManagementAlgorithmNotSupportedError {
  return new Kms.KeyManagementAlgorithmNotSupportedError(what, backend);
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

/** Only the JWK members that carry key material, for Node's JWK import. */
function nodeJwk(jwk: PrivateJwk | PublicJwk, includePrivate: boolean): JsonWebKey {
  const source = jwk as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const members = ['kty', 'crv', 'x', 'y', 'n', 'e'];
  if (includePrivate) members.push('d', 'p', 'q', 'dp', 'dq', 'qi');
  for (const member of members) if (source[member] !== undefined) out[member] = source[member];
  return out as JsonWebKey;
}

/** Key IDs of the agent's own secrets; Credo's key IDs never take this form. */
const SECRET_PREFIX = 'perun-secret:';

export class PerunKeyManagementService implements Kms.KeyManagementService {
  private readonly keys = new Map<string, LoadedKey>();
  private readonly sharedKeys = new LruCache<Uint8Array>(SHARED_KEY_CACHE_SIZE);

  private constructor(
    private readonly vault: KeyVault,
    public readonly backend: string,
  ) {}

  /**
   * Opens (or initialises) the key storage with the passphrase.
   * @throws WrongPassphraseError if the storage was created with another passphrase
   */
  static async open(options: OpenPerunKmsOptions): Promise<PerunKeyManagementService> {
    const vault = await KeyVault.open(options);
    return new PerunKeyManagementService(vault, options.backend ?? PERUN_KMS_BACKEND);
  }

  /**
   * Keeps a secret of the agent's own (not a Credo key: its Ethereum account key, for example)
   * encrypted under the passphrase, beside the keys.
   */
  async putSecret(name: string, value: unknown): Promise<void> {
    await this.vault.put(SECRET_PREFIX + name, value);
  }

  async getSecret<T>(name: string): Promise<T | undefined> {
    return this.vault.get<T>(SECRET_PREFIX + name);
  }

  /**
   * `crypto_box_beforenm` of our key `keyId` (an Ed25519 key as X25519) and a peer's X25519
   * public key: the key of every box between the two, for a caller that keeps it per connection
   * (the Perun protocol's lean path, src/protocols/perun/lean/peers.ts).
   */
  async boxKey(keyId: string, peerX25519: Uint8Array): Promise<Uint8Array> {
    return this.sharedBoxKey(await this.requireKey(keyId), peerX25519).slice();
  }

  // ---------------------------------------------------------------- capabilities

  isOperationSupported(_agentContext: AgentContext, operation: Kms.KmsOperation): boolean {
    switch (operation.operation) {
      case 'createKey':
        return this.supportsCreateType(operation.type);
      case 'importKey':
        return this.supportsJwk(operation.privateJwk);
      case 'deleteKey':
      case 'randomBytes':
        return true;
      case 'sign':
      case 'verify':
        return SIGNATURE_ALGORITHMS.has(operation.algorithm);
      case 'encrypt':
      case 'decrypt': {
        const algorithm =
          operation.operation === 'encrypt' ? operation.encryption.algorithm : operation.decryption.algorithm;
        if (operation.keyAgreement) {
          return operation.keyAgreement.algorithm === 'ECDH-HSALSA20' && algorithm === 'XSALSA20-POLY1305';
        }
        return SYMMETRIC_ALGORITHMS.has(algorithm);
      }
      default:
        return false;
    }
  }

  private supportsCreateType(type: Kms.KmsCreateKeyType): boolean {
    switch (type.kty) {
      case 'OKP':
        return type.crv === 'Ed25519' || type.crv === 'X25519';
      case 'EC':
        return type.crv in EC_CURVES;
      case 'RSA':
        return [2048, 3072, 4096].includes(type.modulusLength);
      case 'oct':
        if (type.algorithm === 'aes') return [128, 192, 256].includes(type.length);
        return type.algorithm === 'hmac' || type.algorithm === 'C20P';
      default:
        return false;
    }
  }

  private supportsJwk(jwk: PrivateJwk): boolean {
    switch (jwk.kty) {
      case 'OKP':
        return jwk.crv === 'Ed25519' || jwk.crv === 'X25519';
      case 'EC':
        return jwk.crv in EC_CURVES;
      case 'RSA':
      case 'oct':
        return true;
      default:
        return false;
    }
  }

  // ---------------------------------------------------------------- key lifecycle

  async getPublicKey(_agentContext: AgentContext, keyId: string): Promise<PublicJwk | null> {
    const key = await this.loadKey(keyId);
    return key ? { ...key.publicJwk } : null;
  }

  async createKey<Type extends Kms.KmsCreateKeyType>(
    _agentContext: AgentContext,
    options: Kms.KmsCreateKeyOptions<Type>,
  ): Promise<Kms.KmsCreateKeyReturn<Type>> {
    const type: Kms.KmsCreateKeyType = options.type;
    if (!this.supportsCreateType(type)) throw notSupported(`key type ${JSON.stringify(type)}`, this.backend);
    const keyId = options.keyId ?? randomUUID();
    await this.assertKeyIdFree(keyId);
    const privateJwk = await this.generatePrivateJwk(type);
    const key = await this.storeKey(keyId, privateJwk);
    return { keyId, publicJwk: { ...key.publicJwk } } as Kms.KmsCreateKeyReturn<Type>;
  }

  async importKey<Jwk extends Kms.KmsJwkPrivate>(
    _agentContext: AgentContext,
    options: Kms.KmsImportKeyOptions<Jwk>,
  ): Promise<Kms.KmsImportKeyReturn<Jwk>> {
    const privateJwk: PrivateJwk = { ...options.privateJwk };
    if (!this.supportsJwk(privateJwk))
      throw notSupported(Kms.getJwkHumanDescription(privateJwk), this.backend);
    this.assertConsistentPrivateJwk(privateJwk);
    const keyId = privateJwk.kid ?? randomUUID();
    await this.assertKeyIdFree(keyId);
    const key = await this.storeKey(keyId, privateJwk);
    return { keyId, publicJwk: { ...key.publicJwk } } as Kms.KmsImportKeyReturn<Jwk>;
  }

  async deleteKey(_agentContext: AgentContext, options: Kms.KmsDeleteKeyOptions): Promise<boolean> {
    const { keyId } = options;
    this.keys.delete(keyId);
    this.sharedKeys.deleteWhere((cacheKey) => cacheKey.startsWith(`${keyId}\u0000`));
    return this.vault.delete(keyId);
  }

  randomBytes(_agentContext: AgentContext, options: Kms.KmsRandomBytesOptions): Kms.KmsRandomBytesReturn {
    return randomFillSync(new Uint8Array(options.length));
  }

  private async assertKeyIdFree(keyId: string): Promise<void> {
    if (this.keys.has(keyId) || (await this.vault.has(keyId))) {
      throw new Kms.KeyManagementKeyExistsError(keyId, this.backend);
    }
  }

  private async generatePrivateJwk(type: Kms.KmsCreateKeyType): Promise<PrivateJwk> {
    switch (type.kty) {
      case 'OKP': {
        const { privateKey } =
          type.crv === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519');
        const jwk = privateKey.export({ format: 'jwk' });
        return { kty: 'OKP', crv: type.crv, x: String(jwk.x), d: String(jwk.d) };
      }
      case 'EC': {
        const namedCurve = EC_CURVES[type.crv] as string;
        const { privateKey } = generateKeyPairSync('ec', { namedCurve });
        const jwk = privateKey.export({ format: 'jwk' });
        return { kty: 'EC', crv: type.crv, x: String(jwk.x), y: String(jwk.y), d: String(jwk.d) };
      }
      case 'RSA': {
        const { privateKey } = await generateKeyPair('rsa', { modulusLength: type.modulusLength });
        const jwk = privateKey.export({ format: 'jwk' });
        return { ...nodeJwk(jwk as unknown as PrivateJwk, true), kty: 'RSA' } as PrivateJwk;
      }
      case 'oct': {
        const length = type.algorithm === 'C20P' ? 256 : type.length;
        const k = toB64u(randomFillSync(new Uint8Array(Math.ceil(length / 8))));
        return type.algorithm === 'C20P' ? { kty: 'oct', k, alg: 'C20P' } : { kty: 'oct', k };
      }
    }
  }

  /** An imported key's private part must match its public part (no key substitution). */
  private assertConsistentPrivateJwk(jwk: PrivateJwk): void {
    try {
      if (jwk.kty === 'OKP') {
        const d = fromB64u(jwk.d);
        const key = jwk.crv === 'Ed25519' ? ed25519PrivateKeyObject(d) : x25519PrivateKeyObject(d);
        if (toB64u(rawPublicKey(key)) !== jwk.x) throw new Error('x does not match d');
      } else if (jwk.kty === 'EC') {
        const derived = createPublicKey(createPrivateKey({ key: nodeJwk(jwk, true), format: 'jwk' })).export({
          format: 'jwk',
        });
        if (derived.x !== jwk.x || derived.y !== jwk.y) throw new Error('x/y do not match d');
      } else if (jwk.kty === 'RSA') {
        createPrivateKey({ key: nodeJwk(jwk, true), format: 'jwk' });
      } else if (fromB64u(jwk.k).length === 0) {
        throw new Error('empty symmetric key');
      }
    } catch (cause) {
      throw new Kms.KeyManagementError(`invalid private JWK for import: ${(cause as Error).message}`, {
        cause: toError(cause),
      });
    }
  }

  private async storeKey(keyId: string, jwk: PrivateJwk): Promise<LoadedKey> {
    const privateJwk = { ...jwk, kid: keyId } as PrivateJwk;
    await this.vault.put(keyId, privateJwk);
    const key = this.materialise(keyId, privateJwk);
    this.keys.set(keyId, key);
    return key;
  }

  private async loadKey(keyId: string): Promise<LoadedKey | undefined> {
    const cached = this.keys.get(keyId);
    if (cached) return cached;
    const privateJwk = await this.vault.get<PrivateJwk>(keyId);
    if (!privateJwk) return undefined;
    const key = this.materialise(keyId, privateJwk);
    this.keys.set(keyId, key);
    return key;
  }

  private async requireKey(keyId: string): Promise<LoadedKey> {
    const key = await this.loadKey(keyId);
    if (!key) throw new Kms.KeyManagementKeyNotFoundError(keyId, [this.backend]);
    return key;
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
  private boxKeyOf(key: LoadedKey): BoxKey {
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
  private sharedBoxKey(key: LoadedKey, peerPublicKey: Uint8Array): Uint8Array {
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

  // ---------------------------------------------------------------- signatures

  async sign(_agentContext: AgentContext, options: Kms.KmsSignOptions): Promise<Kms.KmsSignReturn> {
    const key = await this.requireKey(options.keyId);
    Kms.assertKeyAllowsSign(key.privateJwk);
    Kms.assertAllowedSigningAlgForKey(key.privateJwk, options.algorithm);
    const data = options.data;
    if (key.privateJwk.kty === 'oct') {
      return { signature: bytes(this.hmac(options.algorithm, fromB64u(key.privateJwk.k), data)) };
    }
    const nodeKey = key.nodeKey as KeyObject;
    const signature = nodeSign(
      this.hashOf(options.algorithm),
      data,
      this.signingOptions(options.algorithm, nodeKey),
    );
    return { signature: bytes(signature) };
  }

  async verify(_agentContext: AgentContext, options: Kms.KmsVerifyOptions): Promise<Kms.KmsVerifyReturn> {
    let publicJwk: PublicJwk;
    let symmetricKey: Uint8Array | undefined;
    let nodeKey: KeyObject | undefined;
    if (options.key.keyId !== undefined) {
      const key = await this.requireKey(options.key.keyId);
      publicJwk = key.publicJwk;
      Kms.assertKeyAllowsVerify(key.privateJwk);
      Kms.assertAllowedSigningAlgForKey(key.privateJwk, options.algorithm);
      if (key.privateJwk.kty === 'oct') symmetricKey = fromB64u(key.privateJwk.k);
      else nodeKey = createPublicKey(key.nodeKey as KeyObject);
    } else {
      publicJwk = options.key.publicJwk as PublicJwk;
      Kms.assertKeyAllowsVerify(publicJwk);
      Kms.assertAllowedSigningAlgForKey(options.key.publicJwk, options.algorithm);
      try {
        nodeKey = createPublicKey({ key: nodeJwk(publicJwk, false), format: 'jwk' });
      } catch (cause) {
        throw new Kms.KeyManagementError(`invalid public JWK: ${(cause as Error).message}`, {
          cause: toError(cause),
        });
      }
    }

    let verified: boolean;
    if (symmetricKey) {
      const expected = this.hmac(options.algorithm, symmetricKey, options.data);
      verified = expected.length === options.signature.length && timingSafeEqual(expected, options.signature);
    } else {
      try {
        verified = nodeVerify(
          this.hashOf(options.algorithm),
          options.data,
          this.signingOptions(options.algorithm, nodeKey as KeyObject),
          options.signature,
        );
      } catch {
        verified = false;
      }
    }
    return verified ? { verified: true, publicJwk: { ...publicJwk } } : { verified: false };
  }

  private hashOf(algorithm: SignatureAlgorithm): string | null {
    if (algorithm === 'EdDSA' || algorithm === 'Ed25519') return null;
    const hash = HASH_OF_ALGORITHM[algorithm];
    if (!hash) throw notSupported(`signature algorithm ${algorithm}`, this.backend);
    return hash;
  }

  private signingOptions(
    algorithm: SignatureAlgorithm,
    key: KeyObject,
  ): KeyObject | { key: KeyObject; dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number } {
    if (algorithm.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' };
    if (algorithm.startsWith('PS')) {
      const saltLength = Number(algorithm.slice(2)) / 8;
      return { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength };
    }
    return key;
  }

  private hmac(algorithm: SignatureAlgorithm, key: Uint8Array, data: Uint8Array): Buffer {
    const hash = this.hashOf(algorithm);
    if (!hash || !algorithm.startsWith('HS'))
      throw notSupported(`signature algorithm ${algorithm}`, this.backend);
    return createHmac(hash, key).update(data).digest();
  }

  // ---------------------------------------------------------------- encryption

  async encrypt(_agentContext: AgentContext, options: Kms.KmsEncryptOptions): Promise<Kms.KmsEncryptReturn> {
    const { encryption, data } = options;
    const keyAgreement = options.key.keyAgreement;
    if (keyAgreement) {
      if (keyAgreement.algorithm !== 'ECDH-HSALSA20' || encryption.algorithm !== 'XSALSA20-POLY1305') {
        throw notSupported(`${keyAgreement.algorithm} with ${encryption.algorithm}`, this.backend);
      }
      const recipient = this.x25519PublicKeyFromJwk(keyAgreement.externalPublicJwk);
      if (keyAgreement.keyId === undefined) {
        // crypto_box_seal: anonymous sender, no nonce to return.
        if (encryption.iv) throw new Kms.KeyManagementError('XSALSA20-POLY1305 sealed box takes no iv');
        return { encrypted: bytes(boxSeal(data, recipient)) };
      }
      // crypto_box_easy from our key to the recipient.
      const sender = await this.requireKey(keyAgreement.keyId);
      const nonce = encryption.iv ?? randomFillSync(new Uint8Array(BOX_NONCE_BYTES));
      if (nonce.length !== BOX_NONCE_BYTES)
        throw new Kms.KeyManagementError('XSALSA20-POLY1305 iv must be 24 bytes');
      const encrypted = secretboxSeal(this.sharedBoxKey(sender, recipient), nonce, data);
      return { encrypted: bytes(encrypted), iv: bytes(nonce) };
    }

    const key = await this.symmetricKey(options.key, encryption.algorithm, 'encrypt');
    const aad = 'aad' in encryption ? encryption.aad : undefined;
    switch (encryption.algorithm) {
      case 'C20P':
      case 'A128GCM':
      case 'A192GCM':
      case 'A256GCM': {
        const iv = encryption.iv ?? randomFillSync(new Uint8Array(12));
        if (iv.length !== 12) throw new Kms.KeyManagementError(`${encryption.algorithm} iv must be 12 bytes`);
        const cipherName =
          encryption.algorithm === 'C20P' ? 'chacha20-poly1305' : this.gcmName(encryption.algorithm);
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
        throw notSupported(`content encryption ${encryption.algorithm}`, this.backend);
    }
  }

  async decrypt(_agentContext: AgentContext, options: Kms.KmsDecryptOptions): Promise<Kms.KmsDecryptReturn> {
    const { decryption, encrypted } = options;
    const keyAgreement = options.key.keyAgreement;
    if (keyAgreement) {
      if (keyAgreement.algorithm !== 'ECDH-HSALSA20' || decryption.algorithm !== 'XSALSA20-POLY1305') {
        throw notSupported(`${keyAgreement.algorithm} with ${decryption.algorithm}`, this.backend);
      }
      const recipient = await this.requireKey(keyAgreement.keyId);
      let opened: Uint8Array | undefined;
      if (keyAgreement.externalPublicJwk) {
        // crypto_box_open_easy from the sender's key.
        const sender = this.x25519PublicKeyFromJwk(keyAgreement.externalPublicJwk);
        if (!decryption.iv || decryption.iv.length !== BOX_NONCE_BYTES) {
          throw new Kms.KeyManagementError('XSALSA20-POLY1305 box needs a 24-byte iv');
        }
        opened = secretboxOpen(this.sharedBoxKey(recipient, sender), decryption.iv, encrypted);
      } else {
        // crypto_box_seal_open.
        if (decryption.iv) throw new Kms.KeyManagementError('XSALSA20-POLY1305 sealed box takes no iv');
        const boxKey = this.boxKeyOf(recipient);
        opened = boxSealOpen(encrypted, boxKey.privateKey, boxKey.publicKey);
      }
      if (!opened)
        throw new Kms.KeyManagementError('XSALSA20-POLY1305 decryption failed: data does not authenticate');
      return { data: bytes(opened) };
    }

    const key = await this.symmetricKey(options.key, decryption.algorithm, 'decrypt');
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
          decryption.algorithm === 'C20P' ? 'chacha20-poly1305' : this.gcmName(decryption.algorithm);
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
        throw notSupported(`content encryption ${decryption.algorithm}`, this.backend);
    }
  }

  private gcmName(algorithm: 'A128GCM' | 'A192GCM' | 'A256GCM'): string {
    return `aes-${algorithm.slice(1, 4)}-gcm`;
  }

  private x25519PublicKeyFromJwk(jwk: { kty: string; crv: string; x: string }): Uint8Array {
    const publicKey = fromB64u(jwk.x);
    if (jwk.kty !== 'OKP' || jwk.crv !== 'X25519' || publicKey.length !== 32) {
      throw new Kms.KeyManagementError('ECDH-HSALSA20 needs an X25519 public JWK');
    }
    return publicKey;
  }

  private async symmetricKey(
    key: { keyId?: string; privateJwk?: Kms.KmsJwkPrivateOct },
    algorithm: string,
    use: 'encrypt' | 'decrypt',
  ): Promise<Uint8Array> {
    let jwk: PrivateJwk;
    if (key.privateJwk) jwk = key.privateJwk;
    else if (key.keyId !== undefined) jwk = (await this.requireKey(key.keyId)).privateJwk;
    else throw new Kms.KeyManagementError(`${algorithm} needs a key`);
    if (jwk.kty !== 'oct') throw new Kms.KeyManagementError(`${algorithm} needs a symmetric (oct) key`);
    if (use === 'encrypt') Kms.assertKeyAllowsEncrypt(jwk);
    else Kms.assertKeyAllowsDecrypt(jwk);
    const material = fromB64u(jwk.k);
    const expected = SYMMETRIC_KEY_BYTES[algorithm];
    if (expected === undefined) throw notSupported(`content encryption ${algorithm}`, this.backend);
    if (material.length !== expected) {
      throw new Kms.KeyManagementError(
        `${algorithm} needs a ${expected * 8}-bit key, got ${material.length * 8} bits`,
      );
    }
    return material;
  }
}
