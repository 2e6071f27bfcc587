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

export function stateOf(params: Params, version: bigint, outcome: Allocation, extra: Partial<State> = {}): State {
  return { channelID: channelId(params), version, outcome, appData: '0x', isFinal: false, ...extra };
}

export function signAll(signers: EthereumSigner[], state: State): string[] {
  return signers.map((s) => s.signState(state));
}

export const HOLDER_A: Address = '0x1111111111111111111111111111111111111111';
export const HOLDER_B: Address = '0x2222222222222222222222222222222222222222';
