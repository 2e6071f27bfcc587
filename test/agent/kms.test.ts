import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type AgentContext, Kms } from '@credo-ts/core';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { u32 } from '@noble/ciphers/utils.js';
import { ed25519, x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import {
  InMemoryKmsKeyStorage,
  JsonFileKmsKeyStorage,
  type KmsKeyStorage,
  PerunKeyManagementService,
  WrongPassphraseError,
  createPerunKmsModule,
} from '../../src/agent/kms/index.js';
import {
  boxBeforeNm,
  boxSeal,
  boxSealOpen,
  secretboxOpen,
  x25519PrivateKeyObject,
} from '../../src/agent/kms/nacl.js';

// The KMS ignores the agent context (one key store per agent); tests pass a dummy.
const ctx = {} as AgentContext;
// Small scrypt cost for tests; the production default is N = 2^17.
const FAST_SCRYPT = { N: 2 ** 12, r: 8, p: 1 };

const hex = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'hex'));
const toHex = (value: Uint8Array): string => Buffer.from(value).toString('hex');
const utf8 = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'utf8'));
const b64u = (value: Uint8Array): string => Buffer.from(value).toString('base64url');
const fromB64u = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'base64url'));
const flip = (data: Uint8Array, index: number, mask: number): void => {
  data[index] = (data[index] ?? 0) ^ mask;
};

function openKms(
  storage: KmsKeyStorage = new InMemoryKmsKeyStorage(),
  passphrase = 'correct horse battery staple',
) {
  return PerunKeyManagementService.open({ storage, passphrase, scrypt: FAST_SCRYPT });
}

async function x25519Key(kms: PerunKeyManagementService) {
  const { keyId, publicJwk } = await kms.createKey(ctx, { type: { kty: 'OKP', crv: 'X25519' } });
  return { keyId, publicJwk: publicJwk as Kms.KmsJwkPublicOkp & { crv: 'X25519' } };
}

/** libsodium crypto_box composed independently from @noble only (no Node crypto, no KMS code). */
function nobleBoxKey(publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const shared = nobleX25519.getSharedSecret(secretKey, publicKey);
  const sigma = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  const out = new Uint32Array(8);
  hsalsa(sigma, u32(shared.slice()), new Uint32Array(4), out);
  return new Uint8Array(out.buffer);
}

// "Cryptography in NaCl" (Bernstein), section 10: Alice's and Bob's keys, the box nonce, the
// 131-byte message and its box (the 16-byte authenticator followed by the ciphertext).
const NACL = {
  aliceSk: hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
  alicePk: hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
  bobSk: hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'),
  bobPk: hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
  firstKey: '1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389',
  nonce: hex('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37'),
  message: hex(
    'be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561' +
      'f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c6090' +
      '2e52f0a089bc76897040e082f937763848645e0705',
  ),
  box:
    'f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce8' +
    '7b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0' +
    'e9da99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74e355a5',
};

describe('libsodium box primitives (nacl.ts)', () => {
  it('reproduces the NaCl crypto_box test vector (beforenm key and box) and opens it from the other side', () => {
    const alicesKey = boxBeforeNm(NACL.bobPk, x25519PrivateKeyObject(NACL.aliceSk));
    expect(toHex(alicesKey)).toBe(NACL.firstKey);
    expect(toHex(xsalsa20poly1305(alicesKey, NACL.nonce).encrypt(NACL.message))).toBe(NACL.box);

    const bobsKey = boxBeforeNm(NACL.alicePk, x25519PrivateKeyObject(NACL.bobSk));
    expect(toHex(bobsKey)).toBe(NACL.firstKey);
    expect(secretboxOpen(bobsKey, NACL.nonce, hex(NACL.box))).toEqual(NACL.message);
  });

  it('seals boxes the way an independent @noble composition of crypto_box_seal opens them, and back', () => {
    const recipientSk = nobleX25519.utils.randomSecretKey();
    const recipientPk = nobleX25519.getPublicKey(recipientSk);
    const message = utf8('sealed for the recipient only');

    // Ours sealed, noble-composed opened.
    const sealed = boxSeal(message, recipientPk);
    expect(sealed.length).toBe(32 + 16 + message.length);
    const epk = sealed.subarray(0, 32);
    const nonce = blake2b(new Uint8Array([...epk, ...recipientPk]), { dkLen: 24 });
    expect(xsalsa20poly1305(nobleBoxKey(epk, recipientSk), nonce).decrypt(sealed.subarray(32))).toEqual(
      message,
    );

    // Noble-composed sealed, ours opened.
    const ephemeralSk = nobleX25519.utils.randomSecretKey();
    const ephemeralPk = nobleX25519.getPublicKey(ephemeralSk);
    const nonce2 = blake2b(new Uint8Array([...ephemeralPk, ...recipientPk]), { dkLen: 24 });
    const boxed = xsalsa20poly1305(nobleBoxKey(recipientPk, ephemeralSk), nonce2).encrypt(message);
    const theirs = new Uint8Array([...ephemeralPk, ...boxed]);
    expect(boxSealOpen(theirs, x25519PrivateKeyObject(recipientSk), recipientPk)).toEqual(message);

    flip(theirs, 40, 1);
    expect(boxSealOpen(theirs, x25519PrivateKeyObject(recipientSk), recipientPk)).toBeUndefined();
  });

  it('refuses a small-order public key (all-zero shared secret), as libsodium does', () => {
    expect(() => boxBeforeNm(new Uint8Array(32), x25519PrivateKeyObject(NACL.aliceSk))).toThrow();
  });
});

describe('PerunKeyManagementService: Ed25519 signatures', () => {
  it('signs and verifies; a mutated message or signature fails; noble agrees', async () => {
    const kms = await openKms();
    const { keyId, publicJwk } = await kms.createKey(ctx, { type: { kty: 'OKP', crv: 'Ed25519' } });
    expect(publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: keyId });
    expect(publicJwk).not.toHaveProperty('d');

    const data = utf8('channel state v7');
    const { signature } = await kms.sign(ctx, { keyId, algorithm: 'EdDSA', data });
    expect(signature.length).toBe(64);
    expect(ed25519.verify(signature, data, fromB64u(publicJwk.x))).toBe(true);

    await expect(
      kms.verify(ctx, { key: { keyId }, algorithm: 'EdDSA', data, signature }),
    ).resolves.toMatchObject({
      verified: true,
      publicJwk: { x: publicJwk.x },
    });
    const byJwk = await kms.verify(ctx, { key: { publicJwk }, algorithm: 'Ed25519', data, signature });
    expect(byJwk.verified).toBe(true);

    const mutated = data.slice();
    flip(mutated, 0, 0x01);
    const bad = await kms.verify(ctx, { key: { publicJwk }, algorithm: 'EdDSA', data: mutated, signature });
    expect(bad).toEqual({ verified: false });
    const badSig = signature.slice();
    flip(badSig, 10, 0x80);
    expect(
      (await kms.verify(ctx, { key: { keyId }, algorithm: 'EdDSA', data, signature: badSig })).verified,
    ).toBe(false);
  });

  it('reproduces RFC 8032 test vector 1 with an imported key', async () => {
    const kms = await openKms();
    const d = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const x = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const { keyId } = await kms.importKey(ctx, {
      privateJwk: { kty: 'OKP', crv: 'Ed25519', d: b64u(d), x: b64u(x), kid: 'rfc8032-1' },
    });
    expect(keyId).toBe('rfc8032-1');
    const { signature } = await kms.sign(ctx, { keyId, algorithm: 'EdDSA', data: new Uint8Array(0) });
    expect(toHex(signature)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b' +
        'd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('signs with the other JOSE algorithms Credo may ask for (ES256, ES256K, HS256)', async () => {
    const kms = await openKms();
    const data = utf8('jws signing input');
    for (const [type, algorithm] of [
      [{ kty: 'EC', crv: 'P-256' }, 'ES256'],
      [{ kty: 'EC', crv: 'secp256k1' }, 'ES256K'],
      [{ kty: 'oct', algorithm: 'hmac', length: 256 }, 'HS256'],
    ] as const) {
      const { keyId, publicJwk } = await kms.createKey(ctx, { type });
      const { signature } = await kms.sign(ctx, { keyId, algorithm, data });
      if (algorithm !== 'HS256') {
        expect(signature.length).toBe(64);
        const ok = await kms.verify(ctx, {
          key: { publicJwk: publicJwk as Kms.KmsJwkPublicEc },
          algorithm,
          data,
          signature,
        });
        expect(ok.verified).toBe(true);
      }
      expect((await kms.verify(ctx, { key: { keyId }, algorithm, data, signature })).verified).toBe(true);
      expect(
        (await kms.verify(ctx, { key: { keyId }, algorithm, data: utf8('other'), signature })).verified,
      ).toBe(false);
    }
  });
});

describe('PerunKeyManagementService: ECDH-HSALSA20 / XSALSA20-POLY1305 between two KMS instances', () => {
  it('Alice boxes to Bob (crypto_box), Bob opens; tampering and a wrong sender are refused', async () => {
    const alice = await openKms();
    const bob = await openKms();
    const aliceKey = await x25519Key(alice);
    const bobKey = await x25519Key(bob);
    const data = utf8('content encryption key: 32 bytes');

    const { encrypted, iv } = await alice.encrypt(ctx, {
      key: {
        keyAgreement: {
          algorithm: 'ECDH-HSALSA20',
          keyId: aliceKey.keyId,
          externalPublicJwk: bobKey.publicJwk,
        },
      },
      encryption: { algorithm: 'XSALSA20-POLY1305' },
      data,
    });
    expect(iv?.length).toBe(24);
    expect(encrypted.length).toBe(data.length + 16);

    const decrypt = (ciphertext: Uint8Array, sender = aliceKey.publicJwk) =>
      bob.decrypt(ctx, {
        key: { keyAgreement: { algorithm: 'ECDH-HSALSA20', keyId: bobKey.keyId, externalPublicJwk: sender } },
        decryption: { algorithm: 'XSALSA20-POLY1305', iv },
        encrypted: ciphertext,
      });
    expect((await decrypt(encrypted)).data).toEqual(data);

    // Independent check: the same box from the noble-only composition of crypto_box.
    const bobSk = fromB64u(
      (
        await (bob as unknown as { loadKey(id: string): Promise<{ privateJwk: { d: string } }> }).loadKey(
          bobKey.keyId,
        )
      ).privateJwk.d,
    );
    const nobleKey = nobleBoxKey(fromB64u(aliceKey.publicJwk.x), bobSk);
    expect(xsalsa20poly1305(nobleKey, iv as Uint8Array).decrypt(encrypted)).toEqual(data);

    const tampered = encrypted.slice();
    flip(tampered, tampered.length - 1, 0x01);
    await expect(decrypt(tampered)).rejects.toThrow(Kms.KeyManagementError);
    const mallory = await x25519Key(await openKms());
    await expect(decrypt(encrypted, mallory.publicJwk)).rejects.toThrow(/does not authenticate/);
  });

  it('seals to Bob anonymously (crypto_box_seal); Bob opens; tampering is refused', async () => {
    const alice = await openKms();
    const bob = await openKms();
    const bobKey = await x25519Key(bob);
    const data = utf8('anoncrypt');
    const sealed = await alice.encrypt(ctx, {
      key: { keyAgreement: { algorithm: 'ECDH-HSALSA20', externalPublicJwk: bobKey.publicJwk } },
      encryption: { algorithm: 'XSALSA20-POLY1305' },
      data,
    });
    expect(sealed.iv).toBeUndefined();
    expect(sealed.encrypted.length).toBe(48 + data.length);
    const open = (encrypted: Uint8Array) =>
      bob.decrypt(ctx, {
        key: { keyAgreement: { algorithm: 'ECDH-HSALSA20', keyId: bobKey.keyId } },
        decryption: { algorithm: 'XSALSA20-POLY1305' },
        encrypted,
      });
    expect((await open(sealed.encrypted)).data).toEqual(data);
    const tampered = sealed.encrypted.slice();
    flip(tampered, 50, 0x01);
    await expect(open(tampered)).rejects.toThrow(/does not authenticate/);
  });

  it('uses an Ed25519 key for the box through its X25519 (Montgomery) form, as DIDComm v1 does', async () => {
    const alice = await openKms();
    const bob = await openKms();
    const aliceEd = await alice.createKey(ctx, { type: { kty: 'OKP', crv: 'Ed25519' } });
    const bobEd = await bob.createKey(ctx, { type: { kty: 'OKP', crv: 'Ed25519' } });
    const toX = (jwk: { x: string }) =>
      ({ kty: 'OKP', crv: 'X25519', x: b64u(ed25519.utils.toMontgomery(fromB64u(jwk.x))) }) as const;
    const data = utf8('authcrypt cek');
    const { encrypted, iv } = await alice.encrypt(ctx, {
      key: {
        keyAgreement: {
          algorithm: 'ECDH-HSALSA20',
          keyId: aliceEd.keyId,
          externalPublicJwk: toX(bobEd.publicJwk),
        },
      },
      encryption: { algorithm: 'XSALSA20-POLY1305' },
      data,
    });
    const { data: opened } = await bob.decrypt(ctx, {
      key: {
        keyAgreement: {
          algorithm: 'ECDH-HSALSA20',
          keyId: bobEd.keyId,
          externalPublicJwk: toX(aliceEd.publicJwk),
        },
      },
      decryption: { algorithm: 'XSALSA20-POLY1305', iv },
      encrypted,
    });
    expect(opened).toEqual(data);
  });
});

describe('PerunKeyManagementService: content encryption', () => {
  it.each(['C20P', 'XC20P', 'A256GCM'] as const)(
    '%s round trip with AAD; tampering refused',
    async (algorithm) => {
      const kms = await openKms();
      const k = b64u(kms.randomBytes(ctx, { length: 32 }));
      const privateJwk = { kty: 'oct', k } as const;
      const aad = utf8('protected header');
      const data = utf8('{"@type":"https://didcomm.org/perun/1.0/update"}');
      const { encrypted, iv, tag } = await kms.encrypt(ctx, {
        key: { privateJwk },
        encryption: { algorithm, aad },
        data,
      });
      expect(iv?.length).toBe(algorithm === 'XC20P' ? 24 : 12);
      expect(tag?.length).toBe(16);
      const decrypt = (ciphertext: Uint8Array, withAad: Uint8Array) =>
        kms.decrypt(ctx, {
          key: { privateJwk },
          decryption: { algorithm, iv: iv as Uint8Array, tag: tag as Uint8Array, aad: withAad },
          encrypted: ciphertext,
        });
      expect((await decrypt(encrypted, aad)).data).toEqual(data);
      await expect(decrypt(encrypted, utf8('other header'))).rejects.toThrow(Kms.KeyManagementError);
      const tampered = encrypted.slice();
      flip(tampered, 0, 0x01);
      await expect(decrypt(tampered, aad)).rejects.toThrow(/does not authenticate/);
    },
  );
});

describe('PerunKeyManagementService: key lifecycle and capabilities', () => {
  it('creates, finds, refuses duplicates, deletes; unknown keys are KeyManagementKeyNotFoundError', async () => {
    const kms = await openKms();
    const { keyId } = await kms.createKey(ctx, { keyId: 'k1', type: { kty: 'OKP', crv: 'Ed25519' } });
    expect(keyId).toBe('k1');
    await expect(kms.createKey(ctx, { keyId: 'k1', type: { kty: 'OKP', crv: 'Ed25519' } })).rejects.toThrow(
      Kms.KeyManagementKeyExistsError,
    );
    expect(await kms.getPublicKey(ctx, 'k1')).toMatchObject({ kid: 'k1', crv: 'Ed25519' });
    expect(await kms.deleteKey(ctx, { keyId: 'k1' })).toBe(true);
    expect(await kms.deleteKey(ctx, { keyId: 'k1' })).toBe(false);
    expect(await kms.getPublicKey(ctx, 'k1')).toBeNull();
    await expect(kms.sign(ctx, { keyId: 'k1', algorithm: 'EdDSA', data: utf8('x') })).rejects.toThrow(
      Kms.KeyManagementKeyNotFoundError,
    );
  });

  it('refuses an imported key whose public part does not match its private part', async () => {
    const kms = await openKms();
    const a = ed25519.keygen();
    const b = ed25519.keygen();
    await expect(
      kms.importKey(ctx, {
        privateJwk: { kty: 'OKP', crv: 'Ed25519', d: b64u(a.secretKey), x: b64u(b.publicKey) },
      }),
    ).rejects.toThrow(/does not match/);
  });

  it('reports what it supports, including exactly the operations of the DIDComm v1 envelope', () => {
    return openKms().then((kms) => {
      const supported = (operation: Kms.KmsOperation) => kms.isOperationSupported(ctx, operation);
      const x = b64u(new Uint8Array(32));
      expect(supported({ operation: 'createKey', type: { kty: 'OKP', crv: 'Ed25519' } })).toBe(true);
      expect(supported({ operation: 'createKey', type: { kty: 'OKP', crv: 'X25519' } })).toBe(true);
      expect(supported({ operation: 'sign', algorithm: 'EdDSA' })).toBe(true);
      expect(supported({ operation: 'verify', algorithm: 'Ed25519' })).toBe(true);
      expect(supported({ operation: 'randomBytes' })).toBe(true);
      expect(
        supported({
          operation: 'encrypt',
          encryption: { algorithm: 'XSALSA20-POLY1305' },
          keyAgreement: { algorithm: 'ECDH-HSALSA20', externalPublicJwk: { kty: 'OKP', crv: 'X25519', x } },
        }),
      ).toBe(true);
      expect(
        supported({
          operation: 'decrypt',
          decryption: { algorithm: 'XSALSA20-POLY1305' },
          keyAgreement: { algorithm: 'ECDH-HSALSA20', keyId: 'k' },
        }),
      ).toBe(true);
      expect(supported({ operation: 'encrypt', encryption: { algorithm: 'C20P' } })).toBe(true);
      expect(
        supported({
          operation: 'encrypt',
          encryption: { algorithm: 'A256GCM' },
          keyAgreement: {
            algorithm: 'ECDH-ES',
            keyId: 'k',
            externalPublicJwk: { kty: 'OKP', crv: 'X25519', x },
          },
        }),
      ).toBe(false);
      expect(
        supported({ operation: 'encrypt', encryption: { algorithm: 'A128CBC', iv: new Uint8Array(16) } }),
      ).toBe(false);
    });
  });
});

describe('PerunKeyManagementService: keys at rest', () => {
  it('stores no raw private key; reopens with the passphrase and signs identically; refuses another passphrase', async () => {
    const storage = new InMemoryKmsKeyStorage();
    const first = await openKms(storage, 'passphrase one');
    const { keyId } = await first.createKey(ctx, { type: { kty: 'OKP', crv: 'Ed25519' } });
    const x = await first.createKey(ctx, { type: { kty: 'OKP', crv: 'X25519' } });
    const data = utf8('restart me');
    const { signature } = await first.sign(ctx, { keyId, algorithm: 'EdDSA', data });

    const d = (
      await (first as unknown as { loadKey(id: string): Promise<{ privateJwk: { d: string } }> }).loadKey(
        keyId,
      )
    ).privateJwk.d;
    const raw = Buffer.from(d, 'base64url');
    for (const [, value] of storage.snapshot()) {
      const stored = Buffer.from(value);
      expect(stored.includes(raw)).toBe(false);
      expect(stored.includes(Buffer.from(d))).toBe(false);
      expect(stored.toString('utf8')).not.toContain(d);
    }

    const second = await openKms(storage, 'passphrase one');
    expect(await second.getPublicKey(ctx, keyId)).toEqual(await first.getPublicKey(ctx, keyId));
    expect((await second.sign(ctx, { keyId, algorithm: 'EdDSA', data })).signature).toEqual(signature);
    expect(await second.getPublicKey(ctx, x.keyId)).toMatchObject({ x: x.publicJwk.x });

    await expect(openKms(storage, 'passphrase two')).rejects.toThrow(WrongPassphraseError);
    await expect(openKms(storage, 'passphrase two')).rejects.toThrow(/wrong passphrase/);
  });

  it('persists to a JSON file, ciphertext only, and reopens from it (default scrypt cost)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'perun-kms-'));
    try {
      const file = path.join(dir, 'keys.json');
      const { kms, module } = await createPerunKmsModule({
        storage: new JsonFileKmsKeyStorage(file),
        passphrase: 'file passphrase',
      });
      expect(module).toBeInstanceOf(Kms.KeyManagementModule);
      expect(module.config.backends).toEqual([kms]);
      expect(module.config.defaultBackend).toBe(kms);
      const { keyId, publicJwk } = await kms.createKey(ctx, { type: { kty: 'OKP', crv: 'Ed25519' } });
      const text = await readFile(file, 'utf8');
      const meta = JSON.parse(Buffer.from(JSON.parse(text).meta, 'base64').toString('utf8'));
      expect(meta.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });

      const reopened = await PerunKeyManagementService.open({
        storage: new JsonFileKmsKeyStorage(file),
        passphrase: 'file passphrase',
      });
      expect(await reopened.getPublicKey(ctx, keyId)).toEqual(publicJwk);
      await expect(
        PerunKeyManagementService.open({ storage: new JsonFileKmsKeyStorage(file), passphrase: 'nope' }),
      ).rejects.toBeInstanceOf(WrongPassphraseError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
