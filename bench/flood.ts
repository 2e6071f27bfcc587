// Flood benchmark: the DIDComm endpoint under attack while two honest agents keep paying. Alice
// and Bob run as agent processes (`perun-agent start`, credentials from an Issuer process, one
// gated channel on the embedded chain, as bench:didcomm). First a baseline of sequential Alice →
// Bob payments; then a separate attacker process floods Bob's DIDComm endpoint for --seconds
// (default 20) from the loopback addresses 127.0.0.2–127.0.0.9 (so Bob's per-source limits can
// tell them apart from Alice on 127.0.0.1): --senders (300) connections at once each POSTing 1 MiB
// envelopes Bob cannot decrypt, one after the other, and --garbage (1,000) small requests a
// second that are not envelopes. Meanwhile Alice keeps paying Bob one payment at a time, and
// `GET /info` is asked of Bob's API every 250 ms. Reported: Bob's peak RSS (VmRSS of
// /proc/<pid>/status, sampled every 100 ms) beside his RSS before, payment p50/p95 during the
// flood beside the baseline, payments that failed, the attacker's answers by status, and the
// slowest `/info`. Every process is stopped at the end; each request and phase is bounded.
// Usage: npm run bench:flood [-- --seconds N] [-- --senders N] [-- --garbage N] [-- --json]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningChain } from '../src/agent/node/chain.js';
import { connectAgents, stopAllProcesses } from '../src/agent/process/agent-process.js';
import { certifiedPair } from '../src/agent/process/certified-pair.js';
import { openChannel, restClient } from './rest-client.js';
import { intArg, latencyFigures, now } from './timing.js';

const json = process.argv.includes('--json');
const ATTACKER_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
const REQUEST_TIMEOUT_MS = 10_000;
const MiB = 1024 * 1024;

type Counts = Record<string, number>;

/** The attacker's requests still open, destroyed when the flood ends. */
const live = new Set<http.ClientRequest>();

/** One POST from `localAddress`; resolves with its status or the kind of error, never rejects. */
function attack(url: URL, body: Buffer, localAddress: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        localAddress,
        headers: { 'content-type': 'application/didcomm-envelope-enc', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(String(res.statusCode)));
        res.once('error', () => resolve(String(res.statusCode)));
      },
    );
    live.add(req);
    req.once('close', () => live.delete(req));
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.message === 'timeout' || e.message === 'cut' ? e.message : (e.code ?? 'error')),
    );
    req.end(body);
  });
}

/** The attacker process: floods `endpoint` for `seconds`, then prints its counts as JSON. */
async function attacker(endpoint: string, seconds: number, senders: number, garbagePerS: number) {
  const url = new URL(endpoint);
  const big = Buffer.from(
    JSON.stringify({
      protected: 'e30',
      iv: 'AAAAAAAAAAAAAAAA',
      ciphertext: 'A'.repeat(MiB),
      tag: 'AAAAAAAAAAAAAAAAAAAAAA',
    }),
  );
  const garbage = Buffer.from('{"not":"an envelope"');
  const counts: { big: Counts; garbage: Counts } = { big: {}, garbage: {} };
  const count = (c: Counts, k: string) => (c[k] = (c[k] ?? 0) + 1);
  const deadline = now() + seconds * 1000;
  const pending = new Set<Promise<unknown>>();
  const sender = async (i: number) => {
    const from = ATTACKER_ADDRESSES[i % ATTACKER_ADDRESSES.length]!;
    while (now() < deadline) count(counts.big, await attack(url, big, from));
  };
  const senders$ = Promise.all(Array.from({ length: senders }, (_, i) => sender(i)));
  let sent = 0;
  const start = now();
  const ticker = setInterval(() => {
    const due = Math.floor(((now() - start) / 1000) * garbagePerS) - sent;
    for (let k = 0; k < due && now() < deadline; k++, sent++) {
      const p: Promise<void> = attack(
        url,
        garbage,
        ATTACKER_ADDRESSES[sent % ATTACKER_ADDRESSES.length]!,
      ).then((s) => {
        count(counts.garbage, s);
        pending.delete(p);
      });
      pending.add(p);
    }
  }, 10);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(ticker);
  // Requests still open a few seconds after the flood are cut (counted as `cut`).
  const cut = setTimeout(() => {
    for (const req of live) req.destroy(new Error('cut'));
  }, 3_000);
  await senders$;
  await Promise.all(pending);
  clearTimeout(cut);
  process.stdout.write(JSON.stringify(counts) + '\n');
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** Sequential payments until `done()`, or `count` of them; latencies of the ones that went through. */
async function pay(call: () => Promise<unknown>, until: { count?: number; done?: () => boolean }) {
  const latencies: number[] = [];
  let failed = 0;
  for (let i = 0; until.count === undefined || i < until.count; i++) {
    if (until.done?.() === true) break;
    const t = now();
    try {
      await call();
      latencies.push(now() - t);
    } catch {
      failed++;
    }
  }
  return { latencies, failed };
}

function runAttacker(endpoint: string, seconds: number, senders: number, garbage: number) {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [script, '--attacker', endpoint, String(seconds), String(senders), String(garbage)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
  const done = new Promise<{ big: Counts; garbage: Counts }>((resolve, reject) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line !== '') resolve(JSON.parse(line) as { big: Counts; garbage: Counts });
      else reject(new Error(`the attacker exited with ${code}`));
    }),
  );
  return { child, done };
}

async function main(): Promise<void> {
  const seconds = intArg('seconds', 20);
  const senders = intArg('senders', 300);
  const garbage = intArg('garbage', 1_000);
  const root = mkdtempSync(join(tmpdir(), 'perun-bench-flood-'));
  let chain: RunningChain | undefined;
  let attackerChild: ReturnType<typeof runAttacker>['child'] | undefined;
  try {
    const { alice, bob } = await certifiedPair({ root, fundEth: '100', onChain: (c) => (chain = c) });
    const ab = await connectAgents(bob, alice);
    const channel = await openChannel(alice, bob, ab.id, '50');
    const aliceApi = restClient(alice);
    const bobApi = restClient(bob);
    const payment = () => aliceApi.call('POST', `/channels/${channel.id}/payments`, { amount: '0.000001' });
    const bobPid = bob.child.pid!;

    await pay(payment, { count: 50 });
    const baseline = await pay(payment, { count: 300 });
    const rssBefore = rssMb(bobPid);

    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(bobPid))), 100);
    const infoMs: number[] = [];
    let infoFailed = 0;
    let flooding = true;
    const prober = (async () => {
      while (flooding) {
        const t = now();
        try {
          await bobApi.call('GET', '/info', undefined, 5_000);
          infoMs.push(now() - t);
        } catch {
          infoFailed++;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const attack = runAttacker(bob.info.didcommEndpoint, seconds, senders, garbage);
    attackerChild = attack.child;
    const attackDone = attack.done.finally(() => (flooding = false));
    const during = await pay(payment, { done: () => !flooding });
    const counts = await attackDone;
    await prober;
    clearInterval(sampler);
    const rssAfter = rssMb(bobPid);
    const after = await pay(payment, { count: 50 });
    aliceApi.close();
    bobApi.close();

    const base = latencyFigures(baseline.latencies);
    const flood = latencyFigures(during.latencies.length > 0 ? during.latencies : [NaN]);
    const info = latencyFigures(infoMs.length > 0 ? infoMs : [NaN]);
    const result = {
      seconds,
      senders,
      garbage_per_s: garbage,
      bob_rss_before_mb: rssBefore,
      bob_rss_peak_mb: peakRss,
      bob_rss_after_mb: rssAfter,
      baseline_p50_ms: base.p50_ms,
      baseline_p95_ms: base.p95_ms,
      flood_payments: during.latencies.length,
      flood_payments_failed: during.failed,
      flood_p50_ms: flood.p50_ms,
      flood_p95_ms: flood.p95_ms,
      after_payments_failed: after.failed,
      info_max_ms: Math.round(Math.max(...infoMs, 0)),
      info_p95_ms: info.p95_ms,
      info_failed: infoFailed,
      big_by_status: counts.big,
      garbage_by_status: counts.garbage,
      goal_met: peakRss < 400 && flood.p95_ms < 1_000 && during.failed === 0,
    };
    const row = (a: string, b: string, c = '') => console.log(`  ${a.padEnd(38)} ${b.padStart(14)} ${c}`);
    console.log(
      `flood of Bob's DIDComm endpoint for ${seconds} s: ${senders} senders of 1 MiB envelopes and ` +
        `${garbage} garbage requests/s from ${ATTACKER_ADDRESSES[0]}–${ATTACKER_ADDRESSES.at(-1)}`,
    );
    row('', 'baseline', 'during the flood');
    row('payment p50 / p95 (ms)', `${base.p50_ms} / ${base.p95_ms}`, `${flood.p50_ms} / ${flood.p95_ms}`);
    row(
      'payments (failed)',
      `${baseline.latencies.length} (${baseline.failed})`,
      `${during.latencies.length} (${during.failed})`,
    );
    row("Bob's RSS (MB)", `${rssBefore}`, `peak ${peakRss}, after ${rssAfter}`);
    row('GET /info on Bob (ms)', '', `p95 ${info.p95_ms}, max ${result.info_max_ms}, failed ${infoFailed}`);
    row('1 MiB envelopes answered', '', JSON.stringify(counts.big));
    row('garbage requests answered', '', JSON.stringify(counts.garbage));
    row('payments after the flood (failed)', '', `${after.latencies.length} (${after.failed})`);
    console.log(
      `goal (RSS < 400 MB, payment p95 < 1 s, none failed): ${result.goal_met ? 'met' : 'NOT met'}`,
    );
    if (json) console.log(JSON.stringify(result));
  } finally {
    attackerChild?.kill('SIGKILL');
    await stopAllProcesses();
    await chain?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--attacker');
const run =
  at >= 0
    ? attacker(
        process.argv[at + 1]!,
        Number(process.argv[at + 2]),
        Number(process.argv[at + 3]),
        Number(process.argv[at + 4]),
      )
    : main();
run.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
