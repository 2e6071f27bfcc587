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
 *
 * This class is Credo's face of the KMS; the work is in key-types.ts (supported types, JWKs),
 * key-ring.ts (keys in the vault and in memory), signatures.ts and encryption.ts.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { type AgentContext, Kms } from '@credo-ts/core';
import { decrypt, encrypt } from './encryption.js';
import { KeyRing, type LoadedKey } from './key-ring.js';
import {
  assertConsistentPrivateJwk,
  generatePrivateJwk,
  notSupported,
  type PrivateJwk,
  type PublicJwk,
  supportsCreateType,
  supportsJwk,
  supportsOperation,
} from './key-types.js';
import { sign, verify } from './signatures.js';
import { KeyVault, type OpenVaultOptions } from './vault.js';

export const PERUN_KMS_BACKEND = 'perun';

export interface OpenPerunKmsOptions extends OpenVaultOptions {
  /** The backend name Credo knows this KMS by (default `perun`). */
  backend?: string;
}

/** Key IDs of the agent's own secrets; Credo's key IDs never take this form. */
const SECRET_PREFIX = 'perun-secret:';

export class PerunKeyManagementService implements Kms.KeyManagementService {
  private readonly ring: KeyRing;

  private constructor(
    private readonly vault: KeyVault,
    public readonly backend: string,
  ) {
    this.ring = new KeyRing(vault, backend);
  }

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
    return this.ring.sharedBoxKey(await this.ring.require(keyId), peerX25519).slice();
  }

  // ---------------------------------------------------------------- capabilities

  isOperationSupported(_agentContext: AgentContext, operation: Kms.KmsOperation): boolean {
    return supportsOperation(operation);
  }

  // ---------------------------------------------------------------- key lifecycle

  async getPublicKey(_agentContext: AgentContext, keyId: string): Promise<PublicJwk | null> {
    const key = await this.loadKey(keyId);
    return key ? { ...key.publicJwk } : null;
  }

  private loadKey(keyId: string): Promise<LoadedKey | undefined> {
    return this.ring.load(keyId);
  }

  async createKey<Type extends Kms.KmsCreateKeyType>(
    _agentContext: AgentContext,
    options: Kms.KmsCreateKeyOptions<Type>,
  ): Promise<Kms.KmsCreateKeyReturn<Type>> {
    const type: Kms.KmsCreateKeyType = options.type;
    if (!supportsCreateType(type)) throw notSupported(`key type ${JSON.stringify(type)}`, this.backend);
    const keyId = options.keyId ?? randomUUID();
    await this.ring.assertKeyIdFree(keyId);
    const privateJwk = await generatePrivateJwk(type);
    const key = await this.ring.store(keyId, privateJwk);
    return { keyId, publicJwk: { ...key.publicJwk } } as Kms.KmsCreateKeyReturn<Type>;
  }

  async importKey<Jwk extends Kms.KmsJwkPrivate>(
    _agentContext: AgentContext,
    options: Kms.KmsImportKeyOptions<Jwk>,
  ): Promise<Kms.KmsImportKeyReturn<Jwk>> {
    const privateJwk: PrivateJwk = { ...options.privateJwk };
    if (!supportsJwk(privateJwk)) throw notSupported(Kms.getJwkHumanDescription(privateJwk), this.backend);
    assertConsistentPrivateJwk(privateJwk);
    const keyId = privateJwk.kid ?? randomUUID();
    await this.ring.assertKeyIdFree(keyId);
    const key = await this.ring.store(keyId, privateJwk);
    return { keyId, publicJwk: { ...key.publicJwk } } as Kms.KmsImportKeyReturn<Jwk>;
  }

  async deleteKey(_agentContext: AgentContext, options: Kms.KmsDeleteKeyOptions): Promise<boolean> {
    return this.ring.delete(options.keyId);
  }

  randomBytes(_agentContext: AgentContext, options: Kms.KmsRandomBytesOptions): Kms.KmsRandomBytesReturn {
    return randomFillSync(new Uint8Array(options.length));
  }

  // ---------------------------------------------------------------- signatures and encryption

  sign(_agentContext: AgentContext, options: Kms.KmsSignOptions): Promise<Kms.KmsSignReturn> {
    return sign(this.ring, options);
  }

  verify(_agentContext: AgentContext, options: Kms.KmsVerifyOptions): Promise<Kms.KmsVerifyReturn> {
    return verify(this.ring, options);
  }

  encrypt(_agentContext: AgentContext, options: Kms.KmsEncryptOptions): Promise<Kms.KmsEncryptReturn> {
    return encrypt(this.ring, options);
  }

  decrypt(_agentContext: AgentContext, options: Kms.KmsDecryptOptions): Promise<Kms.KmsDecryptReturn> {
    return decrypt(this.ring, options);
  }
}
