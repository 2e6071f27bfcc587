// DIDComm v1 authcrypt envelopes (Aries RFC 0019) as the lean path packs and opens them, with
// keys resolved once per connection (./peers.ts): the content is XChaCha20-Poly1305 under a fresh
// content key (`enc: xchacha20poly1305_ietf`), the content key is boxed for each recipient with
// the cached crypto_box key of the two parties, and `sender` is our verkey sealed for the
// recipient once per connection. Opening also takes the 12-byte-nonce ChaCha20-Poly1305 content
// some packers (Credo on our KMS) write under the same name. Every function here is synchronous:
// what needs a private key (a sealed sender never seen before) is the caller's.
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';

/** The JWE of RFC 0019, as it travels. */
export interface Envelope {
  protected: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** What we box a content key with for one recipient. */
export interface RecipientSeal {
  /** The recipient's Ed25519 verkey, base58. */
  kid: string;
  /** crypto_box_beforenm of our key and the recipient's. */
  boxKey: Uint8Array;
  /** Our verkey sealed for the recipient (crypto_box_seal), base64url. */
  sealedSender: string;
}

/** One `recipients` entry of an authcrypt header. */
export interface RecipientEntry {
  kid: string;
  sender: string;
  iv: Uint8Array;
  encryptedKey: Uint8Array;
}

export const AUTHCRYPT = 'Authcrypt';
export const ENC = 'xchacha20poly1305_ietf';
const TAG_BYTES = 16;
const BOX_NONCE_BYTES = 24;
// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** Random bytes from a pool refilled in blocks: one system call per few hundred messages. */
const pool = Buffer.alloc(8192);
let poolAt = pool.length;
function random(n: number): Uint8Array {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = Uint8Array.prototype.slice.call(pool, poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

const b64u = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
const fromB64 = (s: string): Buffer => Buffer.from(s, 'base64url');

/** XChaCha20-Poly1305 as HChaCha20 (subkey) + the IETF ChaCha20-Poly1305 of Node's crypto. */
function xchachaParts(key: Uint8Array, nonce: Uint8Array): { subkey: Buffer; iv: Buffer } {
  const k = new Uint32Array(8);
  Buffer.from(k.buffer).set(key);
  const n = new Uint32Array(4);
  Buffer.from(n.buffer).set(nonce.subarray(0, 16));
  const out = new Uint32Array(8);
  hchacha(SIGMA, k, n, out);
  const iv = Buffer.alloc(12);
  iv.set(nonce.subarray(16, 24), 4);
  return { subkey: Buffer.from(out.buffer), iv };
}

function seal(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Buffer,
  data: Buffer,
): { ciphertext: Buffer; tag: Buffer } {
  const { subkey, iv } = xchachaParts(key, nonce);
  const cipher = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad, { plaintextLength: data.length });
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/** The content of an envelope under `key`; undefined if it does not authenticate. */
function open(
  key: Uint8Array,
  nonce: Buffer,
  aad: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
): Buffer | undefined {
  let subkey: Uint8Array = key;
  let iv: Buffer = nonce;
  if (nonce.length === BOX_NONCE_BYTES) ({ subkey, iv } = xchachaParts(key, nonce));
  else if (nonce.length !== 12) return undefined;
  if (tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad, { plaintextLength: ciphertext.length });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Packs `plaintext` (a DIDComm message's JSON text) for `recipients`, authenticated as us. */
export function packAuthcrypt(plaintext: string, recipients: readonly RecipientSeal[]): Envelope {
  const contentKey = random(32);
  const header = {
    enc: ENC,
    typ: 'JWM/1.0',
    alg: AUTHCRYPT,
    recipients: recipients.map((r) => {
      const nonce = random(BOX_NONCE_BYTES);
      return {
        encrypted_key: b64u(xsalsa20poly1305(r.boxKey, nonce).encrypt(contentKey)),
        header: { kid: r.kid, iv: b64u(nonce), sender: r.sealedSender },
      };
    }),
  };
  const protectedText = Buffer.from(JSON.stringify(header)).toString('base64url');
  const iv = random(BOX_NONCE_BYTES);
  const { ciphertext, tag } = seal(contentKey, iv, Buffer.from(protectedText), Buffer.from(plaintext));
  contentKey.fill(0);
  return {
    protected: protectedText,
    iv: b64u(iv),
    ciphertext: ciphertext.toString('base64url'),
    tag: b64u(tag),
  };
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * The authcrypt recipient entries of an envelope's header, or undefined where the lean path does
 * not take it: another `alg` (anoncrypt) or `enc`, or anything not in the expected shape.
 */
export function authcryptRecipients(envelope: Envelope): RecipientEntry[] | undefined {
  let header: unknown;
  try {
    header = JSON.parse(fromB64(envelope.protected).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  const { alg, enc, recipients } = header as Record<string, unknown>;
  if (alg !== AUTHCRYPT || enc !== ENC || !Array.isArray(recipients)) return undefined;
  const out: RecipientEntry[] = [];
  for (const r of recipients as unknown[]) {
    const entry = r as {
      encrypted_key?: unknown;
      header?: { kid?: unknown; iv?: unknown; sender?: unknown };
    };
    const h = entry?.header;
    if (typeof h !== 'object' || h === null) return undefined;
    if (!isString(entry.encrypted_key) || !isString(h.kid) || !isString(h.iv) || !isString(h.sender))
      return undefined;
    out.push({ kid: h.kid, sender: h.sender, iv: fromB64(h.iv), encryptedKey: fromB64(entry.encrypted_key) });
  }
  return out;
}

/** The plaintext of an envelope whose content key `entry` boxes under `boxKey`; undefined if it does not open. */
export function openAuthcrypt(
  envelope: Envelope,
  entry: RecipientEntry,
  boxKey: Uint8Array,
): Buffer | undefined {
  if (entry.iv.length !== BOX_NONCE_BYTES) return undefined;
  let contentKey: Uint8Array;
  try {
    contentKey = xsalsa20poly1305(boxKey, entry.iv).decrypt(entry.encryptedKey);
  } catch {
    return undefined;
  }
  if (contentKey.length !== 32) return undefined;
  const plaintext = open(
    contentKey,
    fromB64(envelope.iv),
    Buffer.from(envelope.protected),
    fromB64(envelope.ciphertext),
    fromB64(envelope.tag),
  );
  contentKey.fill(0);
  return plaintext;
}
