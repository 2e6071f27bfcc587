// Funding an Ethereum–TON channel through the TON ledger adapter: it deposits our Toncoin share
// under the TON channel ID and our TON key, and a missing deposit times out naming the core's
// channel ID and the Toncoin asset's index in the core state.
import { FundingTimeoutError } from '../../src/channels/errors.js';
import { fundingId } from '../../src/channels/ton/encoding.js';
import { PerunContract } from '../../src/channels/ton/contract.js';
import { tonParams, tonState } from '../../src/channels/cross/index.js';
import type { Params, State } from '../../src/channels/types.js';
import { TON, type EthTon, useEthTon } from './harness.js';

const chains = useEthTon();
let w: EthTon;
beforeEach(() => {
  w = chains();
});

test('the TON adapter deposits under the TON IDs and reports a missing deposit in core terms', async () => {
  const alice = await w.person('alice');
  const bob = await w.person('bob');
  const params: Params = {
    challengeDuration: 60n,
    nonce: 42n,
    participants: [alice, bob].map((p) => ({ ethAddress: p.signer.address, ccAddress: p.signer.ccAddress })),
    app: '0x0000000000000000000000000000000000000000',
    ledgerChannel: true,
    virtualChannel: false,
  };
  const state: State = {
    channelID: alice.backend.channelId(params),
    version: 0n,
    outcome: { ...w.allocation([0n, 0n], [2n * TON, 3n * TON]) },
    appData: '0x',
    isFinal: false,
  };
  const err = await alice.ledgers
    .ledger(w.ton.chainID)
    .funder.fund({ params, state, idx: 0 }, { timeoutMs: 100 })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FundingTimeoutError);
  expect((err as FundingTimeoutError).details).toMatchObject({
    channelID: state.channelID,
    missing: [{ participant: 1, asset: 1, required: String(3n * TON), held: '0' }],
  });
  const tonID = tonState(params, state).channelID;
  const perun = new PerunContract(w.ton, w.perun);
  expect(await perun.holdings(fundingId(tonID, alice.signer.ccAddress))).toBe(2n * TON);
  expect(tonParams(params).participants[0]!.ethAddress).toBe(alice.signer.ccAddress.toLowerCase());
}, 60_000);
