/**
 * Encryption at rest for the KMS: a key-encryption key (KEK) is derived from the agent's
 * passphrase with scrypt and a random salt; every private key is sealed with AES-256-GCM under
 * the KEK before it reaches the `KmsKeyStorage`.
 *
 * Stored layout (ids inside the `KmsKeyStorage`):
 * - `meta`: UTF-8 JSON `{ format: "perun-kms", version: 1, kdf: { name: "scrypt", N, r, p, salt },
 *   check }`; `salt` and `check` are base64url. `check` is a sealed constant: opening it proves the
 *   passphrase before any key is touched, so a wrong passphrase fails at `open` with
 *   `WrongPassphraseError`.
 * - `key:<keyId>`: a sealed blob `0x01 || nonce(12) || ciphertext || tag(16)` of the private JWK
 *   (UTF-8 JSON). The AAD binds the blob to its id, so entries cannot be swapped between ids.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { KeyStorageCorruptError, WrongPassphraseError } from './errors.js';
import type { KmsKeyStorage } from './key-storage.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** OWASP's recommendation for scrypt: N = 2^17, r = 8, p = 1 (128 MiB, a few hundred ms). */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

const META_ID = 'meta';
const KEY_PREFIX = 'key:';
const FORMAT = 'perun-kms';
const VERSION = 1;
const BLOB_VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEK_BYTES = 32;
const SALT_BYTES = 16;
const CHECK_PLAINTEXT = Buffer.from('perun-kms passphrase check v1', 'utf8');
const CHECK_AAD = 'perun-kms/v1 check';
const KEY_AAD = 'perun-kms/v1 key:';

interface VaultMeta {
  format: typeof FORMAT;
  version: typeof VERSION;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  check: string;
}

export type Passphrase = string | Uint8Array;

export interface OpenVaultOptions {
  storage: KmsKeyStorage;
  passphrase: Passphrase;
  /** scrypt parameters used only when the storage is new; an existing storage keeps its own. */
  scrypt?: Partial<ScryptParams>;
}

function scrypt(passphrase: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const maxmem = 128 * params.N * params.r * params.p + 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase, salt, KEK_BYTES, { ...params, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function passphraseBytes(passphrase: Passphrase): Buffer {
  const bytes =
    typeof passphrase === 'string'
      ? Buffer.from(passphrase.normalize('NFKC'), 'utf8')
      : Buffer.from(passphrase);
  if (bytes.length === 0) throw new TypeError('the KMS passphrase must not be empty');
  return bytes;
}

function validateScryptParams(params: ScryptParams): ScryptParams {
  const { N, r, p } = params;
  const powerOfTwo = Number.isInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  if (
    !powerOfTwo ||
    N > 2 ** 22 ||
    !Number.isInteger(r) ||
    r < 1 ||
    r > 32 ||
    !Number.isInteger(p) ||
    p < 1 ||
    p > 16
  ) {
    throw new KeyStorageCorruptError(`unsupported scrypt parameters N=${N} r=${r} p=${p}`);
  }
  return { N, r, p };
}

function seal(kek: Buffer, plaintext: Uint8Array, aad: string): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([Buffer.of(BLOB_VERSION), nonce, body, cipher.getAuthTag()]));
}

/** Returns the plaintext, or undefined when the blob does not authenticate under `kek`. */
function open(kek: Buffer, blob: Uint8Array, aad: string): Buffer | undefined {
  if (blob.length < 1 + NONCE_BYTES + TAG_BYTES || blob[0] !== BLOB_VERSION) {
    throw new KeyStorageCorruptError('sealed entry has an unknown format');
  }
  const nonce = blob.subarray(1, 1 + NONCE_BYTES);
  const body = blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}

function parseMeta(bytes: Uint8Array): VaultMeta {
  let meta: unknown;
  try {
    meta = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new KeyStorageCorruptError('key storage metadata is not JSON', { cause });
  }
  const m = meta as Partial<VaultMeta> | null;
  if (
    !m ||
    m.format !== FORMAT ||
    m.version !== VERSION ||
    m.kdf?.name !== 'scrypt' ||
    typeof m.kdf.salt !== 'string' ||
    typeof m.check !== 'string'
  ) {
    throw new KeyStorageCorruptError('key storage metadata has an unknown format or version');
  }
  return m as VaultMeta;
}

/**
 * Passphrase-protected storage of private JWKs. Open it with `KeyVault.open`; a new storage is
 * initialised (salt, KDF parameters, check value), an existing one is verified against the
 * passphrase.
 */
export class KeyVault {
  private constructor(
    private readonly storage: KmsKeyStorage,
    private readonly kek: Buffer,
  ) {}

  static async open(options: OpenVaultOptions): Promise<KeyVault> {
    const secret = passphraseBytes(options.passphrase);
    const existing = await options.storage.get(META_ID);
    if (existing) {
      const meta = parseMeta(existing);
      const params = validateScryptParams(meta.kdf);
      const salt = Buffer.from(meta.kdf.salt, 'base64url');
      if (salt.length < SALT_BYTES) throw new KeyStorageCorruptError('key storage salt is too short');
      const kek = await scrypt(secret, salt, params);
      const check = open(kek, Buffer.from(meta.check, 'base64url'), CHECK_AAD);
      if (!check || !check.equals(CHECK_PLAINTEXT)) throw new WrongPassphraseError();
      return new KeyVault(options.storage, kek);
    }
    const params = validateScryptParams({ ...DEFAULT_SCRYPT_PARAMS, ...options.scrypt });
    const salt = randomBytes(SALT_BYTES);
    const kek = await scrypt(secret, salt, params);
    const meta: VaultMeta = {
      format: FORMAT,
      version: VERSION,
      kdf: { name: 'scrypt', ...params, salt: salt.toString('base64url') },
      check: Buffer.from(seal(kek, CHECK_PLAINTEXT, CHECK_AAD)).toString('base64url'),
    };
    await options.storage.put(META_ID, new Uint8Array(Buffer.from(JSON.stringify(meta), 'utf8')));
    return new KeyVault(options.storage, kek);
  }

  /** Reads and decrypts the JSON value stored for `keyId`, or undefined if there is none. */
  async get<T>(keyId: string): Promise<T | undefined> {
    const blob = await this.storage.get(KEY_PREFIX + keyId);
    if (!blob) return undefined;
    const plaintext = open(this.kek, blob, KEY_AAD + keyId);
    if (!plaintext) throw new KeyStorageCorruptError(`stored key '${keyId}' does not authenticate`);
    try {
      return JSON.parse(plaintext.toString('utf8')) as T;
    } finally {
      plaintext.fill(0);
    }
  }

  async has(keyId: string): Promise<boolean> {
    return (await this.storage.get(KEY_PREFIX + keyId)) !== undefined;
  }

  /** Encrypts `value` (JSON) and stores it for `keyId`. */
  async put(keyId: string, value: unknown): Promise<void> {
    const plaintext = Buffer.from(JSON.stringify(value), 'utf8');
    try {
      await this.storage.put(KEY_PREFIX + keyId, seal(this.kek, plaintext, KEY_AAD + keyId));
    } finally {
      plaintext.fill(0);
    }
  }

  async delete(keyId: string): Promise<boolean> {
    return this.storage.delete(KEY_PREFIX + keyId);
  }
}
