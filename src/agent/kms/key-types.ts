/**
 * The key types and algorithms the Perun KMS supports, and the JWK side of its keys: generating a
 * private JWK of a type, checking an imported one, and the members Node's JWK import takes.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
  generateKeyPairSync,
  randomFillSync,
  type JsonWebKey,
} from 'node:crypto';
import { promisify } from 'node:util';
import { Kms } from '@credo-ts/core';
import { ed25519PrivateKeyObject, rawPublicKey, x25519PrivateKeyObject } from './nacl.js';

const generateKeyPair = promisify(generateKeyPairCallback);

export type Bytes = Uint8Array<ArrayBuffer>;
export type PrivateJwk = Kms.KmsJwkPrivate;
export type PublicJwk = Kms.KmsJwkPublic;

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
const EC_CURVES: Record<string, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  secp256k1: 'secp256k1',
};

export const bytes = (data: Uint8Array): Bytes => new Uint8Array(data);
export const toError = (cause: unknown): Error | undefined =>
  cause === undefined ? undefined : cause instanceof Error ? cause : new Error(String(cause));
export const fromB64u = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'base64url'));
export const toB64u = (data: Uint8Array): string => Buffer.from(data).toString('base64url');

export function notSupported(what: string, backend: string): Kms.KeyManagementAlgorithmNotSupportedError {
  return new Kms.KeyManagementAlgorithmNotSupportedError(what, backend);
}

/** Only the JWK members that carry key material, for Node's JWK import. */
export function nodeJwk(jwk: PrivateJwk | PublicJwk, includePrivate: boolean): JsonWebKey {
  const source = jwk as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const members = ['kty', 'crv', 'x', 'y', 'n', 'e'];
  if (includePrivate) members.push('d', 'p', 'q', 'dp', 'dq', 'qi');
  for (const member of members) if (source[member] !== undefined) out[member] = source[member];
  return out as JsonWebKey;
}

export function supportsOperation(operation: Kms.KmsOperation): boolean {
  switch (operation.operation) {
    case 'createKey':
      return supportsCreateType(operation.type);
    case 'importKey':
      return supportsJwk(operation.privateJwk);
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

export function supportsCreateType(type: Kms.KmsCreateKeyType): boolean {
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

export function supportsJwk(jwk: PrivateJwk): boolean {
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

export async function generatePrivateJwk(type: Kms.KmsCreateKeyType): Promise<PrivateJwk> {
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
export function assertConsistentPrivateJwk(jwk: PrivateJwk): void {
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
