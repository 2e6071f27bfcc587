// Channel benchmark: two clients in one process over the in-memory wire (JSON codec on), each
// persisting to its own SQLite file (WAL, synchronous=FULL: every signed state is on disk before
// its signature leaves), one channel funded on the embedded chain, then N sequential payments.
// Prints latency percentiles and where the time of a payment goes (signing, verifying, the
// store's transactions, the rest).
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
import { EthereumSigner } from '../src/channels/ethereum/signer.js';
import { TxSender } from '../src/channels/ethereum/tx.js';
import type { ChannelBackend, Signer } from '../src/channels/interfaces.js';
import { TypeOrmChannelStore } from '../src/channels/persistence/typeorm-store.js';
import type { ChannelStore } from '../src/channels/store.js';
import { MemoryBus } from '../src/channels/wire/memory.js';

const timers = { sign: 0, verify: 0, store: 0 };
const now = () => performance.now();

function timedSigner(s: EthereumSigner): Signer {
  return {
    address: s.address,
    signState: (state) => {
      const t = now();
      const sig = s.signState(state);
      timers.sign += now() - t;
      return sig;
    },
  };
}

const timedBackend: ChannelBackend = {
  channelId: ethereumBackend.channelId,
  verifyState: (state, sig, address) => {
    const t = now();
    const ok = ethereumBackend.verifyState(state, sig, address);
    timers.verify += now() - t;
    return ok;
  },
};

function timedStore(store: ChannelStore): ChannelStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return async (fn: Parameters<ChannelStore['transaction']>[0]) => {
          const t = now();
          try {
            return await target.transaction(fn);
          } finally {
            timers.store += now() - t;
          }
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const at = process.argv.indexOf('--payments');
  const payments = at >= 0 ? Number(process.argv[at + 1]) : 5_000;
  if (!Number.isInteger(payments) || payments < 1) throw new Error('--payments needs a positive integer');
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
        signer: timedSigner(key),
        backend: timedBackend,
        funder: new EthereumFunder(tx),
        adjudicator: new EthereumAdjudicatorAdapter(new EthereumAdjudicator(tx, d.adjudicator), key),
        store: timedStore(store),
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

    timers.sign = timers.verify = timers.store = 0;
    const latencies: number[] = [];
    const start = now();
    for (let i = 0; i < payments; i++) {
      const t = now();
      await alice.client.sendPayment(id, 1n);
      latencies.push(now() - t);
    }
    const total = now() - start;
    latencies.sort((x, y) => x - y);
    const result = {
      payments,
      payments_per_s: Math.round((payments / total) * 1000),
      p50_ms: Number(percentile(latencies, 50).toFixed(2)),
      p95_ms: Number(percentile(latencies, 95).toFixed(2)),
      p99_ms: Number(percentile(latencies, 99).toFixed(2)),
      store: `sqlite-file (WAL, synchronous=${synchronous})`,
    };
    const share = (ms: number) =>
      `${((ms / total) * 100).toFixed(0).padStart(3)}%  ${(ms / payments).toFixed(3)} ms`;
    const rest = total - timers.sign - timers.verify - timers.store;
    console.log(
      `${payments} payments in ${(total / 1000).toFixed(2)} s: ${result.payments_per_s} payments/s`,
    );
    console.log(`latency p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms`);
    console.log('where a payment’s time goes (both clients, per payment):');
    console.log(`  signing (secp256k1)         ${share(timers.sign)}`);
    console.log(`  verifying signatures        ${share(timers.verify)}`);
    console.log(`  store transactions (fsync)  ${share(timers.store)}`);
    console.log(`  the rest (codec, checks)    ${share(rest)}`);
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
