// The secp256k1 arithmetic under signer.ts, in two engines that give the same results: libsecp256k1
// through the N-API binding of the `secp256k1` package ('native', about 15 times faster at signing
// and 35 times at recovery), and @noble/curves in JavaScript ('noble', the fallback where the
// binding does not load). The engine is chosen once, at first use: native when its binding loads,
// noble otherwise; PERUN_SECP256K1=noble forces the fallback, PERUN_SECP256K1=native refuses it.
// Signatures here are 65 bytes r ‖ s ‖ recovery bit (0 or 1); the Ethereum form (v = 27 + the bit)
// and every rule on what is accepted stay in signer.ts.
import { createRequire } from 'node:module';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexlify } from 'ethers';

export type Secp256k1EngineName = 'native' | 'noble';

/** Whether a signature (r ‖ s ‖ recovery bit) over a digest recovers to one fixed public key. */
export type KeyCheck = (digest: Uint8Array, sig: Uint8Array) => boolean;

export interface Secp256k1Engine {
  readonly name: Secp256k1EngineName;
  /** The uncompressed (65-byte) public key of a 32-byte secret key; throws for an invalid key. */
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** The deterministic (RFC 6979) low-s signature r ‖ s ‖ recovery bit over a 32-byte digest. */
  sign(digest: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** The uncompressed public key that `sig` over `digest` recovers to; throws if there is none. */
  recover(digest: Uint8Array, sig: Uint8Array): Uint8Array;
  /**
   * A check that a signature recovers to `publicKey` (uncompressed), the same verdict as comparing
   * `recover` with it, but prepared once per key and cheaper than a recovery where it can be.
   */
  keyCheck(publicKey: Uint8Array): KeyCheck;
}

function bytesToBigint(b: Uint8Array): bigint {
  return BigInt(hexlify(b));
}

/** @noble/curves. A known key is checked with precomputed multiples instead of a recovery. */
export function nobleEngine(): Secp256k1Engine {
  const { Point } = secp256k1;
  const { Fn } = Point;
  const recovered = (sig: Uint8Array) => {
    const rec = new Uint8Array(65);
    rec[0] = sig[64]!;
    rec.set(sig.subarray(0, 64), 1);
    return rec;
  };
  return {
    name: 'noble',
    publicKey: (secretKey) => secp256k1.getPublicKey(secretKey, false),
    sign(digest, secretKey) {
      const rec = secp256k1.sign(digest, secretKey, { prehash: false, format: 'recovered' });
      const sig = new Uint8Array(65);
      sig.set(rec.subarray(1), 0);
      sig[64] = rec[0]!;
      return sig;
    },
    recover: (digest, sig) =>
      Point.fromBytes(secp256k1.recoverPublicKey(recovered(sig), digest, { prehash: false })).toBytes(false),
    // R' = (e/s)·G + (r/s)·Q: the signature recovers to Q exactly when R'.x = r and R'.y has the
    // parity of the recovery bit, which costs two multiplications with precomputed tables.
    keyCheck(publicKey) {
      const key = Point.fromBytes(publicKey).precompute(8, false);
      return (digest, sig) => {
        const r = bytesToBigint(sig.subarray(0, 32));
        const s = bytesToBigint(sig.subarray(32, 64));
        if (!Fn.isValidNot0(r) || !Fn.isValidNot0(s)) return false;
        const sInv = Fn.inv(s);
        const e = Fn.create(bytesToBigint(digest));
        const R = Point.BASE.multiplyUnsafe(Fn.mul(e, sInv)).add(key.multiplyUnsafe(Fn.mul(r, sInv)));
        if (R.is0()) return false;
        const { x, y } = R.toAffine();
        return x === r && Number(y & 1n) === sig[64];
      };
    },
  };
}

/** The part of the `secp256k1` package's binding API (lib/index.js over the addon) used here. */
interface NativeBinding {
  publicKeyCreate(secretKey: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(digest: Uint8Array, secretKey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, digest: Uint8Array, compressed: boolean): Uint8Array;
}

/**
 * libsecp256k1 through the package's `bindings.js` (its `index.js` would fall back to `elliptic`
 * silently); throws if the binding does not load. A known key is checked by a recovery and a
 * byte comparison: libsecp256k1's verify is a little faster but ignores the recovery bit, which
 * the contracts' ecrecover does not.
 */
export function nativeEngine(): Secp256k1Engine {
  const native = createRequire(import.meta.url)('secp256k1/bindings.js') as NativeBinding;
  const recover = (digest: Uint8Array, sig: Uint8Array) =>
    native.ecdsaRecover(sig.subarray(0, 64), sig[64]!, digest, false);
  return {
    name: 'native',
    publicKey: (secretKey) => native.publicKeyCreate(secretKey, false),
    sign(digest, secretKey) {
      const { signature, recid } = native.ecdsaSign(digest, secretKey);
      const sig = new Uint8Array(65);
      sig.set(signature, 0);
      sig[64] = recid;
      return sig;
    },
    recover,
    keyCheck(publicKey) {
      const key = new Uint8Array(publicKey);
      return (digest, sig) => {
        let got: Uint8Array;
        try {
          got = recover(digest, sig);
        } catch {
          return false;
        }
        return got.length === key.length && got.every((b, i) => b === key[i]);
      };
    },
  };
}

/**
 * The engine PERUN_SECP256K1 (`setting`) asks for: "noble", "native" (an error if the binding
 * does not load), or unset or empty for native with the noble fallback. `loadNative` is for tests.
 */
export function chooseEngine(
  setting: string | undefined,
  loadNative: () => Secp256k1Engine = nativeEngine,
): Secp256k1Engine {
  switch (setting ?? '') {
    case 'noble':
      return nobleEngine();
    case 'native':
      return loadNative();
    case '':
      try {
        return loadNative();
      } catch {
        return nobleEngine();
      }
    default:
      throw new Error(`PERUN_SECP256K1 is "native" or "noble", not "${setting}"`);
  }
}

let active: Secp256k1Engine | undefined;

/** The engine this process signs and verifies with, chosen at the first call. */
export function activeEngine(): Secp256k1Engine {
  active ??= chooseEngine(process.env['PERUN_SECP256K1']);
  return active;
}

/** Which engine this process signs and verifies with. */
export function secp256k1Engine(): Secp256k1EngineName {
  return activeEngine().name;
}
