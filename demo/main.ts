// `npm run demo`: agents as separate processes on loopback, as a user would run them, driven
// through their REST APIs. The embedded chain starts and gets the Perun contracts; each agent
// starts with its own SQLite file and REST API. This file reads the command line and tells one
// story: the payment story (basic.ts) by default, the credential sale over an app channel
// (app.ts) with --app, a virtual channel through an intermediary (virtual.ts) with --virtual, the
// payment story on TON (ton.ts) with --ton, a channel with assets on two chains (cross-chain.ts, on
// two chains of its own) with --cross-chain.
// Usage: npm run demo [-- --payments N] [-- --no-dispute] [-- --json]
//        npm run demo -- --app [--json]
//        npm run demo -- --virtual [--payments N] [--json]
//        npm run demo -- --ton [--payments N] [--no-dispute] [--json]
//        npm run demo -- --cross-chain [--json]
import { credentialSaleStory } from './app.js';
import { paymentStory } from './basic.js';
import { crossChainStory } from './cross-chain.js';
import { withStage, type Outcome, type Stage } from './stage.js';
import { MAX_VIRTUAL_PAYMENTS, virtualChannelStory } from './virtual.js';

const json = process.argv.includes('--json');
const appStory = process.argv.includes('--app');
const virtualStory = process.argv.includes('--virtual');
const crossChain = process.argv.includes('--cross-chain');
const dispute = !process.argv.includes('--no-dispute');
/** `--payments N` or `--payments=N`; default 200 (50 in the virtual story). */
function paymentsOption(): number {
  const i = process.argv.findIndex((a) => a === '--payments' || a.startsWith('--payments='));
  if (i < 0) return virtualStory ? 50 : 200;
  const arg = process.argv[i]!;
  return Number(arg.includes('=') ? arg.split('=')[1] : process.argv[i + 1]);
}
const payments = paymentsOption();

/** `--ton`: the payment story on TON (./ton.ts), on a chain server of its own instead of the stage. */
async function tonMain(): Promise<void> {
  const { tonPaymentStory } = await import('./ton.js');
  const t0 = performance.now();
  const say = (line = '') => (json ? undefined : console.log(line));
  const { ok, report } = await tonPaymentStory(
    say,
    process.argv.some((a) => a.startsWith('--payments')) ? payments : 20,
    dispute,
  );
  const seconds = (performance.now() - t0) / 1000;
  say(`\n${ok ? 'ok' : 'FAILED'}: the story took ${seconds.toFixed(1)} s`);
  if (json) console.log(JSON.stringify({ ok, ...report, seconds: Number(seconds.toFixed(1)) }));
  if (!ok) process.exitCode = 1;
}

async function main(): Promise<void> {
  if (process.argv.includes('--ton')) return tonMain();
  if (virtualStory && (!Number.isInteger(payments) || payments < 1 || payments > MAX_VIRTUAL_PAYMENTS))
    throw new Error(`--payments takes a number from 1 to ${MAX_VIRTUAL_PAYMENTS} with --virtual`);
  if (!appStory && !virtualStory && (!Number.isInteger(payments) || payments < 2))
    throw new Error('--payments takes a number of at least 2');
  const story: (s: Stage) => Promise<Outcome> = appStory
    ? credentialSaleStory
    : virtualStory
      ? (s) => virtualChannelStory(s, payments)
      : (s) => paymentStory(s, payments, dispute);
  const t0 = performance.now();
  const finish = ({ ok, report }: Outcome) => {
    const seconds = (performance.now() - t0) / 1000;
    if (!json) console.log(`\n${ok ? 'ok' : 'FAILED'}: the story took ${seconds.toFixed(1)} s`);
    if (json) console.log(JSON.stringify({ ok, ...report, seconds: Number(seconds.toFixed(1)) }));
    if (!ok) process.exitCode = 1;
  };
  if (crossChain) return finish(await crossChainStory(json));
  await withStage(json, async (stage) => finish(await story(stage)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
