// Instruments shared by the channel benchmarks: the channel core's signer, signature check and
// store wrapped so the time spent in each is summed into a named counter, latency percentiles,
// integer arguments (--payments N), the disk's durable-write latency beside the payments, and the
// CPU time of a process (Linux's /proc) over them.
import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelBackend, Signer } from '../src/channels/interfaces.js';
import type { ChannelStore } from '../src/channels/store.js';

export const now = () => performance.now();

/** Milliseconds summed per counter name. */
export type Timers = Record<string, number>;

function add(timers: Timers, name: string, since: number): void {
  timers[name] = (timers[name] ?? 0) + (now() - since);
}

export function timedSigner(s: Signer, timers: Timers, name = 'sign'): Signer {
  return {
    address: s.address,
    signState: (state) => {
      const t = now();
      try {
        return s.signState(state);
      } finally {
        add(timers, name, t);
      }
    },
  };
}

export function timedBackend(b: ChannelBackend, timers: Timers, name = 'verify'): ChannelBackend {
  return {
    channelId: b.channelId,
    verifyState: (state, sig, address) => {
      const t = now();
      try {
        return b.verifyState(state, sig, address);
      } finally {
        add(timers, name, t);
      }
    },
  };
}

/** The store with the time of each transaction (its commit, the fsync) added to `name`. */
export function timedStore(store: ChannelStore, timers: Timers, name = 'store'): ChannelStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return async (fn: Parameters<ChannelStore['transaction']>[0]) => {
          const t = now();
          try {
            return await target.transaction(fn);
          } finally {
            add(timers, name, t);
          }
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** The value of `--<name> N` (or `fallback`), a positive integer. */
export function intArg(name: string, fallback: number, min = 1): number {
  const at = process.argv.indexOf(`--${name}`);
  const n = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(n) || n < min)
    throw new Error(
      `--${name} needs ${min === 1 ? 'a positive' : `an`} integer${min === 1 ? '' : ` ≥ ${min}`}`,
    );
  return n;
}

/** The value of `--payments N` (or `fallback`). */
export const paymentsArg = (fallback: number): number => intArg('payments', fallback);

/**
 * The value of `--warmup N` (or `fallback`; 0 for none): payments made and timed before the
 * measured ones, since the first thousand or so of a fresh process run slower (V8 has not yet
 * compiled the payment's path with its optimizing tier, and compiles it on the same two cores).
 */
export const warmupArg = (fallback: number): number => intArg('warmup', fallback, 0);

/**
 * Makes `warmup` payments (none for 0) before the measured ones: their figures under their own
 * names, to set beside the measured ones, and the line that tells them (undefined without any).
 */
export async function warmUp(warmup: number, pay: () => Promise<unknown>) {
  if (warmup === 0) return { figures: { warmup_payments: 0 }, line: undefined };
  const { figures } = await timePayments(warmup, pay);
  return {
    figures: {
      warmup_payments: warmup,
      warmup_payments_per_s: figures.payments_per_s,
      warmup_p50_ms: figures.p50_ms,
    },
    line:
      `${warmup} payments first, to warm up (not in the figures below): ` +
      `${figures.payments_per_s} payments/s, p50 ${figures.p50_ms} ms`,
  };
}

/** p50, p95 and p99 of `latencies` (ms, any order), rounded to 0.01 ms. */
export function latencyFigures(latencies: number[]) {
  const sorted = [...latencies].sort((x, y) => x - y);
  const ms = (p: number) => Number(percentile(sorted, p).toFixed(2));
  return { p50_ms: ms(50), p95_ms: ms(95), p99_ms: ms(99) };
}

/** Runs `pay` `payments` times in sequence; the run's total time and its latency figures. */
export async function timePayments(payments: number, pay: () => Promise<unknown>) {
  const latencies: number[] = [];
  const start = now();
  for (let i = 0; i < payments; i++) {
    const t = now();
    await pay();
    latencies.push(now() - t);
  }
  const totalMs = now() - start;
  return {
    totalMs,
    figures: {
      payments,
      payments_per_s: Math.round((payments / totalMs) * 1000),
      ...latencyFigures(latencies),
    },
  };
}

/**
 * Runs `pay` `payments` times with `inFlight` calls outstanding at any moment (a caller that sends
 * the next payment as soon as one is answered); the rate and latency figures of the run.
 */
export async function timeInFlight(payments: number, inFlight: number, pay: () => Promise<unknown>) {
  const latencies: number[] = [];
  let started = 0;
  const start = now();
  const worker = async () => {
    while (started < payments) {
      started++;
      const t = now();
      await pay();
      latencies.push(now() - t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, payments) }, worker));
  const totalMs = now() - start;
  return { payments_per_s: Math.round((payments / totalMs) * 1000), ...latencyFigures(latencies) };
}

/**
 * The disk's durable-write latency where the stores live, the floor under every sequential
 * payment (each side makes its state durable before its signature leaves): `samples` appends of
 * 4 KiB to a file in `dir`, each followed by fdatasync, as an SQLite commit in WAL mode with
 * synchronous=FULL ends. Taken beside the payments, it is the same run's baseline for them.
 */
export function fsyncProbe(dir: string, samples = 200): number[] {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(4096, 1);
  const ms: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      writeSync(fd, page);
      const t = now();
      fdatasyncSync(fd);
      ms.push(now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return ms;
}

/**
 * The same disk at the pace of payments between two processes: a few pages overwritten in place
 * (as SQLite's WAL is after a checkpoint) and fsync'd after a pause of `pauseMs` each time, where
 * fsyncProbe writes back to back. Milliseconds per fsync.
 */
export function fsyncPacedProbe(dir: string, samples = 50, pauseMs = 3): number[] {
  const file = join(dir, 'fsync-paced-probe');
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(4096, 1);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const ms: number[] = [];
  try {
    for (let i = 0; i < 64; i++) writeSync(fd, page, 0, page.length, i * page.length);
    fsyncSync(fd);
    for (let i = 0; i < samples; i++) {
      Atomics.wait(pause, 0, 0, pauseMs);
      for (let k = 0; k < 6; k++) writeSync(fd, page, 0, page.length, ((i * 6 + k) % 64) * page.length);
      const t = now();
      fsyncSync(fd);
      ms.push(now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return ms;
}

/** `fsync_paced_p50_ms` and `fsync_paced_mean_ms` of fsyncPacedProbe samples. */
export function fsyncPacedFigures(ms: number[]) {
  const { fsync_p50_ms, fsync_mean_ms } = fsyncFigures(ms);
  return { fsync_paced_p50_ms: fsync_p50_ms, fsync_paced_mean_ms: fsync_mean_ms };
}

/**
 * `fsync_p50_ms`, `fsync_p95_ms` and `fsync_mean_ms` of fsyncProbe samples: the mean, not the
 * median, bounds a run of sequential payments (a shared disk's tail is long).
 */
export function fsyncFigures(ms: number[]) {
  const { p50_ms, p95_ms } = latencyFigures(ms);
  const mean = ms.reduce((a, b) => a + b, 0) / Math.max(ms.length, 1);
  return { fsync_p50_ms: p50_ms, fsync_p95_ms: p95_ms, fsync_mean_ms: Number(mean.toFixed(2)) };
}

/** The disk's line under a benchmark's figures. */
export function diskLine(disk: ReturnType<typeof fsyncFigures>): string {
  return (
    `the disk beside the payments: fdatasync p50 ${disk.fsync_p50_ms} ms, p95 ${disk.fsync_p95_ms} ms, ` +
    `mean ${disk.fsync_mean_ms} ms (two durable commits in turn a sequential payment: ` +
    `at most ${Math.round(1000 / (2 * disk.fsync_mean_ms))}/s)`
  );
}

/**
 * The CPU time (user and system, ms) process `pid` has used so far, from /proc/PID/stat; undefined
 * where there is no /proc (not Linux) or the process is gone.
 */
export function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
