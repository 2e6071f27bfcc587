// A property over cross-chain channels on two embedded chains: random payments of either asset
// (ETH on chain A, the token on chain B) in either direction, then either a cooperative close or
// a dispute in which one participant registers a random earlier (or the latest) state on a random
// non-empty set of chains. Whatever happened, each chain pays out exactly what it holds of the
// channel (conservation per chain), at the latest state's balances, to the wei.
import fc from 'fast-check';
import { propertyRuns } from '../property-seed.js';
import type { SignedState } from '../../src/channels/interfaces.js';
import { MultiLedgerAdjudicator, Ledgers } from '../../src/channels/multi/index.js';
import { open, until, useTwoChains, waitFor, type Person } from './harness.js';

const RUNS = propertyRuns('CROSS_CHAIN_RUNS', 3);
const DEPOSIT = 100n;
// Two accounts a case, and forty cases more for a failure to be shrunk through (each opens a
// channel between two new persons), so that a failure is reported as itself.
const chains = useTwoChains(2 * RUNS + 2 + 2 * 40);

const payment = fc.record({
  payer: fc.constantFrom(0, 1),
  asset: fc.constantFrom(0, 1),
  amount: fc.bigInt({ min: 1n, max: 40n }),
});
const ending = fc.oneof(
  fc.constant({ kind: 'close' as const }),
  fc.record({
    kind: fc.constant('dispute' as const),
    by: fc.constantFrom(0, 1),
    /** Which signed state the registering participant takes, as a fraction of the history. */
    pick: fc.double({ min: 0, max: 1, noNaN: true }),
    chains: fc.constantFrom([0], [1], [0, 1]),
  }),
);

test('random payments and disputes on random chains: every chain pays out what it holds, at the latest state', async () => {
  const w = chains();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(payment, { maxLength: 6 }), ending, async (payments, end) => {
      n++;
      const p: [Person, Person] = [
        await w.person(`p${n}a`, { watch: true }),
        await w.person(`p${n}b`, { watch: true }),
      ];
      const id = await open(w, p[0], p[1], [DEPOSIT, DEPOSIT], [DEPOSIT, DEPOSIT], 30n);
      const history: SignedState[] = [];
      const keep = () => {
        const c = p[0].client.channel(id);
        history.push({ params: c.params, state: c.state!, sigs: [] });
      };
      keep();
      for (const pay of payments) {
        const bal = p[pay.payer]!.client.channel(id).state!.outcome.balances[pay.asset]![pay.payer]!;
        if (bal < pay.amount) continue;
        await p[pay.payer]!.client.sendPayment(id, pay.amount, pay.asset);
        keep();
      }
      const latest = p[0].client.channel(id).state!;
      if (end.kind === 'close') {
        await p[0].client.settle(id);
      } else {
        const chosen = history[Math.min(history.length - 1, Math.floor(end.pick * history.length))]!;
        const sigs = await Promise.all(p.map((x) => x.signer.signState(chosen.state)));
        await Promise.all(
          end.chains.map((c) => p[end.by]!.ledgers[c]!.adjudicator.register({ ...chosen, sigs })),
        );
        // the watchers refute where it is stale and bring both chains to the latest state
        const adj = new MultiLedgerAdjudicator(new Ledgers(p[0].ledgers));
        await until(async () =>
          (await adj.disputes(id)).every((d) => d.stage === 'dispute' && d.version === latest.version),
        );
        await w.advance(31);
      }
      // A client starts its settlement when its watcher sees the dispute end, which may come
      // after the chains' clocks moved: what it withdrew is read once it says it settled.
      for (const x of p) await waitFor(x, (e) => e.type === 'settled' && e.channelId === id);
      const settled = await Promise.all(p.map((x) => x.client.settlement(id)));
      for (const asset of [0, 1]) {
        const got = await Promise.all(p.map((x) => x.received(asset)));
        expect(got).toEqual(latest.outcome.balances[asset]);
        expect(got[0]! + got[1]!).toBe(2n * DEPOSIT);
        expect(settled.map((s) => s?.find((x) => x.asset === asset)?.amount)).toEqual(got);
      }
    }),
    { numRuns: RUNS },
  );
});
