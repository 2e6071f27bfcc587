// The native and noble secp256k1 engines are interchangeable: for random keys and digests they
// make the same signatures, and their verifiers (cold, by recovery, and warm, against a known key)
// give the same verdicts on valid, mutated, malleable (high-s) and malformed signatures.
import fc from 'fast-check';
import { hexlify } from 'ethers';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { EthereumSigner, SignatureVerifier } from '../../src/channels/ethereum/signer.js';
import {
  chooseEngine,
  nativeEngine,
  nobleEngine,
  type Secp256k1Engine,
} from '../../src/channels/ethereum/secp256k1-engine.js';

const native = nativeEngine();
const noble = nobleEngine();
const N = secp256k1.Point.CURVE().n;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

const word = (x: bigint) => x.toString(16).padStart(64, '0');
const withR = (sig: string, r: bigint) => '0x' + word(r) + sig.slice(66);
const withS = (sig: string, s: bigint) => sig.slice(0, 66) + word(s) + sig.slice(130);
const flipV = (sig: string) => sig.slice(0, 130) + (sig.endsWith('1b') ? '1c' : '1b');
const highS = (sig: string) => flipV(withS(sig, N - BigInt('0x' + sig.slice(66, 130))));
const flipBit = (sig: string, bit: number) => {
  const raw = Buffer.from(sig.slice(2), 'hex');
  raw[bit >> 3] = raw[bit >> 3]! ^ (1 << (bit & 7));
  return '0x' + raw.toString('hex');
};

/** What recoverSigner says: the address, or the error's message. */
function recovered(v: SignatureVerifier, h: Uint8Array, sig: string): string {
  try {
    return v.recoverSigner(h, sig);
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

function secretKey(k: Uint8Array): Uint8Array | undefined {
  const x = BigInt(hexlify(k));
  return x > 0n && x < N ? k : undefined;
}

describe('the native and noble engines', () => {
  it('make the same public keys and the same signatures', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (k, h) => {
        const key = secretKey(k);
        if (key === undefined) {
          expect(() => native.publicKey(k)).toThrow();
          expect(() => noble.publicKey(k)).toThrow();
          return;
        }
        expect(hexlify(native.publicKey(key))).toBe(hexlify(noble.publicKey(key)));
        expect(hexlify(native.sign(h, key))).toBe(hexlify(noble.sign(h, key)));
        const a = new EthereumSigner(hexlify(key), native);
        const b = new EthereumSigner(hexlify(key), noble);
        expect(a.address).toBe(b.address);
        expect(a.signHash(h)).toBe(b.signHash(h));
      }),
      { numRuns: 200 },
    );
  });

  it('refuse the same secret keys', () => {
    for (const bad of ['0x', '0x' + '00'.repeat(32), '0x' + word(N), '0x' + 'ff'.repeat(32), '0x01']) {
      expect(() => new EthereumSigner(bad, native)).toThrow('invalid private key');
      expect(() => new EthereumSigner(bad, noble)).toThrow('invalid private key');
    }
  });

  it('recover the same key from any r ‖ s ‖ recovery bit, and check a known key the same way', () => {
    const outcome = (engine: Secp256k1Engine, h: Uint8Array, sig: Uint8Array) => {
      try {
        return hexlify(engine.recover(h, sig));
      } catch {
        return 'none';
      }
    };
    const known = [1n, 2n, N - 1n, 0xc0ffeen].map((x) => {
      const key = Uint8Array.from(Buffer.from(word(x), 'hex'));
      const pub = native.publicKey(key);
      return { key, pub: hexlify(pub), checks: [native.keyCheck(pub), noble.keyCheck(pub)] };
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...known),
        bytes32,
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.integer({ min: 0, max: 1 }),
        ({ key, pub, checks }, h, rs, bit) => {
          const signed = native.sign(h, key);
          const twin = Uint8Array.from(
            Buffer.from(highS(hexlify(signed).slice(0, 130) + '1b').slice(2), 'hex'),
          );
          twin[64] = signed[64]! ^ 1;
          for (const sig of [new Uint8Array([...rs, bit]), signed, twin]) {
            const got = outcome(native, h, sig);
            expect(outcome(noble, h, sig)).toBe(got);
            for (const check of checks) expect(check(h, sig)).toBe(got === pub);
          }
          expect(outcome(noble, h, twin)).toBe(pub);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('verify alike: valid, mutated, malleable and malformed signatures, cold and against a known key', () => {
    const verifiers = [new SignatureVerifier(native), new SignatureVerifier(noble)];
    fc.assert(
      fc.property(bytes32, bytes32, fc.nat(519), bytes32, (k, h, bit, other) => {
        const key = secretKey(k);
        if (key === undefined) return;
        const signer = new EthereumSigner(hexlify(key), native);
        const stranger = EthereumSigner.random(noble);
        const sig = signer.signHash(h);
        const forgeries = [
          flipV(sig),
          highS(sig),
          flipBit(sig, bit),
          withR(sig, 0n),
          withR(sig, N),
          withR(sig, BigInt(hexlify(other))),
          withS(sig, 0n),
          withS(sig, N >> 1n),
          withS(sig, (N >> 1n) + 1n),
          stranger.signHash(h),
          sig.slice(0, 130) + '00',
          sig + '00',
        ];
        // The signer's key is new to both verifiers until `sig`, and known to them after it.
        const verdicts = (candidate: string) =>
          verifiers.map((v) => v.verifySignature(h, candidate, signer.address));
        for (const candidate of [...forgeries, sig]) {
          const [byNative, byNoble] = verdicts(candidate);
          expect(byNative).toBe(byNoble);
          const [recNative, recNoble] = verifiers.map((v) => recovered(v, h, candidate));
          expect(recNative).toBe(recNoble);
        }
        for (const candidate of forgeries) {
          const [byNative, byNoble] = verdicts(candidate);
          expect(byNative).toBe(byNoble);
        }
        for (const v of verifiers) {
          expect(v.verifySignature(h, sig, signer.address)).toBe(true);
          expect(v.verifySignature(h, highS(sig), signer.address)).toBe(false);
          expect(v.verifySignature(h, flipV(sig), signer.address)).toBe(false);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('choosing the engine (PERUN_SECP256K1)', () => {
  const broken = (): Secp256k1Engine => {
    throw new Error('no binding');
  };

  it('takes native when its binding loads, noble when it does not or when asked', () => {
    expect(chooseEngine(undefined).name).toBe('native');
    expect(chooseEngine('').name).toBe('native');
    expect(chooseEngine('native').name).toBe('native');
    expect(chooseEngine('noble').name).toBe('noble');
    expect(chooseEngine(undefined, broken).name).toBe('noble');
    expect(chooseEngine('noble', broken).name).toBe('noble');
  });

  it('refuses an unknown setting, and native without its binding', () => {
    expect(() => chooseEngine('elliptic')).toThrow(/PERUN_SECP256K1 is "native" or "noble"/);
    expect(() => chooseEngine('native', broken)).toThrow('no binding');
  });
});
