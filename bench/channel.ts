// Channel benchmark: two clients in one process over the in-memory wire (JSON codec on), each
// persisting to its own SQLite file (WAL, synchronous=FULL: every signed state is on disk before
// its signature leaves), one channel funded on the embedded chain, then N sequential payments.
// Prints latency percentiles and where the time of a payment goes (signing, verifying, the
// store's transactions, the rest), then N payments more with 64 in flight on the same channel
// (batched: what one channel carries when many payments are asked at once), and the secp256k1
// engine's own rate of signatures and recoveries (PERUN_SECP256K1=noble runs the benchmark on
// the JavaScript fallback). fsync_p50_ms/fsync_p95_ms/fsync_mean_ms: the disk's fdatasync latency
// in the stores' directory, probed just before and after the sequential payments: their floor in
// the same run. cpu_ms_per_payment: the process's CPU time (user and system, both clients) per
// sequential payment, a figure a busy machine changes less than the rate.
// Usage: npm run bench:channel [-- --payments N] [--synchronous NORMAL] [--json]
// (--json: the last line is one JSON object; --synchronous NORMAL trades the fsync per commit
// for durability against process crashes only, to show what the disk costs.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, parseEther } from 'ethers';
import { ChannelClient } from '../src/channels/client.js';
import { EthereumAdjudicatorAdapter, ethereumBackend } from '../src/channels/ethereum/backend.js';
import { EthereumAdjudicator } from '../src/channels/ethereum/adjudicator.js';
import { deployContracts } from '../src/channels/ethereum/deploy.js';
import { EmbeddedChain } from '../src/channels/ethereum/embedded-chain.js';
import { ethAsset, ETH_BACKEND_ID } from '../src/channels/ethereum/encoding.js';
import { EthereumFunder } from '../src/channels/ethereum/funder.js';
import { EthereumSigner, recoverSigner, secp256k1Engine } from '../src/channels/ethereum/signer.js';
import { TxSender } from '../src/channels/ethereum/tx.js';
import { TypeOrmChannelStore } from '../src/channels/persistence/typeorm-store.js';
import { MemoryBus } from '../src/channels/wire/memory.js';
import {
  diskLine,
  fsyncFigures,
  fsyncProbe,
  paymentsArg,
  warmupArg,
  warmUp,
  timeInFlight,
  timePayments,
  timedBackend,
  timedSigner,
  timedStore,
  type Timers,
} from './timing.js';

const timers: Timers = {};
const t = (name: string) => timers[name] ?? 0;

/** Signatures and recoveries per second of the engine in use, over `n` distinct digests. */
function engineRates(n = 1_000): { sign_per_s: number; recover_per_s: number } {
  const key = EthereumSigner.random();
  const hashes = Array.from({ length: n }, (_, i) => {
    const h = new Uint8Array(32);
    new DataView(h.buffer).setUint32(0, i);
    return h;
  });
  let t = performance.now();
  const sigs = hashes.map((h) => key.signHash(h));
  const signMs = performance.now() - t;
  t = performance.now();
  hashes.forEach((h, i) => recoverSigner(h, sigs[i]!));
  const recoverMs = performance.now() - t;
  return { sign_per_s: Math.round((n / signMs) * 1000), recover_per_s: Math.round((n / recoverMs) * 1000) };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const payments = paymentsArg(5_000);
  const warmup = warmupArg(1_000);
  const syncAt = process.argv.indexOf('--synchronous');
  const synchronous = syncAt >= 0 ? process.argv[syncAt + 1] : 'FULL';
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') throw new Error('--synchronous is FULL or NORMAL');

  const dir = mkdtempSync(join(tmpdir(), 'perun-bench-'));
  const chain = await EmbeddedChain.start();
  const stores: TypeOrmChannelStore[] = [];
  const clients: ChannelClient[] = [];
  try {
    const d = await deployContracts(chain.wallet(0));
    const bus = new MemoryBus();
    const make = async (i: number, name: string) => {
      const tx = new TxSender(new Wallet(chain.accounts[i]!.privateKey, chain.provider()));
      const key = new EthereumSigner(Wallet.createRandom().privateKey);
      const store = await TypeOrmChannelStore.open({
        url: join(dir, `${name}.sqlite`),
        sqliteSynchronous: synchronous,
      });
      stores.push(store);
      const client = new ChannelClient({
        wire: bus.connect(name),
        signer: timedSigner(key, timers),
        backend: timedBackend(ethereumBackend, timers),
        funder: new EthereumFunder(tx),
        adjudicator: new EthereumAdjudicatorAdapter(new EthereumAdjudicator(tx, d.adjudicator), key),
        store: timedStore(store, timers),
        onProposal: () => ({ accept: true }),
      });
      clients.push(client);
      await client.start();
      return { client, key };
    };
    const alice = await make(1, 'alice');
    const bob = await make(2, 'bob');
    const opened = new Promise<void>((resolve) =>
      bob.client.on('event', (e: { type: string }) => e.type === 'opened' && resolve()),
    );
    const { id } = await alice.client.proposeChannel({
      peer: 'bob',
      peerAddress: bob.key.address,
      allocation: {
        assets: [ethAsset(d.chainId, d.assetHolderETH)],
        backends: [ETH_BACKEND_ID],
        balances: [[parseEther('10'), 0n]],
        locked: [],
      },
      challengeDuration: 3600n,
    });
    await opened;

    const warm = await warmUp(warmup, () => alice.client.sendPayment(id, 1n));
    for (const k of Object.keys(timers)) timers[k] = 0;
    const probe = fsyncProbe(dir, 100);
    const cpu = process.cpuUsage();
    const { totalMs: total, figures } = await timePayments(payments, () => alice.client.sendPayment(id, 1n));
    const { user, system } = process.cpuUsage(cpu);
    const disk = fsyncFigures([...probe, ...fsyncProbe(dir, 100)]);
    // The same channel with 64 payments in flight: they go in batches, one update per round trip.
    let updates = 0;
    alice.client.on('event', (e: { type: string }) => {
      if (e.type === 'updated') updates++;
    });
    const batched = await timeInFlight(payments, 64, () => alice.client.sendPayment(id, 1n));
    const rates = engineRates();
    const result = {
      ...figures,
      ...warm.figures,
      cpu_ms_per_payment: Number(((user + system) / 1000 / payments).toFixed(3)),
      batched_payments_per_s: batched.payments_per_s,
      batched_p50_ms: batched.p50_ms,
      batched_per_update: Number((payments / updates).toFixed(1)),
      store: `sqlite-file (WAL, synchronous=${synchronous})`,
      signer: secp256k1Engine(),
      ...rates,
      ...disk,
    };
    const share = (ms: number) =>
      `${((ms / total) * 100).toFixed(0).padStart(3)}%  ${(ms / payments).toFixed(3)} ms`;
    const rest = total - t('sign') - t('verify') - t('store');
    if (warm.line !== undefined) console.log(warm.line);
    console.log(
      `${payments} payments in ${(total / 1000).toFixed(2)} s: ${result.payments_per_s} payments/s`,
    );
    console.log(`latency p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms`);
    console.log(`CPU time (both clients, one process): ${result.cpu_ms_per_payment} ms per payment`);
    console.log(
      `with 64 in flight on the channel: ${batched.payments_per_s} payments/s (p50 ${batched.p50_ms} ms), ${result.batched_per_update} payments per update`,
    );
    console.log('where a payment’s time goes (both clients, per payment):');
    console.log(`  signing (secp256k1)         ${share(t('sign'))}`);
    console.log(`  verifying signatures        ${share(t('verify'))}`);
    console.log(`  store transactions (fsync)  ${share(t('store'))}`);
    console.log(`  the rest (codec, checks)    ${share(rest)}`);
    console.log(
      `secp256k1 engine ${result.signer}: ${rates.sign_per_s} signatures/s, ${rates.recover_per_s} recoveries/s`,
    );
    console.log(diskLine(disk));
    if (json) console.log(JSON.stringify(result));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(stores.map((s) => s.close()));
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
