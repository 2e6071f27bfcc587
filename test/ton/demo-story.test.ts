// The TON payment story of `npm run demo -- --ton` (demo/ton.ts), run in this process as the demo
// runs it: the TON chain server, Issuer, Alice and Bob as Credo agents over DIDComm, TON
// credentials, the gated channel, 3 payments, the cooperative close and Bob's stale registration
// refuted by Alice's watcher; the report is correct to the nanoton.
import { tonPaymentStory } from '../../demo/ton.js';

it('the TON story: credentials, gated channel, payments, close, a refuted dispute, exact to the nanoton', async () => {
  const lines: string[] = [];
  const { ok, report } = await tonPaymentStory((l = '') => lines.push(l), 3, true);
  expect(report).toMatchObject({
    backend: 'ton',
    settled: true,
    disputed: true,
    refuted: true,
    first_channel: { alice_nanoton: '9970000000', bob_nanoton: '10030000000' },
    second_channel: { alice_nanoton: '8000000000', bob_nanoton: '2000000000' },
    alice_nanoton: '17970000000',
    bob_nanoton: '12030000000',
  });
  expect(ok).toBe(true);
  expect(lines.filter((l) => l.includes('holds a credential for the TON address'))).toHaveLength(2);
}, 120_000);
