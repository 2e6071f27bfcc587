// A two-party, one-asset ledger payment channel for the gas benchmarks (./gas.ts on Ethereum,
// ./gas-ton.ts on TON): its params, its states of given balances and both signatures, for the
// backend's participants, asset, backend ID and channel ID.
import type { Asset, Hex, Params, Participant, State } from '../src/channels/types.js';

export interface LedgerChannelSpec {
  participants: [Participant, Participant];
  asset: Asset;
  backendId: bigint;
  channelId: (params: Params) => Hex;
  /** Both participants' signatures on a state, in participant order. */
  sign: (state: State) => Hex[];
}

/** No app: a payment channel. */
const NO_APP = '0x' + '00'.repeat(20);

export function ledgerChannel(spec: LedgerChannelSpec, nonce: bigint) {
  const params: Params = {
    challengeDuration: 60n,
    nonce,
    participants: [...spec.participants],
    app: NO_APP,
    ledgerChannel: true,
    virtualChannel: false,
  };
  const id = spec.channelId(params);
  /** The state of `version` paying participant 0 `a` and participant 1 `b`. */
  const state = (version: bigint, a: bigint, b: bigint, isFinal = false): State => ({
    channelID: id,
    version,
    outcome: { assets: [spec.asset], backends: [spec.backendId], balances: [[a, b]], locked: [] },
    appData: '0x',
    isFinal,
  });
  return { id, params, state, sigs: spec.sign };
}
