// Builders for channel tuples shared by the Ethereum backend tests.
import { hexlify, randomBytes } from 'ethers';
import {
  channelId,
  ethAsset,
  ethParticipant,
  ETH_BACKEND_ID,
  ZERO_ADDRESS,
  type Address,
  type Allocation,
  type Params,
  type State,
  type SubAlloc,
} from '../../src/channels/ethereum/encoding.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import {
  nativeEngine,
  nobleEngine,
  type Secp256k1Engine,
  type Secp256k1EngineName,
} from '../../src/channels/ethereum/secp256k1-engine.js';

export function randomNonce(): bigint {
  return BigInt(hexlify(randomBytes(32)));
}

export function ledgerParams(parts: Address[], overrides: Partial<Params> = {}): Params {
  return {
    challengeDuration: 60n,
    nonce: randomNonce(),
    participants: parts.map(ethParticipant),
    app: ZERO_ADDRESS,
    ledgerChannel: true,
    virtualChannel: false,
    ...overrides,
  };
}

export function allocation(
  chainID: bigint,
  holders: Address[],
  balances: bigint[][],
  locked: SubAlloc[] = [],
): Allocation {
  return {
    assets: holders.map((h) => ethAsset(chainID, h)),
    backends: holders.map(() => ETH_BACKEND_ID),
    balances,
    locked,
  };
}

export function stateOf(
  params: Params,
  version: bigint,
  outcome: Allocation,
  extra: Partial<State> = {},
): State {
  return { channelID: channelId(params), version, outcome, appData: '0x', isFinal: false, ...extra };
}

/** Both secp256k1 engines, for tests that run on each (`describe.each`). */
export const ENGINES: Array<[Secp256k1EngineName, Secp256k1Engine]> = [
  ['native', nativeEngine()],
  ['noble', nobleEngine()],
];

export function signAll(signers: EthereumSigner[], state: State): string[] {
  return signers.map((s) => s.signState(state));
}

export const HOLDER_A: Address = '0x1111111111111111111111111111111111111111';
export const HOLDER_B: Address = '0x2222222222222222222222222222222222222222';

/** A two-asset, two-party state of `params` with one sub-allocation and app data (version 7). */
export function twoAssetState(params: Params): State {
  const sub = { ID: '0x' + '77'.repeat(32), balances: [3n, 4n], indexMap: [] as number[] };
  const balances = [
    [10n, 20n],
    [30n, 40n],
  ];
  return stateOf(params, 7n, allocation(31337n, [HOLDER_A, HOLDER_B], balances, [sub]), {
    appData: '0xc0ffee',
  });
}

/** One mutation per field of a two-asset, two-party state with one sub-allocation. */
export function stateMutations(): Array<[string, (s: State) => State]> {
  const bals = (s: State, a: number, p: number) =>
    s.outcome.balances.map((row, i) => row.map((x, j) => (i === a && j === p ? x + 1n : x)));
  const lock = (s: State, f: (l: SubAlloc) => SubAlloc) =>
    s.outcome.locked.map((l, i) => (i === 0 ? f(l) : l));
  return [
    ['channel ID', (s) => ({ ...s, channelID: '0x' + '00'.repeat(31) + '01' })],
    ['version', (s) => ({ ...s, version: s.version + 1n })],
    ['balance [0][0]', (s) => ({ ...s, outcome: { ...s.outcome, balances: bals(s, 0, 0) } })],
    ['balance [0][1]', (s) => ({ ...s, outcome: { ...s.outcome, balances: bals(s, 0, 1) } })],
    ['balance [1][0]', (s) => ({ ...s, outcome: { ...s.outcome, balances: bals(s, 1, 0) } })],
    ['balance [1][1]', (s) => ({ ...s, outcome: { ...s.outcome, balances: bals(s, 1, 1) } })],
    ['asset order', (s) => ({ ...s, outcome: { ...s.outcome, assets: [...s.outcome.assets].reverse() } })],
    [
      'asset chain ID',
      (s) => ({
        ...s,
        outcome: {
          ...s.outcome,
          assets: s.outcome.assets.map((a, i) => (i === 0 ? { ...a, chainID: a.chainID + 1n } : a)),
        },
      }),
    ],
    [
      'backend ID',
      (s) => ({
        ...s,
        outcome: { ...s.outcome, backends: s.outcome.backends.map((b, i) => (i === 1 ? b + 1n : b)) },
      }),
    ],
    [
      'locked ID',
      (s) => ({
        ...s,
        outcome: { ...s.outcome, locked: lock(s, (l) => ({ ...l, ID: '0x' + '78'.repeat(32) })) },
      }),
    ],
    [
      'locked balance',
      (s) => ({
        ...s,
        outcome: {
          ...s.outcome,
          locked: lock(s, (l) => ({ ...l, balances: l.balances.map((x) => x + 1n) })),
        },
      }),
    ],
    [
      'locked index map',
      (s) => ({ ...s, outcome: { ...s.outcome, locked: lock(s, (l) => ({ ...l, indexMap: [1, 0] })) } }),
    ],
    ['locked removed', (s) => ({ ...s, outcome: { ...s.outcome, locked: [] } })],
    ['app data', (s) => ({ ...s, appData: s.appData === '0x' ? '0x01' : '0x' })],
    ['is final', (s) => ({ ...s, isFinal: !s.isFinal })],
  ];
}
