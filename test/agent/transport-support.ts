// TEST-ONLY stand-ins for running Credo agents in the transport tests.
//
// The project's real KMS (src/agent/kms) and storage (src/agent/storage) are built elsewhere; this
// file gives the transport tests just enough of both to run two agents: an in-memory StorageService
// and a key management service on @noble with exactly the operations DIDComm v1 envelopes and DID
// exchange use. Keys live in memory, unencrypted. Never use any of this outside tests.
import 'reflect-metadata';

import {
  Agent,
  type AgentContext,
  type AgentDependencies,
  type BaseRecordAny,
  type BaseRecordConstructor,
  ConsoleLogger,
  DependencyManager,
  type FileSystem,
  InjectionSymbols,
  JsonTransformer,
  Kms,
  LogLevel,
  type Query,
  type QueryOptions,
  RecordDuplicateError,
  RecordNotFoundError,
  type StorageService,
  StorageVersionRecord,
  type TagsBase,
  TypedArrayEncoder,
} from '@credo-ts/core';
import {
  DidCommHttpOutboundTransport,
  DidCommModule,
  type DidCommInboundTransport,
  DidCommWsOutboundTransport,
} from '@credo-ts/didcomm';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WebSocket } from 'ws';

// ---------------------------------------------------------------------------------------------
// Storage: one bucket per agent context, records kept as JSON plus their tags.

interface StoredRecord {
  type: string;
  value: Record<string, unknown>;
  tags: TagsBase;
}

export class TestInMemoryStorageService<
  T extends BaseRecordAny = BaseRecordAny,
> implements StorageService<T> {
  public readonly supportsCursorPagination = false;
  private readonly buckets = new Map<string, Map<string, StoredRecord>>();

  public constructor() {
    // An empty store must say it is at the current storage version, or Credo treats it as a 0.1 wallet.
    const version = new StorageVersionRecord({
      storageVersion: StorageVersionRecord.frameworkStorageVersion,
    });
    this.bucket('default').set(version.id, this.toStored(version as unknown as T));
  }

  private bucket(contextCorrelationId: string): Map<string, StoredRecord> {
    let bucket = this.buckets.get(contextCorrelationId);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(contextCorrelationId, bucket);
    }
    return bucket;
  }

  private toStored(record: T): StoredRecord {
    return {
      type: record.type,
      value: JsonTransformer.toJSON(record) as Record<string, unknown>,
      tags: structuredClone(record.getTags()) as TagsBase,
    };
  }

  private fromStored(stored: StoredRecord, recordClass: BaseRecordConstructor<T>): T {
    const record = JsonTransformer.fromJSON(structuredClone(stored.value), recordClass);
    record.replaceTags(structuredClone(stored.tags));
    return record;
  }

  public async save(agentContext: AgentContext, record: T): Promise<void> {
    record.updatedAt = new Date();
    const bucket = this.bucket(agentContext.contextCorrelationId);
    if (bucket.has(record.id)) {
      throw new RecordDuplicateError(`record ${record.id} already exists`, { recordType: record.type });
    }
    bucket.set(record.id, this.toStored(record));
  }

  public async update(agentContext: AgentContext, record: T): Promise<void> {
    record.updatedAt = new Date();
    const bucket = this.bucket(agentContext.contextCorrelationId);
    if (!bucket.has(record.id)) {
      throw new RecordNotFoundError(`record ${record.id} not found`, { recordType: record.type });
    }
    bucket.set(record.id, this.toStored(record));
  }

  public async delete(agentContext: AgentContext, record: T): Promise<void> {
    if (!this.bucket(agentContext.contextCorrelationId).delete(record.id)) {
      throw new RecordNotFoundError(`record ${record.id} not found`, { recordType: record.type });
    }
  }

  public async deleteById(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    id: string,
  ): Promise<void> {
    const bucket = this.bucket(agentContext.contextCorrelationId);
    if (bucket.get(id)?.type !== recordClass.type || !bucket.delete(id)) {
      throw new RecordNotFoundError(`record ${id} not found`, { recordType: recordClass.type });
    }
  }

  public async getById(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    id: string,
  ): Promise<T> {
    const stored = this.bucket(agentContext.contextCorrelationId).get(id);
    if (!stored || stored.type !== recordClass.type) {
      throw new RecordNotFoundError(`record ${id} not found`, { recordType: recordClass.type });
    }
    return this.fromStored(stored, recordClass);
  }

  public async getAll(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>): Promise<T[]> {
    return this.findByQuery(agentContext, recordClass, {});
  }

  public async findByQuery(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    query: Query<T>,
    queryOptions?: QueryOptions,
  ): Promise<T[]> {
    const hits: T[] = [];
    for (const stored of this.bucket(agentContext.contextCorrelationId).values()) {
      if (stored.type === recordClass.type && matches(stored.tags, query as QueryNode)) {
        hits.push(this.fromStored(stored, recordClass));
      }
    }
    const offset = queryOptions?.offset ?? 0;
    return hits.slice(offset, queryOptions?.limit === undefined ? undefined : offset + queryOptions.limit);
  }
}

type QueryNode = { $and?: QueryNode[]; $or?: QueryNode[]; $not?: QueryNode } & Record<string, unknown>;

function matches(tags: TagsBase, query: QueryNode): boolean {
  for (const [key, expected] of Object.entries(query)) {
    if (key === '$and') {
      if (!(expected as QueryNode[]).every((q) => matches(tags, q))) return false;
    } else if (key === '$or') {
      const alternatives = expected as QueryNode[];
      if (alternatives.length > 0 && !alternatives.some((q) => matches(tags, q))) return false;
    } else if (key === '$not') {
      if (matches(tags, expected as QueryNode)) return false;
    } else if (!tagMatches(tags[key], expected)) {
      return false;
    }
  }
  return true;
}

function tagMatches(actual: unknown, expected: unknown): boolean {
  if (expected === undefined) return true;
  if (expected === null) return actual === undefined || actual === null;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.every((value) => (actual as unknown[]).includes(value));
  }
  return actual === expected;
}

// ---------------------------------------------------------------------------------------------
// KMS: Ed25519 / X25519 keys, EdDSA, libsodium box and sealed box (ECDH-HSALSA20 +
// XSALSA20-POLY1305) and ChaCha20-Poly1305 content encryption (C20P / XC20P).

interface OkpKey {
  crv: 'Ed25519' | 'X25519';
  secret: Uint8Array;
  publicKey: Uint8Array;
}

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]); // "expand 32-byte k"

/** crypto_box_beforenm: HSalsa20 over the X25519 shared secret with a zero nonce. */
function boxKey(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(secret, peerPublic);
  const key = new Uint32Array(8);
  new Uint8Array(key.buffer).set(shared);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, key, new Uint32Array(4), out);
  return new Uint8Array(out.buffer);
}

function sealNonce(ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(ephemeralPublic, 0);
  input.set(recipientPublic, 32);
  return blake2b(input, { dkLen: 24 });
}

const b64u = (bytes: Uint8Array) => TypedArrayEncoder.toBase64URL(bytes);
const fromB64u = (text: string) => new Uint8Array(TypedArrayEncoder.fromBase64(text));
type Bytes = Uint8Array<ArrayBuffer>;
const copy = (bytes: Uint8Array): Bytes => new Uint8Array(bytes);

export class TestKeyManagementService implements Kms.KeyManagementService {
  public readonly backend = 'test-noble';
  private readonly keys = new Map<string, OkpKey>();

  public isOperationSupported(_agentContext: AgentContext, operation: Kms.KmsOperation): boolean {
    switch (operation.operation) {
      case 'createKey':
        return operation.type.kty === 'OKP';
      case 'importKey':
        return operation.privateJwk.kty === 'OKP' && ['Ed25519', 'X25519'].includes(operation.privateJwk.crv);
      case 'deleteKey':
      case 'randomBytes':
        return true;
      case 'sign':
      case 'verify':
        return operation.algorithm === 'EdDSA' || operation.algorithm === 'Ed25519';
      case 'encrypt':
      case 'decrypt': {
        const algorithm =
          operation.operation === 'encrypt' ? operation.encryption.algorithm : operation.decryption.algorithm;
        if (operation.keyAgreement) {
          return operation.keyAgreement.algorithm === 'ECDH-HSALSA20' && algorithm === 'XSALSA20-POLY1305';
        }
        return algorithm === 'C20P' || algorithm === 'XC20P';
      }
      default:
        return false;
    }
  }

  private publicJwk(keyId: string, key: OkpKey): Kms.KmsJwkPublic {
    return { kty: 'OKP', crv: key.crv, x: b64u(key.publicKey), kid: keyId };
  }

  private getKey(keyId: string): OkpKey {
    const key = this.keys.get(keyId);
    if (!key) throw new Kms.KeyManagementKeyNotFoundError(keyId, [this.backend]);
    return key;
  }

  /** The X25519 secret of a key: X25519 keys as they are, Ed25519 keys converted. */
  private agreementSecret(keyId: string): { secret: Uint8Array; publicKey: Uint8Array } {
    const key = this.getKey(keyId);
    if (key.crv === 'X25519') return { secret: key.secret, publicKey: key.publicKey };
    const secret = ed25519.utils.toMontgomerySecret(key.secret);
    return { secret, publicKey: x25519.getPublicKey(secret) };
  }

  public async getPublicKey(_agentContext: AgentContext, keyId: string): Promise<Kms.KmsJwkPublic | null> {
    const key = this.keys.get(keyId);
    return key ? this.publicJwk(keyId, key) : null;
  }

  public async createKey<Type extends Kms.KmsCreateKeyType>(
    _agentContext: AgentContext,
    options: Kms.KmsCreateKeyOptions<Type>,
  ): Promise<Kms.KmsCreateKeyReturn<Type>> {
    const type = options.type;
    if (type.kty !== 'OKP')
      throw new Kms.KeyManagementAlgorithmNotSupportedError(`kty ${type.kty}`, this.backend);
    const keyId = options.keyId ?? randomUUID();
    if (this.keys.has(keyId)) throw new Kms.KeyManagementKeyExistsError(keyId, this.backend);
    const curve = type.crv === 'Ed25519' ? ed25519 : x25519;
    const { secretKey, publicKey } = curve.keygen();
    const key: OkpKey = { crv: type.crv, secret: secretKey, publicKey };
    this.keys.set(keyId, key);
    return { keyId, publicJwk: this.publicJwk(keyId, key) } as unknown as Kms.KmsCreateKeyReturn<Type>;
  }

  public async importKey<Jwk extends Kms.KmsJwkPrivate>(
    _agentContext: AgentContext,
    options: Kms.KmsImportKeyOptions<Jwk>,
  ): Promise<Kms.KmsImportKeyReturn<Jwk>> {
    const jwk = options.privateJwk as Kms.KmsJwkPrivate;
    if (jwk.kty !== 'OKP' || (jwk.crv !== 'Ed25519' && jwk.crv !== 'X25519')) {
      throw new Kms.KeyManagementAlgorithmNotSupportedError(`import of ${jwk.kty}`, this.backend);
    }
    const keyId = jwk.kid ?? randomUUID();
    if (this.keys.has(keyId)) throw new Kms.KeyManagementKeyExistsError(keyId, this.backend);
    const secret = fromB64u(jwk.d);
    const publicKey = jwk.crv === 'Ed25519' ? ed25519.getPublicKey(secret) : x25519.getPublicKey(secret);
    const key: OkpKey = { crv: jwk.crv, secret, publicKey };
    this.keys.set(keyId, key);
    return { keyId, publicJwk: this.publicJwk(keyId, key) } as unknown as Kms.KmsImportKeyReturn<Jwk>;
  }

  public async deleteKey(_agentContext: AgentContext, options: Kms.KmsDeleteKeyOptions): Promise<boolean> {
    return this.keys.delete(options.keyId);
  }

  public async sign(_agentContext: AgentContext, options: Kms.KmsSignOptions): Promise<Kms.KmsSignReturn> {
    const key = this.getKey(options.keyId);
    if (key.crv !== 'Ed25519')
      throw new Kms.KeyManagementAlgorithmNotSupportedError(`sign with ${key.crv}`, this.backend);
    return { signature: copy(ed25519.sign(options.data, key.secret)) };
  }

  public async verify(
    _agentContext: AgentContext,
    options: Kms.KmsVerifyOptions,
  ): Promise<Kms.KmsVerifyReturn> {
    let jwk: Kms.KmsJwkPublic;
    if ('keyId' in options.key && options.key.keyId) {
      jwk = this.publicJwk(options.key.keyId, this.getKey(options.key.keyId));
    } else {
      jwk = (options.key as { publicJwk: Kms.KmsJwkPublic }).publicJwk;
    }
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
      throw new Kms.KeyManagementAlgorithmNotSupportedError(`verify with ${jwk.kty}`, this.backend);
    }
    const verified = ed25519.verify(options.signature, options.data, fromB64u(jwk.x));
    return verified ? { verified: true, publicJwk: jwk } : { verified: false };
  }

  public async encrypt(
    _agentContext: AgentContext,
    options: Kms.KmsEncryptOptions,
  ): Promise<Kms.KmsEncryptReturn> {
    const { key, encryption, data } = options;
    if (key.keyAgreement) {
      if (key.keyAgreement.algorithm !== 'ECDH-HSALSA20' || encryption.algorithm !== 'XSALSA20-POLY1305') {
        throw new Kms.KeyManagementAlgorithmNotSupportedError(key.keyAgreement.algorithm, this.backend);
      }
      const recipient = key.keyAgreement.externalPublicJwk;
      if (recipient.kty !== 'OKP' || recipient.crv !== 'X25519') {
        throw new Kms.KeyManagementAlgorithmNotSupportedError('non-X25519 recipient', this.backend);
      }
      const recipientPublic = fromB64u(recipient.x);
      if (key.keyAgreement.keyId) {
        // crypto_box: authenticated by our key.
        const { secret } = this.agreementSecret(key.keyAgreement.keyId);
        const nonce = encryption.iv ? copy(encryption.iv) : copy(randomBytes(24));
        const encrypted = xsalsa20poly1305(boxKey(secret, recipientPublic), nonce).encrypt(data);
        return { encrypted: copy(encrypted), iv: nonce };
      }
      // crypto_box_seal: ephemeral sender, nonce = blake2b(epk || rpk).
      const ephemeral = x25519.keygen();
      const nonce = sealNonce(ephemeral.publicKey, recipientPublic);
      const boxed = xsalsa20poly1305(boxKey(ephemeral.secretKey, recipientPublic), nonce).encrypt(data);
      const sealed = new Uint8Array(32 + boxed.length);
      sealed.set(ephemeral.publicKey, 0);
      sealed.set(boxed, 32);
      return { encrypted: copy(sealed) };
    }
    if (!key.privateJwk || (encryption.algorithm !== 'C20P' && encryption.algorithm !== 'XC20P')) {
      throw new Kms.KeyManagementAlgorithmNotSupportedError(encryption.algorithm, this.backend);
    }
    const cek = fromB64u(key.privateJwk.k);
    const extended = encryption.algorithm === 'XC20P';
    const iv = encryption.iv ? copy(encryption.iv) : copy(randomBytes(extended ? 24 : 12));
    const sealed = (extended ? xchacha20poly1305 : chacha20poly1305)(cek, iv, encryption.aad).encrypt(data);
    return {
      encrypted: copy(sealed.subarray(0, sealed.length - 16)),
      tag: copy(sealed.subarray(sealed.length - 16)),
      iv,
    };
  }

  public async decrypt(
    _agentContext: AgentContext,
    options: Kms.KmsDecryptOptions,
  ): Promise<Kms.KmsDecryptReturn> {
    const { key, decryption, encrypted } = options;
    if (key.keyAgreement) {
      if (key.keyAgreement.algorithm !== 'ECDH-HSALSA20' || decryption.algorithm !== 'XSALSA20-POLY1305') {
        throw new Kms.KeyManagementAlgorithmNotSupportedError(key.keyAgreement.algorithm, this.backend);
      }
      const own = this.agreementSecret(key.keyAgreement.keyId);
      const sender = key.keyAgreement.externalPublicJwk;
      if (sender) {
        if (!decryption.iv) throw new Kms.KeyManagementError('crypto_box open needs an iv');
        const opened = xsalsa20poly1305(boxKey(own.secret, fromB64u(sender.x)), decryption.iv).decrypt(
          encrypted,
        );
        return { data: copy(opened) };
      }
      if (encrypted.length < 48) throw new Kms.KeyManagementError('sealed box too short');
      const ephemeralPublic = encrypted.subarray(0, 32);
      const nonce = sealNonce(ephemeralPublic, own.publicKey);
      const opened = xsalsa20poly1305(boxKey(own.secret, ephemeralPublic), nonce).decrypt(
        encrypted.subarray(32),
      );
      return { data: copy(opened) };
    }
    if (!key.privateJwk || (decryption.algorithm !== 'C20P' && decryption.algorithm !== 'XC20P')) {
      throw new Kms.KeyManagementAlgorithmNotSupportedError(decryption.algorithm, this.backend);
    }
    const cek = fromB64u(key.privateJwk.k);
    const cipher = decryption.iv.length === 24 ? xchacha20poly1305 : chacha20poly1305;
    const joined = new Uint8Array(encrypted.length + decryption.tag.length);
    joined.set(encrypted, 0);
    joined.set(decryption.tag, encrypted.length);
    return { data: copy(cipher(cek, decryption.iv, decryption.aad).decrypt(joined)) };
  }

  public randomBytes(
    _agentContext: AgentContext,
    options: Kms.KmsRandomBytesOptions,
  ): Kms.KmsRandomBytesReturn {
    return copy(randomBytes(options.length));
  }
}

// ---------------------------------------------------------------------------------------------
// Agent dependencies (@credo-ts/node is not installed). Credo instantiates the FileSystem but
// neither core nor didcomm calls it in these tests; it still works, under a private temp dir.

class TestFileSystem implements FileSystem {
  public readonly dataPath: string;
  public readonly cachePath: string;
  public readonly tempPath: string;

  public constructor() {
    const base = join(tmpdir(), 'perun-agent-transport-test');
    this.dataPath = join(base, 'data');
    this.cachePath = join(base, 'cache');
    this.tempPath = join(base, 'tmp');
  }

  public async exists(path: string): Promise<boolean> {
    return fs.access(path).then(
      () => true,
      () => false,
    );
  }
  public async createDirectory(path: string): Promise<void> {
    await fs.mkdir(dirname(path), { recursive: true });
  }
  public async copyFile(sourcePath: string, destinationPath: string): Promise<void> {
    await fs.copyFile(sourcePath, destinationPath);
  }
  public async write(path: string, data: string): Promise<void> {
    await fs.mkdir(dirname(path), { recursive: true });
    await fs.writeFile(path, data, 'utf8');
  }
  public async read(path: string): Promise<string> {
    return fs.readFile(path, 'utf8');
  }
  public async delete(path: string): Promise<void> {
    await fs.rm(path, { recursive: true, force: true });
  }
  public async downloadToFile(url: string): Promise<void> {
    throw new Error(`downloadToFile(${url}) is not available in tests`);
  }
}

export const testAgentDependencies: AgentDependencies = {
  FileSystem: TestFileSystem,
  EventEmitterClass: EventEmitter,
  fetch: globalThis.fetch,
  WebSocketClass: WebSocket,
};

// ---------------------------------------------------------------------------------------------

export interface TestAgentOptions {
  label: string;
  inbound: DidCommInboundTransport[];
  logLevel?: LogLevel;
}

/** Builds (does not initialize) a Credo agent with the test KMS and storage and the given inbound transports. */
export function createTestAgent(options: TestAgentOptions) {
  const dependencyManager = new DependencyManager();
  dependencyManager.registerInstance(InjectionSymbols.StorageService, new TestInMemoryStorageService());
  return new Agent(
    {
      config: { logger: new ConsoleLogger(options.logLevel ?? LogLevel.off), allowInsecureHttpUrls: true },
      dependencies: testAgentDependencies,
      modules: {
        kms: new Kms.KeyManagementModule({ backends: [new TestKeyManagementService()] }),
        didcomm: new DidCommModule({
          transports: {
            inbound: options.inbound,
            outbound: [new DidCommHttpOutboundTransport(), new DidCommWsOutboundTransport()],
          },
          connections: { autoAcceptConnections: true },
          credentials: false,
          proofs: false,
          messagePickup: false,
          mediator: false,
          mediationRecipient: false,
        }),
      },
    },
    dependencyManager,
  );
}

export type TestAgent = ReturnType<typeof createTestAgent>;
