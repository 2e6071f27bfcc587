// The proposal gate of an agent on several chains (src/agent/node/proposals.ts): a payment channel
// may hold assets on several of our chains, each told apart by its chain ID; one asset on a chain
// we have no ledger for refuses the proposal; the spending limit counts the peer's ETH on every
// chain, and auto-accept never spends our tokens.
import type { IncomingProposal } from '../../src/channels/client.js';
import { ZERO_ADDRESS, ethAsset } from '../../src/channels/ethereum/encoding.js';
import type { VerifiedPeer } from '../../src/protocols/identity/index.js';
import { Assets } from '../../src/agent/node/assets.js';
import type { NodeContext } from '../../src/agent/node/context.js';
import { Proposals } from '../../src/agent/node/proposals.js';

const ETH_HOLDER = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const PRN_HOLDER = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';
const ME = '0x00000000000000000000000000000000000000aa';
const THEM = '0x00000000000000000000000000000000000000bb';
const E = 10n ** 18n;

function proposals(): Proposals {
  const assets = Assets.of(
    ['31337', '31338'].flatMap((chainId) => [
      { symbol: 'ETH', decimals: 18, holder: ETH_HOLDER, chainId },
      { symbol: 'PRN', decimals: 18, holder: PRN_HOLDER, token: PRN_HOLDER, chainId },
    ]),
  );
  const ctx = {
    assets,
    ledger: { address: ME, saleApp: undefined, holds: () => true },
    config: { autoAccept: true, autoAcceptMaxFund: '5' },
    events: { emit: () => undefined },
    agent: { didcomm: { connections: { findById: () => Promise.resolve(null) } } },
  } as unknown as NodeContext;
  return new Proposals(ctx);
}

const peer = {
  connectionId: 'c1',
  did: 'did:peer:x',
  issuer: 'did:key:i',
  address: THEM,
  name: 'Bob',
  spendingLimit: 3n * E,
} as VerifiedPeer;

/** A payment channel Bob proposes: per asset [chain, holder, his funds, ours]. */
function proposal(rows: [bigint, string, bigint, bigint][]): IncomingProposal {
  return {
    proposalID: '0x01',
    peer: 'did:peer:x',
    participants: [THEM, ME],
    app: ZERO_ADDRESS,
    challengeDuration: 60n,
    allocation: { assets: rows.map(([c, h]) => ethAsset(c, h)), backends: [], balances: [], locked: [] },
    fundingAgreement: rows.map(([, , his, ours]) => [his, ours]),
  } as unknown as IncomingProposal;
}

test('ETH on chain A and PRN on chain B from the peer, nothing of ours: accepted, each asset with its chain', async () => {
  const p = proposals();
  const decision = await p.onVerified(
    proposal([
      [31337n, ETH_HOLDER, 2n * E, 0n],
      [31338n, PRN_HOLDER, 50n * E, 0n],
    ]),
    peer,
  );
  expect(decision).toEqual({ accept: true });
  expect(p.list()[0]!.assets).toEqual([
    { chainId: '31337', asset: 'ETH', ourFund: '0', peerFund: '2' },
    { chainId: '31338', asset: 'PRN', ourFund: '0', peerFund: '50' },
  ]);
});

/** Bob proposes ETH on chain A and ETH on `chain`, `eth` each; our agent's decision. */
const twoEth = (chain: bigint, eth: bigint) =>
  proposals().onVerified(
    proposal([
      [31337n, ETH_HOLDER, eth, 0n],
      [chain, ETH_HOLDER, eth, 0n],
    ]),
    peer,
  );

test('one asset on a chain we have no ledger for: refused', async () => {
  expect(await twoEth(31399n, E)).toMatchObject({ accept: false });
  expect(await twoEth(31338n, E)).toEqual({ accept: true });
});

test("the peer's ETH on both chains counts against its spending limit", async () => {
  expect(await twoEth(31338n, 2n * E)).toEqual({
    accept: false,
    reason: 'the deposit exceeds the peer’s spending limit',
  });
});
