// `npm run demo -- --cross-chain --json` as a user runs it (the built dist/demo/main.js): two
// embedded chains, one channel with ETH on chain A and PRN on chain B, a swap, payments, a
// cooperative close on both chains and Bob's old state on chain B refuted. It must exit 0 and end
// with one JSON line reporting both checks and every balance per chain to the wei.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

test('the cross-chain demo settles both chains to the wei and refutes the old state on chain B', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [resolve('dist/demo/main.js'), '--cross-chain', '--json'],
    { timeout: 90_000, killSignal: 'SIGTERM' },
  );
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  expect(report).toMatchObject({
    ok: true,
    settled: true,
    refuted: true,
    chains: [31337, 31338],
    swaps: 1,
    // first channel: 2.7 ETH / 210 PRN to Alice, 2.3 ETH / 290 PRN to Bob; second: 0.5 ETH / 50 PRN, 1.5 ETH / 50 PRN
    alice_eth_chain_a: '3.2',
    alice_prn_chain_b: '260.0',
    bob_eth_chain_a: '3.8',
    bob_prn_chain_b: '340.0',
  });
}, 120_000);
