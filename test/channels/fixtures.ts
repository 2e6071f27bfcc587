// Builders shared by the channel-core tests: Alice and Bob with real Ethereum keys, a two-asset
// ledger channel between them with some funds locked in a sub-channel, and payments on it.
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import {
  ethAsset,
  ethParticipant,
  ETH_BACKEND_ID,
  ZERO_ADDRESS,
} from '../../src/channels/ethereum/encoding.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { Params, State } from '../../src/channels/types.js';

export const alice = new EthereumSigner('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
export const bob = new EthereumSigner('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');
export const mallory = new EthereumSigner(
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
);

export const HOLDER_ETH = '0x1111111111111111111111111111111111111111';
export const HOLDER_TOKEN = '0x2222222222222222222222222222222222222222';
export const SUB_ID = '0x' + 'ab'.repeat(32);

export function params(overrides: Partial<Params> = {}): Params {
  return {
    challengeDuration: 60n,
    nonce: 0xc0ffeen,
    participants: [ethParticipant(alice.address), ethParticipant(bob.address)],
    app: ZERO_ADDRESS,
    ledgerChannel: true,
    virtualChannel: false,
    ...overrides,
  };
}

export const PARAMS = params();
export const CHANNEL_ID = ethereumBackend.channelId(PARAMS);

/** Version `version` of the Alice–Bob channel: ETH [100, 50] and tokens [7, 3], with 10 ETH and 2 tokens locked. */
export function state(version = 0n, withLocked = true): State {
  return {
    channelID: CHANNEL_ID,
    version,
    outcome: {
      assets: [ethAsset(31337n, HOLDER_ETH), ethAsset(31337n, HOLDER_TOKEN)],
      backends: [ETH_BACKEND_ID, ETH_BACKEND_ID],
      balances: [
        [100n, 50n],
        [7n, 3n],
      ],
      locked: withLocked ? [{ ID: SUB_ID, balances: [10n, 2n], indexMap: [] }] : [],
    },
    appData: '0x',
    isFinal: false,
  };
}

/** The next version of `s` in which participant `from` pays `amount` of `asset` to participant `to`. */
export function pay(s: State, from: number, to: number, amount: bigint, asset = 0): State {
  const next = structuredClone(s);
  next.version = s.version + 1n;
  next.outcome.balances[asset]![from]! -= amount;
  next.outcome.balances[asset]![to]! += amount;
  return next;
}

/** A modified deep copy of `s`. */
export function edit(s: State, change: (copy: State) => void): State {
  const copy = structuredClone(s);
  change(copy);
  return copy;
}

export const verify = ethereumBackend.verifyState;
