// Signatures are EIP-191 over the state hash, agree with ethers' Wallet, and fail on any change,
// on both secp256k1 engines; the module's own functions use the engine the process chose.
import fc from 'fast-check';
import { Wallet, getBytes, hexlify } from 'ethers';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hashStateBytes, type State } from '../../src/channels/ethereum/encoding.js';
import {
  EthereumSigner,
  SignatureVerifier,
  recoverSigner,
  requireStateSignature,
  secp256k1Engine,
  verifySignature,
  verifyStateSignature,
} from '../../src/channels/ethereum/signer.js';
import { SignatureError } from '../../src/channels/errors.js';
import {
  ENGINES,
  HOLDER_A,
  allocation,
  ledgerParams,
  stateMutations,
  stateOf,
  twoAssetState,
} from './fixtures.js';

const ALICE_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const MUTATIONS = stateMutations();

describe.each(ENGINES)('on the %s engine', (_name, engine) => {
  const alice = new EthereumSigner(ALICE_KEY, engine);
  const bob = EthereumSigner.random(engine);
  const params = ledgerParams([alice.address, bob.address]);
  const state: State = twoAssetState(params);
  const sub = state.outcome.locked[0]!;
  const verifier = new SignatureVerifier(engine);

  describe('state signatures', () => {
    it('are the EIP-191 personal signatures ethers makes over the state hash', async () => {
      const wallet = new Wallet(ALICE_KEY);
      expect(alice.address).toBe(wallet.address);
      expect(alice.signState(state)).toBe(await wallet.signMessage(hashStateBytes(state)));
      expect(verifier.recoverSigner(hashStateBytes(state), alice.signState(state))).toBe(alice.address);
    });

    it('verify for the signer and for nobody else', () => {
      const sig = alice.signState(state);
      expect(verifier.verifyStateSignature(state, sig, alice.address)).toBe(true);
      expect(verifier.verifyStateSignature(state, sig, bob.address)).toBe(false);
      expect(() => verifier.requireStateSignature(state, sig, bob.address)).toThrow(SignatureError);
    });

    it.each(MUTATIONS)('fail when the %s changes', (_field, mutate) => {
      const sig = alice.signState(state);
      expect(verifier.verifyStateSignature(mutate(state), sig, alice.address)).toBe(false);
    });

    it('treat an empty index map and the identity alike, as the contracts see them', () => {
      const sig = alice.signState(state);
      const explicit = { ...state, outcome: { ...state.outcome, locked: [{ ...sub, indexMap: [0, 1] }] } };
      expect(verifier.verifyStateSignature(explicit, sig, alice.address)).toBe(true);
    });

    it('refuse a high-s twin of a valid signature', () => {
      const sig = getBytes(alice.signState(state));
      const n = secp256k1.Point.CURVE().n;
      const s = BigInt(hexlify(sig.subarray(32, 64)));
      const twin = new Uint8Array(sig);
      twin.set(getBytes('0x' + (n - s).toString(16).padStart(64, '0')), 32);
      twin[64] = sig[64] === 27 ? 28 : 27;
      expect(verifier.verifyStateSignature(state, hexlify(twin), alice.address)).toBe(false);
      expect(() => verifier.recoverSigner(hashStateBytes(state), hexlify(twin))).toThrow(/s is not low/);
    });

    it('refuse malformed signatures with a typed error', () => {
      const sig = alice.signState(state);
      const h = hashStateBytes(state);
      expect(() => verifier.recoverSigner(h, sig.slice(0, -2))).toThrow(SignatureError);
      expect(() => verifier.recoverSigner(h, sig.slice(0, -2) + '01')).toThrow(/v must be 27 or 28/);
      expect(() => verifier.recoverSigner(h, 'not hex')).toThrow(SignatureError);
      expect(() => verifier.recoverSigner(h, '0x' + '00'.repeat(65))).toThrow(SignatureError);
      expect(verifier.verifyStateSignature(state, '0x', alice.address)).toBe(false);
    });
  });

  describe('verification against a known key', () => {
    const flipV = (sig: string) => sig.slice(0, 130) + (sig.endsWith('1b') ? '1c' : '1b');
    const highS = (sig: string) => {
      const n = secp256k1.Point.CURVE().n;
      const s = n - BigInt('0x' + sig.slice(66, 130));
      return sig.slice(0, 66) + s.toString(16).padStart(64, '0') + (sig.endsWith('1b') ? '1c' : '1b');
    };

    it('accepts exactly what recovery accepts, before and after the key is known', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          (k, h) => {
            let signer: EthereumSigner;
            try {
              signer = new EthereumSigner(hexlify(k));
            } catch {
              return; // not a valid secret key
            }
            const other = new Uint8Array(h);
            other[0] = other[0]! ^ 1;
            const sig = signer.signHash(h);
            for (let round = 0; round < 2; round++) {
              expect(verifier.verifySignature(h, sig, signer.address)).toBe(true);
              expect(verifier.recoverSigner(h, sig)).toBe(signer.address);
              expect(verifier.verifySignature(h, flipV(sig), signer.address)).toBe(false);
              expect(verifier.verifySignature(other, sig, signer.address)).toBe(false);
              expect(verifier.verifySignature(h, highS(sig), signer.address)).toBe(false);
              expect(verifier.verifySignature(h, sig, bob.address)).toBe(false);
              expect(verifier.verifySignature(h, bob.signHash(h), signer.address)).toBe(false);
            }
          },
        ),
        { numRuns: 150 },
      );
    });

    it('refuses malformed signatures without throwing', () => {
      const h = hashStateBytes(state);
      const good = alice.signHash(h);
      expect(verifier.verifySignature(h, good, alice.address)).toBe(true);
      for (const bad of [
        '0x',
        good.slice(0, -2),
        good + '00',
        good.slice(0, 130) + '00',
        good.slice(0, 130) + '01',
        '0x' + '00'.repeat(32) + good.slice(66),
        good.slice(0, 66) + '00'.repeat(32) + good.slice(130),
        'not hex at all',
      ]) {
        expect(verifier.verifySignature(h, bad, alice.address)).toBe(false);
      }
    });
  });
});

describe("the process's engine", () => {
  it('is native here unless PERUN_SECP256K1 says otherwise, and the module functions use it', () => {
    const expected = process.env['PERUN_SECP256K1'] === 'noble' ? 'noble' : 'native';
    expect(secp256k1Engine()).toBe(expected);
    const [, engine] = ENGINES.find(([name]) => name === expected)!;
    const alice = new EthereumSigner(ALICE_KEY);
    const bob = EthereumSigner.random();
    const state = stateOf(
      ledgerParams([alice.address, bob.address]),
      1n,
      allocation(1n, [HOLDER_A], [[1n, 2n]]),
    );
    const sig = alice.signState(state);
    expect(sig).toBe(new EthereumSigner(ALICE_KEY, engine).signState(state));
    expect(recoverSigner(hashStateBytes(state), sig)).toBe(alice.address);
    for (let round = 0; round < 2; round++) {
      expect(verifySignature(hashStateBytes(state), sig, alice.address)).toBe(true);
      expect(verifyStateSignature(state, sig, alice.address)).toBe(true);
      expect(verifyStateSignature(state, sig, bob.address)).toBe(false);
    }
    expect(() => requireStateSignature(state, sig, bob.address)).toThrow(SignatureError);
  });
});
