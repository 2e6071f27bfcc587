/**
 * Signatures of the Perun KMS: EdDSA, ES*, RS* / PS* on Node's crypto and HS* as HMAC, by a key of
 * the key ring or (to verify) a given public JWK.
 */
import {
  createHmac,
  createPublicKey,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  constants as cryptoConstants,
  type KeyObject,
} from 'node:crypto';
import { Kms } from '@credo-ts/core';
import type { KeyRing } from './key-ring.js';
import { bytes, fromB64u, nodeJwk, notSupported, type PublicJwk, toError } from './key-types.js';

type SignatureAlgorithm = Kms.KnownJwaSignatureAlgorithm;

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

export async function sign(ring: KeyRing, options: Kms.KmsSignOptions): Promise<Kms.KmsSignReturn> {
  const key = await ring.require(options.keyId);
  Kms.assertKeyAllowsSign(key.privateJwk);
  Kms.assertAllowedSigningAlgForKey(key.privateJwk, options.algorithm);
  const data = options.data;
  if (key.privateJwk.kty === 'oct') {
    return { signature: bytes(hmac(options.algorithm, fromB64u(key.privateJwk.k), data, ring.backend)) };
  }
  const nodeKey = key.nodeKey as KeyObject;
  const signature = nodeSign(
    hashOf(options.algorithm, ring.backend),
    data,
    signingOptions(options.algorithm, nodeKey),
  );
  return { signature: bytes(signature) };
}

export async function verify(ring: KeyRing, options: Kms.KmsVerifyOptions): Promise<Kms.KmsVerifyReturn> {
  let publicJwk: PublicJwk;
  let symmetricKey: Uint8Array | undefined;
  let nodeKey: KeyObject | undefined;
  if (options.key.keyId !== undefined) {
    const key = await ring.require(options.key.keyId);
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
    const expected = hmac(options.algorithm, symmetricKey, options.data, ring.backend);
    verified = expected.length === options.signature.length && timingSafeEqual(expected, options.signature);
  } else {
    try {
      verified = nodeVerify(
        hashOf(options.algorithm, ring.backend),
        options.data,
        signingOptions(options.algorithm, nodeKey as KeyObject),
        options.signature,
      );
    } catch {
      verified = false;
    }
  }
  return verified ? { verified: true, publicJwk: { ...publicJwk } } : { verified: false };
}

function hashOf(algorithm: SignatureAlgorithm, backend: string): string | null {
  if (algorithm === 'EdDSA' || algorithm === 'Ed25519') return null;
  const hash = HASH_OF_ALGORITHM[algorithm];
  if (!hash) throw notSupported(`signature algorithm ${algorithm}`, backend);
  return hash;
}

function signingOptions(
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

function hmac(algorithm: SignatureAlgorithm, key: Uint8Array, data: Uint8Array, backend: string): Buffer {
  const hash = hashOf(algorithm, backend);
  if (!hash || !algorithm.startsWith('HS')) throw notSupported(`signature algorithm ${algorithm}`, backend);
  return createHmac(hash, key).update(data).digest();
}
