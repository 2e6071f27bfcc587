// Which channels the Ethereum–TON backend keeps params for: only those that became someone's
// channel on a ledger (funded, or restored). Computing an ID, checking a signature or refusing a
// proposal leaves nothing behind, so a long-running agent does not grow with every proposal.
import { ETH, TON, openEthTon, type EthTon, useEthTon } from './harness.js';

const chains = useEthTon();
let w: EthTon;
beforeEach(() => {
  w = chains();
});

test('a refused proposal is tracked by neither side; an opened channel by both, with its TON ID', async () => {
  const carol = await w.person('carol');
  const dave = await w.person('dave');
  const err = await carol.client
    .proposeChannel({
      peer: 'dave',
      peerAddress: dave.signer.address,
      peerCcAddress: carol.signer.ccAddress,
      allocation: w.allocation([ETH, 0n], [0n, TON]),
      challengeDuration: 60n,
    })
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'PROPOSAL_REJECTED' });
  expect([carol.backend.tracked, dave.backend.tracked]).toEqual([0, 0]);
  const id = await openEthTon(w, carol, dave, [ETH, 0n], [0n, TON]);
  for (const p of [carol, dave]) {
    expect(p.backend.tracked).toBe(1);
    expect(p.backend.knows(id)).toBe(true);
    expect(p.backend.fromTon(p.backend.tonId(id))).toBe(id.toLowerCase());
  }
}, 120_000);
