// The state hash is remembered for the last states hashed and found again by content: a state
// that differs from a remembered one in any field the encoding reads (a changed copy, or the same
// object changed in place after it was hashed) gets its own hash, never the remembered one, and
// the signer signs and checks exactly that hash.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { hexlify } from 'ethers';

import { encodeStateBytes, hashState, type State } from '../../src/channels/ethereum/encoding.js';
import { EthereumSigner, verifyStateSignature } from '../../src/channels/ethereum/signer.js';
import { HOLDER_B, ledgerParams, stateMutations, twoAssetState } from './fixtures.js';

const alice = EthereumSigner.random();
const bob = EthereumSigner.random();

const fresh = (): State => twoAssetState(ledgerParams([alice.address, bob.address]));

/** The hash computed from the encoding alone, with no cache on the way. */
const uncached = (s: State) => hexlify(keccak_256(encodeStateBytes(s)));

const copyMutations: Array<[string, (s: State) => State]> = [
  ...stateMutations(),
  [
    'asset holder',
    (s) => ({
      ...s,
      outcome: {
        ...s.outcome,
        assets: s.outcome.assets.map((a, i) => (i === 0 ? { ...a, ethHolder: HOLDER_B } : a)),
      },
    }),
  ],
  [
    'asset cross-chain holder',
    (s) => ({
      ...s,
      outcome: {
        ...s.outcome,
        assets: s.outcome.assets.map((a, i) => (i === 1 ? { ...a, ccHolder: '0x' + '01'.repeat(32) } : a)),
      },
    }),
  ],
];

const inPlace: Array<[string, (s: State) => void]> = [
  ['channel ID', (s) => void (s.channelID = '0x' + '00'.repeat(31) + '01')],
  ['version', (s) => void (s.version += 1n)],
  ['balance [0][1]', (s) => void (s.outcome.balances[0]![1]! += 1n)],
  ['balance [1][0]', (s) => void (s.outcome.balances[1]![0]! -= 1n)],
  ['a balance row appended', (s) => void s.outcome.balances.push([1n, 2n])],
  ['asset chain ID', (s) => void (s.outcome.assets[1]!.chainID = 1n)],
  ['asset holder', (s) => void (s.outcome.assets[0]!.ethHolder = HOLDER_B)],
  ['asset cross-chain holder', (s) => void (s.outcome.assets[0]!.ccHolder = '0x01')],
  ['backend ID', (s) => void (s.outcome.backends[0] = 2n)],
  ['locked ID', (s) => void (s.outcome.locked[0]!.ID = '0x' + '78'.repeat(32))],
  ['locked balance', (s) => void (s.outcome.locked[0]!.balances[1]! += 1n)],
  ['locked index map', (s) => void s.outcome.locked[0]!.indexMap.push(1, 0)],
  ['locked removed', (s) => void s.outcome.locked.pop()],
  ['app data', (s) => void (s.appData = '0xc0ffef')],
  ['is final', (s) => void (s.isFinal = true)],
];

describe('the state hash cache', () => {
  it('gives a copy of a hashed state the same hash as the state', () => {
    const s = fresh();
    const h = hashState(s);
    expect(h).toBe(uncached(s));
    expect(hashState(structuredClone(s))).toBe(h);
  });

  it.each(copyMutations)('gives a copy with its %s changed its own hash', (_field, mutate) => {
    const s = fresh();
    const before = hashState(s);
    const changed = mutate(s);
    const h = hashState(changed);
    expect(h).toBe(uncached(changed));
    expect(h).not.toBe(before);
    expect(hashState(s)).toBe(before); // the original is still found, with its own hash
  });

  it.each(inPlace)(
    'gives a hashed state whose %s was then changed in place its new hash',
    (_field, mutate) => {
      const s = fresh();
      const before = hashState(s);
      const signature = alice.signState(s);
      mutate(s);
      const h = hashState(s);
      expect(h).toBe(uncached(s));
      expect(h).not.toBe(before);
      expect(verifyStateSignature(s, signature, alice.address)).toBe(false);
      expect(verifyStateSignature(s, alice.signState(s), alice.address)).toBe(true);
    },
  );

  it('refuses to hash a state that cannot be encoded, also after its valid twin was hashed', () => {
    const s = fresh();
    hashState(s);
    const rows = { ...s, outcome: { ...s.outcome, balances: s.outcome.balances.map((r) => new Set(r)) } };
    expect(() => hashState(rows as unknown as State)).toThrow();
    const numberVersion = { ...s, version: 7 };
    expect(() => hashState(numberVersion as unknown as State)).toThrow();
  });
});
