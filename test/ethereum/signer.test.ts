// Signatures are EIP-191 over the state hash, agree with ethers' Wallet, and fail on any change.
import fc from 'fast-check';
import { Wallet, getBytes, hexlify } from 'ethers';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hashStateBytes, type State } from '../../src/channels/ethereum/encoding.js';
import {
  EthereumSigner,
  recoverSigner,
  requireStateSignature,
  verifySignature,
  verifyStateSignature,
} from '../../src/channels/ethereum/signer.js';
import { SignatureError } from '../../src/channels/errors.js';
import { HOLDER_A, HOLDER_B, allocation, ledgerParams, stateMutations, stateOf } from './fixtures.js';

const alice = new EthereumSigner('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const bob = EthereumSigner.random();
const params = ledgerParams([alice.address, bob.address]);
const sub = { ID: '0x' + '77'.repeat(32), balances: [3n, 4n], indexMap: [] as number[] };
const state: State = stateOf(
  params,
  7n,
  allocation(
    31337n,
    [HOLDER_A, HOLDER_B],
    [
      [10n, 20n],
      [30n, 40n],
    ],
    [sub],
  ),
  {
    appData: '0xc0ffee',
  },
);

const MUTATIONS = stateMutations();

describe('state signatures', () => {
  it('are the EIP-191 personal signatures ethers makes over the state hash', async () => {
    const wallet = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
    expect(alice.address).toBe(wallet.address);
    expect(alice.signState(state)).toBe(await wallet.signMessage(hashStateBytes(state)));
    expect(recoverSigner(hashStateBytes(state), alice.signState(state))).toBe(alice.address);
  });

  it('verify for the signer and for nobody else', () => {
    const sig = alice.signState(state);
    expect(verifyStateSignature(state, sig, alice.address)).toBe(true);
    expect(verifyStateSignature(state, sig, bob.address)).toBe(false);
    expect(() => requireStateSignature(state, sig, bob.address)).toThrow(SignatureError);
  });

  it.each(MUTATIONS)('fail when the %s changes', (_field, mutate) => {
    const sig = alice.signState(state);
    expect(verifyStateSignature(mutate(state), sig, alice.address)).toBe(false);
  });

  it('treat an empty index map and the identity alike, as the contracts see them', () => {
    const sig = alice.signState(state);
    const explicit = { ...state, outcome: { ...state.outcome, locked: [{ ...sub, indexMap: [0, 1] }] } };
    expect(verifyStateSignature(explicit, sig, alice.address)).toBe(true);
  });

  it('refuse a high-s twin of a valid signature', () => {
    const sig = getBytes(alice.signState(state));
    const n = secp256k1.Point.CURVE().n;
    const s = BigInt(hexlify(sig.subarray(32, 64)));
    const twin = new Uint8Array(sig);
    twin.set(getBytes('0x' + (n - s).toString(16).padStart(64, '0')), 32);
    twin[64] = sig[64] === 27 ? 28 : 27;
    expect(verifyStateSignature(state, hexlify(twin), alice.address)).toBe(false);
    expect(() => recoverSigner(hashStateBytes(state), hexlify(twin))).toThrow(/s is not low/);
  });

  it('refuse malformed signatures with a typed error', () => {
    const sig = alice.signState(state);
    const h = hashStateBytes(state);
    expect(() => recoverSigner(h, sig.slice(0, -2))).toThrow(SignatureError);
    expect(() => recoverSigner(h, sig.slice(0, -2) + '01')).toThrow(/v must be 27 or 28/);
    expect(() => recoverSigner(h, 'not hex')).toThrow(SignatureError);
    expect(() => recoverSigner(h, '0x' + '00'.repeat(65))).toThrow(SignatureError);
    expect(verifyStateSignature(state, '0x', alice.address)).toBe(false);
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
            expect(verifySignature(h, sig, signer.address)).toBe(true);
            expect(recoverSigner(h, sig)).toBe(signer.address);
            expect(verifySignature(h, flipV(sig), signer.address)).toBe(false);
            expect(verifySignature(other, sig, signer.address)).toBe(false);
            expect(verifySignature(h, highS(sig), signer.address)).toBe(false);
            expect(verifySignature(h, sig, bob.address)).toBe(false);
            expect(verifySignature(h, bob.signHash(h), signer.address)).toBe(false);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses malformed signatures without throwing', () => {
    const h = hashStateBytes(state);
    const good = alice.signHash(h);
    expect(verifySignature(h, good, alice.address)).toBe(true);
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
      expect(verifySignature(h, bad, alice.address)).toBe(false);
    }
  });
});
