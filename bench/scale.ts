// Scale benchmark: one pair of agent processes (`perun-agent start`, durable SQLite files, DIDComm
// over HTTP on 127.0.0.1, credentials from an Issuer process, so every opening is gated) opens N
// channels: the first alone (open_first_ms: both verify the other, presentation and address
// proof), then the rest `--parallel` at a time, relying on that verification (open_per_s); then
// payments spread over every channel, `--concurrency` in flight at once, both ways (a channel's
// own payments in order); then both agents stop and start again from their files, with
// reverifyAfterSeconds 0. Measured: opens/s, payments/s over all channels with latency
// percentiles, Alice's database growth per channel and where it goes, memory, and restore_s: from
// spawning both processes until both list every channel with the balances the run left (from the
// API's starting view, before their nodes run: api_s until it listens, ready_s until the nodes run);
// synced_s: until both report every channel synced with the peer (restored channels
// sync in the background). A payment each way on a sample of channels must then go through. Last,
// the baseline of the same pair: `--baseline` more channels (default min(N, 100)) `--parallel` at
// a time, each verified anew both ways (open_verify_each_per_s).
// Usage: npm run bench:scale [-- --channels N] [-- --parallel P] [-- --payments M]
//        [-- --concurrency C] [-- --baseline B] [-- --reverify-after S] [-- --json] [-- --keep]
//        [-- --cpu-prof DIR]
//        (--reverify-after: the agents' reverifyAfterSeconds for the first openings, default theirs;
//        --json: last line is one JSON object; --keep: leave the data directories for a look;
//        --cpu-prof: the restarted agents write CPU profiles into DIR)
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { formatEther, parseEther } from 'ethers';
import type { RunningChain } from '../src/agent/node/chain.js';
import type { ChannelView, PaymentView } from '../src/agent/node/types.js';
import {
  AgentProcess,
  connectAgents,
  stopAllProcesses,
  type ApiFailure,
  type StartingAgent,
} from '../src/agent/process/agent-process.js';
import { certifiedPair } from '../src/agent/process/certified-pair.js';
import { intArg, latencyFigures, now } from './timing.js';

const json = process.argv.includes('--json');
const cpuProfAt = process.argv.indexOf('--cpu-prof');
const cpuProfDir = cpuProfAt >= 0 ? process.argv[cpuProfAt + 1] : undefined;
const FUND = parseEther('0.01');
const AMOUNT = parseEther('0.000001');

/** Runs `run` on every item, at most `width` at a time, in item order. */
async function pool<T>(items: T[], width: number, run: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        await run(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** An API failure or an error as one line. */
function describe(err: unknown): string {
  const f = err as ApiFailure;
  if (typeof f?.status === 'number') return `HTTP ${f.status} ${JSON.stringify(f.body)}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Resident memory of a process, MiB: now and at its peak. */
function memoryOf(p: AgentProcess): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** Bytes of the agent's files on disk: the SQLite file with its WAL and shared-memory index. */
function filesOf(dataDir: string): number {
  return ['agent.sqlite', 'agent.sqlite-wal', 'agent.sqlite-shm']
    .map((f) => join(dataDir, f))
    .filter((f) => existsSync(f))
    .reduce((sum, f) => sum + statSync(f).size, 0);
}

const TICK_S = 0.01;

/** CPU seconds of one process (user + system), 0 once it is gone. */
function cpuOf(pid: number | string): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_S;
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine and of this benchmark (this process, the agents, the chain). */
function cpuNow(): { machine: number; ours: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const idle = ticks[3]! + ticks[4]!;
  const machine = (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle) * TICK_S;
  const children = readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      return Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === process.pid;
    } catch {
      return false;
    }
  });
  return { machine, ours: cpuOf(process.pid) + children.reduce((sum, d) => sum + cpuOf(d), 0) };
}

/** How busy the machine was over a phase: this benchmark and everything else, in cores. */
function cpuSince(start: { machine: number; ours: number }, wallMs: number) {
  const end = cpuNow();
  const s = wallMs / 1000;
  const ours = (end.ours - start.ours) / s;
  return { ours, others: Math.max(0, (end.machine - start.machine) / s - ours) };
}

type Part = 'channel tables' | 'Credo records' | 'payment history' | 'other';

/**
 * The database as SQLite counts it (page_count × page_size, WAL included), read through a read-only
 * connection while the agent runs, with the bytes per part (tables and their indexes, from dbstat)
 * and the Credo records per type.
 */
function databaseOf(dataDir: string) {
  const db = new Database(join(dataDir, 'agent.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const owner = new Map(
      (
        db.prepare('SELECT name, tbl_name FROM sqlite_schema').all() as { name: string; tbl_name: string }[]
      ).map((r) => [r.name, r.tbl_name]),
    );
    const parts = new Map<Part, number>();
    for (const r of db.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name').all() as {
      name: string;
      bytes: number;
    }[]) {
      const table = owner.get(r.name) ?? r.name;
      const part: Part = table.startsWith('perun_')
        ? 'channel tables'
        : table.startsWith('credo_record')
          ? 'Credo records'
          : table === 'agent_payment'
            ? 'payment history'
            : 'other';
      parts.set(part, (parts.get(part) ?? 0) + r.bytes);
    }
    const records = db
      .prepare('SELECT type, COUNT(*) AS n FROM credo_record GROUP BY type ORDER BY n DESC')
      .all() as { type: string; n: number }[];
    return { bytes: pages * pageSize, parts, records };
  } finally {
    db.close();
  }
}

interface Ledger {
  id: string;
  alice: bigint;
  bob: bigint;
}

/** Checks that `p` lists every channel of `ledger` open, with the balances the ledger holds. */
async function checkListing(
  p: { name: string; api: StartingAgent['api'] },
  ledger: Ledger[],
  side: 'alice' | 'bob',
): Promise<void> {
  const views = new Map(
    (await p.api<ChannelView[]>('GET', '/channels')).map((v) => [v.id.toLowerCase(), v] as const),
  );
  for (const c of ledger) {
    const v = views.get(c.id.toLowerCase());
    const ours = side === 'alice' ? c.alice : c.bob;
    const theirs = side === 'alice' ? c.bob : c.alice;
    if (v === undefined) throw new Error(`${p.name} does not list channel ${c.id}`);
    if (v.phase !== 'Acting' || parseEther(v.ourBalance) !== ours || parseEther(v.theirBalance) !== theirs)
      throw new Error(
        `${p.name}'s channel ${c.id}: ${v.phase} ${v.ourBalance}/${v.theirBalance}, ` +
          `expected Acting ${formatEther(ours)}/${formatEther(theirs)}`,
      );
  }
}

/**
 * Resolves once `p` lists every channel synced with the peer, asking its API every second (a
 * listing of every channel takes its share of the CPU the sync runs on).
 */
async function allSynced(p: AgentProcess): Promise<void> {
  for (;;) {
    const views = await p.api<ChannelView[]>('GET', '/channels');
    if (views.every((v) => v.synced)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** One payment of AMOUNT on ledger entry `c` by `side`, its result checked against the ledger. */
async function pay(agents: Record<'alice' | 'bob', AgentProcess>, c: Ledger, side: 'alice' | 'bob') {
  const p = await agents[side].api<PaymentView>('POST', `/channels/${c.id}/payments`, {
    amount: formatEther(AMOUNT),
  });
  if (side === 'alice') {
    c.alice -= AMOUNT;
    c.bob += AMOUNT;
  } else {
    c.bob -= AMOUNT;
    c.alice += AMOUNT;
  }
  const ours = side === 'alice' ? c.alice : c.bob;
  if (parseEther(p.ourBalance) !== ours)
    throw new Error(`payment on ${c.id}: balance ${p.ourBalance}, expected ${formatEther(ours)}`);
}

const pad = (s: string, n: number) => s.padEnd(n);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Opens `count` channels from Alice to Bob, `parallel` at a time, into `ledger` from its end; their latencies and ms. */
async function openChannels(
  agents: Record<'alice' | 'bob', AgentProcess>,
  connectionId: string,
  count: number,
  parallel: number,
  ledger: Ledger[],
): Promise<{ ms: number; latencies: number[] }> {
  const latencies: number[] = [];
  const first = ledger.length;
  let opened = 0;
  const t0 = now();
  await agents.bob.event(
    (e) => e.type === 'channel-opened' && ++opened === count,
    () =>
      pool(
        Array.from({ length: count }, (_, i) => first + i),
        parallel,
        async (i) => {
          const t = now();
          const c = await agents.alice.api<ChannelView>('POST', '/channels', {
            connectionId,
            fund: formatEther(FUND),
            peerFund: '0',
          });
          latencies.push(now() - t);
          ledger[i] = { id: c.id, alice: FUND, bob: 0n };
        },
      ),
  );
  return { ms: now() - t0, latencies };
}

async function main(): Promise<void> {
  const n = intArg('channels', 1_000, 2);
  const parallel = intArg('parallel', 16);
  const payments = intArg('payments', 2 * n);
  const concurrency = intArg('concurrency', 32);
  const baseline = intArg('baseline', Math.min(n, 100), 0);
  const reverifyAt = process.argv.indexOf('--reverify-after');
  const reverify = reverifyAt < 0 ? {} : { reverifyAfterSeconds: intArg('reverify-after', 0, 0) };
  const root = mkdtempSync(join(tmpdir(), 'perun-bench-scale-'));
  let chain: RunningChain | undefined;
  try {
    const fundEth = formatEther(FUND * BigInt(n + baseline) + parseEther('10'));
    const { alice, bob } = await certifiedPair({
      root,
      fundEth,
      config: { proposalsPerMinute: Math.max(30, n + baseline), ...reverify },
      onChain: (c) => (chain = c),
    });
    const ab = await connectAgents(bob, alice);
    const before = databaseOf(alice.dataDir);

    // Opening: Alice proposes (fund 0.01 ETH, Bob 0) and deposits; done when Bob has seen every
    // channel open. The first opening verifies both ways; the others rely on it.
    const ledger: Ledger[] = [];
    const first = await openChannels({ alice, bob }, ab.id, 1, 1, ledger);
    const c0 = cpuNow();
    const { ms: openMs, latencies: openLatencies } = await openChannels(
      { alice, bob },
      ab.id,
      n - 1,
      parallel,
      ledger,
    );
    const openCpu = cpuSince(c0, openMs);

    // Payments: round r pays on channel k % n, Alice in even rounds and Bob in odd ones.
    const agents = { alice, bob };
    const tail = ledger.map(() => Promise.resolve());
    const latencies: number[] = [];
    const c1 = cpuNow();
    const t1 = now();
    await pool(
      Array.from({ length: payments }, (_, k) => k),
      concurrency,
      async (k) => {
        const i = k % n;
        const side = Math.floor(k / n) % 2 === 0 ? 'alice' : 'bob';
        const run = tail[i]!.then(async () => {
          const t = now();
          await pay(agents, ledger[i]!, side);
          latencies.push(now() - t);
        });
        tail[i] = run.catch(() => undefined);
        await run;
      },
    );
    const payMs = now() - t1;
    const payCpu = cpuSince(c1, payMs);
    const memory = { alice: memoryOf(alice), bob: memoryOf(bob) };
    const after = databaseOf(alice.dataDir);

    const ts = now();
    await Promise.all([alice.stop(), bob.stop()]);
    const stopMs = now() - ts;
    const onDisk = filesOf(alice.dataDir);

    // The restart: both at once, as after a reboot, now verifying the peer for every channel.
    if (cpuProfDir !== undefined) {
      process.env['PERUN_AGENT_NODE_ARGS'] = `--cpu-prof --cpu-prof-dir=${cpuProfDir}`;
    }
    // Each lists its stored channels before its node runs (the starting view, `api`), then runs
    // (`ready`): restore_s is until both list every channel right, from either.
    const ready: number[] = [];
    const api: number[] = [];
    const cr = cpuNow();
    const tr = now();
    const starting = await Promise.all(
      [alice, bob].map((p, i) =>
        AgentProcess.startEarly(p.name, p.dataDir, p.passphrase, { PERUN_REVERIFY_AFTER_SECONDS: '0' }).then(
          (q) => {
            api[i] = now() - tr;
            return { name: p.name, ...q };
          },
        ),
      ),
    );
    await Promise.all([
      checkListing(starting[0]!, ledger, 'alice'),
      checkListing(starting[1]!, ledger, 'bob'),
    ]);
    const restoreMs = now() - tr;
    const [alice2, bob2] = await Promise.all(
      starting.map((q, i) =>
        q.ready.then((r) => {
          ready[i] = now() - tr;
          return r;
        }),
      ),
    );
    await Promise.all([checkListing(alice2!, ledger, 'alice'), checkListing(bob2!, ledger, 'bob')]);
    await Promise.all([allSynced(alice2!), allSynced(bob2!)]);
    const syncedMs = now() - tr;
    const restoreCpu = cpuSince(cr, syncedMs);
    const memoryRestored = { alice: memoryOf(alice2!), bob: memoryOf(bob2!) };
    const listing = await (async () => {
      const t = now();
      await alice2!.api('GET', '/channels');
      return now() - t;
    })();

    const sample = Array.from(
      { length: Math.min(n, 20) },
      (_, j) => ledger[Math.floor((j * n) / Math.min(n, 20))]!,
    );
    const again = { alice: alice2!, bob: bob2! };
    const afterRestart: number[] = [];
    await Promise.all(
      sample.map(async (c) => {
        for (const side of ['alice', 'bob'] as const) {
          const t = now();
          await pay(again, c, side);
          afterRestart.push(now() - t);
        }
      }),
    );

    // The baseline: every opening verifies both ways.
    const each =
      baseline === 0 ? undefined : await openChannels(again, ab.id, baseline, parallel, ledger.slice());

    const grown = after.bytes - before.bytes;
    const figures = latencyFigures(latencies);
    const opening = latencyFigures(openLatencies);
    const result = {
      channels: n,
      kib_per_channel: Number((grown / 1024 / n).toFixed(2)),
      restore_s: Number((restoreMs / 1000).toFixed(2)),
      synced_s: Number((syncedMs / 1000).toFixed(2)),
      payments_per_s: Math.round((payments / payMs) * 1000),
      payments,
      ...figures,
      open_first_ms: Math.round(first.ms),
      open_per_s: Number((((n - 1) / openMs) * 1000).toFixed(1)),
      open_p50_ms: opening.p50_ms,
      open_p95_ms: opening.p95_ms,
      ...(each === undefined
        ? {}
        : { open_verify_each_per_s: Number(((baseline / each.ms) * 1000).toFixed(1)), baseline }),
      api_s: Number((Math.max(...api) / 1000).toFixed(2)),
      ready_s: Number((Math.max(...ready) / 1000).toFixed(2)),
      listing_ms: Math.round(listing),
      stop_s: Number((stopMs / 1000).toFixed(2)),
      db_mib: Number(mib(onDisk)),
      rss_mib: Math.round(Math.max(memory.alice.rss, memory.bob.rss)),
      rss_restored_mib: Math.round(Math.max(memoryRestored.alice.rss, memoryRestored.bob.rss)),
      after_restart_p50_ms: latencyFigures(afterRestart).p50_ms,
      other_cores: Number(Math.max(openCpu.others, payCpu.others, restoreCpu.others).toFixed(2)),
      parallel,
      concurrency,
      processes: 2,
      credential_gating: true,
    };

    const rows: Array<[string, string]> = [
      ['channels (gated, 0.01 ETH each)', `${n}, ${parallel} opening at a time after the first`],
      ['opening the first (verifying both ways)', `${result.open_first_ms} ms`],
      [
        'opening the others (relying on it)',
        `${(openMs / 1000).toFixed(1)} s: ${result.open_per_s}/s, p50 ${opening.p50_ms} ms, p95 ${opening.p95_ms} ms`,
      ],
      ...(each === undefined
        ? []
        : [
            [
              `baseline: ${baseline} more, each verifying both ways`,
              `${(each.ms / 1000).toFixed(1)} s: ${result.open_verify_each_per_s}/s, p50 ${latencyFigures(each.latencies).p50_ms} ms`,
            ] as [string, string],
          ]),
      ['payments over all channels', `${payments}, ${concurrency} in flight, both ways`],
      [
        'payments/s',
        `${result.payments_per_s} (p50 ${figures.p50_ms} ms, p95 ${figures.p95_ms} ms, p99 ${figures.p99_ms} ms)`,
      ],
      [
        "Alice's database per channel",
        `${result.kib_per_channel} KiB (growth ${mib(grown)} MiB, file ${mib(onDisk)} MiB)`,
      ],
      ...[...after.parts].map(([part, bytes]): [string, string] => [
        `  ${part}`,
        `${((bytes - (before.parts.get(part) ?? 0)) / 1024 / n).toFixed(2)} KiB per channel`,
      ]),
      [
        'cores busy: this benchmark / other processes',
        [openCpu, payCpu, restoreCpu]
          .map((c, i) => `${['opening', 'paying', 'restart'][i]} ${c.ours.toFixed(2)}/${c.others.toFixed(2)}`)
          .join(', '),
      ],
      [
        'memory (RSS, Alice/Bob)',
        `${memory.alice.rss.toFixed(0)}/${memory.bob.rss.toFixed(0)} MiB, peak ${memory.alice.peak.toFixed(0)}/${memory.bob.peak.toFixed(0)} MiB`,
      ],
      ['stop (both)', `${result.stop_s} s`],
      [
        'restart: API listing the stored channels (Alice/Bob)',
        `${(api[0]! / 1000).toFixed(2)}/${(api[1]! / 1000).toFixed(2)} s`,
      ],
      [
        'restart: node running (Alice/Bob)',
        `${(ready[0]! / 1000).toFixed(2)}/${(ready[1]! / 1000).toFixed(2)} s`,
      ],
      ['restart: every channel listed, balances right', `${result.restore_s} s`],
      ['restart: every channel synced with the peer', `${result.synced_s} s`],
      ['GET /channels afterwards', `${result.listing_ms} ms`],
      [
        'memory after restart (RSS, Alice/Bob)',
        `${memoryRestored.alice.rss.toFixed(0)}/${memoryRestored.bob.rss.toFixed(0)} MiB`,
      ],
      [
        `payments after restart (${sample.length} channels, both ways)`,
        `p50 ${result.after_restart_p50_ms} ms`,
      ],
    ];
    for (const [k, v] of rows) console.log(`${pad(k, 48)} ${v}`);
    console.log('Credo records in Alice’s database (count by type):');
    for (const r of after.records.slice(0, 8)) {
      const had = before.records.find((x) => x.type === r.type)?.n ?? 0;
      console.log(`  ${pad(r.type, 46)} ${r.n}${had > 0 ? ` (${had} before the channels)` : ''}`);
    }
    if (json) console.log(JSON.stringify(result));
  } catch (err) {
    console.error(describe(err));
    process.exitCode = 1;
  } finally {
    await stopAllProcesses();
    await chain?.stop();
    if (process.argv.includes('--keep')) console.error(`data directories kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
