// Channel data for the persistence scenarios: two-party ledger channels with values at the edges
// of their types (uint256 max, 18-decimal amounts, long app data) so a lossy encoding shows up.

import type { NewChannelRecord, SignedState, StagedState } from '../../src/channels/store.js';
import type { Hex, Params, State } from '../../src/channels/types.js';

export const UINT256_MAX = 2n ** 256n - 1n;
export const ETH = 10n ** 18n;

export const ALICE = { did: 'did:peer:2.Ez6LSalice', address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' };
export const BOB = { did: 'did:peer:2.Ez6LSbob', address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' };
export const CAROL = { did: 'did:peer:2.Ez6LScarol', address: '0x90F79bf6EB2c4f870365E785982E1f101E93b906' };

const ZERO32: Hex = '0x' + '00'.repeat(32);

/** A channel ID derived from a label (the store does not recompute IDs). */
export function channelId(label: string): Hex {
  return '0x' + Buffer.from(label.padEnd(32, '.')).subarray(0, 32).toString('hex');
}

export function params(nonce: bigint, a = ALICE, b = BOB): Params {
  return {
    challengeDuration: 3600n,
    nonce,
    participants: [
      { ethAddress: a.address, ccAddress: ZERO32 },
      { ethAddress: b.address, ccAddress: ZERO32 },
    ],
    app: '0x0000000000000000000000000000000000000000',
    ledgerChannel: true,
    virtualChannel: false,
  };
}

export function newChannel(
  label: string,
  opts: { peer?: typeof BOB; nonce?: bigint } = {},
): NewChannelRecord {
  const peer = opts.peer ?? BOB;
  return {
    id: channelId(label),
    params: params(opts.nonce ?? UINT256_MAX - 7n, ALICE, peer),
    ourIndex: 0,
    peers: [ALICE.did, peer.did],
    parentId: null,
    phase: 'InitActing',
  };
}

/** A state of `id` in which Alice has paid Bob `paid` wei out of 10 ETH each. */
export function state(id: Hex, version: bigint, paid = version * 1_000_000_007n, isFinal = false): State {
  return {
    channelID: id,
    version,
    outcome: {
      assets: [
        { chainID: 31337n, ethHolder: '0x5FbDB2315678afecb367f032d93F642f64180aa3', ccHolder: ZERO32 },
      ],
      backends: [1n],
      balances: [[10n * ETH - paid, 10n * ETH + paid]],
      locked: [],
    },
    appData: '0x',
    isFinal,
  };
}

/** A deterministic 65-byte "signature" (the store does not verify signatures). */
export function sig(signer: number, id: Hex, version: bigint): Hex {
  const body = Buffer.from(`${signer}:${id}:${version}`).toString('hex').padEnd(128, 'ab').slice(0, 128);
  return '0x' + body + (signer === 0 ? '1b' : '1c');
}

export function signed(id: Hex, version: bigint, paid?: bigint): SignedState {
  return { state: state(id, version, paid), sigs: [sig(0, id, version), sig(1, id, version)] };
}

export function stagedBy(signers: number[], id: Hex, version: bigint, paid?: bigint): StagedState {
  return {
    state: state(id, version, paid),
    sigs: [0, 1].map((i) => (signers.includes(i) ? sig(i, id, version) : null)),
  };
}

/** A state with values at the edges: uint256 max everywhere, a locked sub-allocation, app data. */
export function extremeState(id: Hex, version: bigint): State {
  return {
    channelID: id,
    version,
    outcome: {
      assets: [
        { chainID: UINT256_MAX, ethHolder: '0x000000000000000000000000000000000000dEaD', ccHolder: ZERO32 },
        {
          chainID: 11155111n,
          ethHolder: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
          ccHolder: '0x' + 'ff'.repeat(32),
        },
      ],
      backends: [1n, 1n],
      balances: [
        [UINT256_MAX, 0n],
        [123456789n * ETH + 1n, 2n ** 64n + 1n],
      ],
      locked: [
        { ID: '0x' + '12'.repeat(32), balances: [UINT256_MAX - 1n, 9007199254740993n], indexMap: [1, 0] },
      ],
    },
    appData: '0x' + 'c0ffee'.repeat(100),
    isFinal: true,
  };
}
