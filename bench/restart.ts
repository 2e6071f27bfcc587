// Restart benchmark: Alice and Bob open one channel through their APIs, stop, and get N - 1 more
// written straight into both SQLite files (./channel-store-fixture.ts, states both keys signed);
// then, for each round, both start at once from fresh copies of those files, as after a reboot,
// and we time from spawning: `api_s` until both listen (the starting view), `listing_s` until both
// answered a GET /channels that lists every channel with its stored balances (the goal: ≤ 5 s at
// 10,000), `ready_s` until both nodes run. With `--old DIR` (a copy of an older dist/, e.g.
// dist/old) each round starts that build's CLI too, right after this one's, on the same files.
// Usage: node dist/bench/restart.js [-- --channels N] [-- --rounds R] [-- --old DIR] [-- --json]
//        [-- --cpu-prof DIR] (the agents write CPU profiles into DIR)
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatEther, parseEther } from 'ethers';
import type { RunningChain } from '../src/agent/node/chain.js';
import { formatAmount } from '../src/agent/api/amounts.js';
import type { ChannelView } from '../src/agent/node/types.js';
import {
  cliPath,
  connectAgents,
  stopAllProcesses,
  type AgentProcess,
} from '../src/agent/process/agent-process.js';
import { certifiedPair } from '../src/agent/process/certified-pair.js';
import type { Hex } from '../src/channels/types.js';
import {
  generatedChannel,
  openStoppedAgent,
  writeChannels,
  type GeneratedChannel,
} from './channel-store-fixture.js';
import { intArg, now } from './timing.js';

const json = process.argv.includes('--json');
const argOf = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
};
const FUND = parseEther('0.01');
/** Wei Alice paid on channel i. */
const paid = (i: number) => BigInt(i) * 1000n;

/** GET `path` of the API at `url` with `token`: status and parsed body. */
function get(url: string, token: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((done, fail) => {
    const req = request(
      `${url}${path}`,
      { headers: { authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          done({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
        );
      },
    );
    req.on('error', fail);
    req.end();
  });
}

interface Timing {
  api: number;
  listing: number;
  ready: number;
}

/** Starts `cli` on `dataDir` and times its starting view, its complete listing and its node. */
async function timeStart(
  cli: string,
  dataDir: string,
  passphrase: string,
  expected: Map<string, [string, string]>,
  ourIndex: number,
  t0: number,
): Promise<Timing & { stop: () => Promise<void> }> {
  const prof = argOf('cpu-prof');
  const flags = ['--data-dir', dataDir, '--json', '--passphrase-fd', '3', '--announce-starting'];
  const profiling = prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`];
  const child = spawn(process.execPath, [...profiling, cli, 'start', ...flags], {
    stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
  });
  (child.stdio[3] as NodeJS.WritableStream).end(`${passphrase}\n`);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  let onLine: (line: string) => void = () => undefined;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let end = out.indexOf('\n'); end >= 0; end = out.indexOf('\n')) {
      onLine(out.slice(0, end));
      out = out.slice(end + 1);
    }
  });
  let ready = 0;
  const readyP = new Promise<void>((r) => {
    let first = true;
    let value = '';
    onLine = (line) => {
      if (first) {
        first = false;
        const v = JSON.parse(line) as { starting?: boolean; apiUrl: string; tokenFile: string };
        if (v.starting === true) return void startingP(v);
      }
      value += line;
      try {
        JSON.parse(value);
      } catch {
        return;
      }
      ready = now() - t0;
      r();
    };
  });
  let startingP!: (v: { apiUrl: string; tokenFile: string }) => void;
  const starting = await new Promise<{ apiUrl: string; tokenFile: string }>((r) => (startingP = r));
  const api = now() - t0;
  const token = readFileSync(starting.tokenFile, 'utf8').trim();
  for (;;) {
    const asked = now();
    const { status, body } = await get(starting.apiUrl, token, '/channels');
    if (process.argv.includes('--verbose'))
      console.log(
        `GET /channels at ${((asked - t0) / 1000).toFixed(2)} s: ${status} in ${Math.round(now() - asked)} ms`,
      );
    if (status === 200 && complete(body as ChannelView[], expected, ourIndex)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const listing = now() - t0;
  await readyP;
  return {
    api,
    listing,
    ready,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Whether `views` list every expected channel with its balances (ours first) as participant `ourIndex`. */
function complete(views: ChannelView[], expected: Map<string, [string, string]>, ourIndex: number): boolean {
  if (views.length !== expected.size) return false;
  return views.every((v) => {
    const b = expected.get(v.id.toLowerCase());
    return (
      b !== undefined &&
      v.ourBalance === b[ourIndex] &&
      v.theirBalance === b[1 - ourIndex] &&
      v.synced === false
    );
  });
}

async function main(): Promise<void> {
  const n = intArg('channels', 1_000, 2);
  const rounds = intArg('rounds', 2);
  const oldDir = argOf('old');
  const builds = [{ name: 'new', cli: cliPath() }];
  if (oldDir !== undefined) builds.push({ name: 'old', cli: resolve(oldDir, 'src/agent/cli/main.js') });
  const root = mkdtempSync(join(tmpdir(), 'perun-bench-restart-'));
  let chain: RunningChain | undefined;
  try {
    const { alice, bob } = await certifiedPair({ root, fundEth: '10', onChain: (c) => (chain = c) });
    const ab = await connectAgents(bob, alice);
    const opened = bob.event((e) => e.type === 'channel-opened');
    const first = await alice.api<ChannelView>('POST', '/channels', {
      connectionId: ab.id,
      fund: formatEther(FUND),
      peerFund: '0',
    });
    await opened;
    const expected = new Map<string, [bigint, bigint]>([[first.id.toLowerCase(), [FUND, 0n]]]);
    await Promise.all([alice.stop(), bob.stop()]);
    const tw = now();
    const sides = await Promise.all([alice, bob].map((p) => openStoppedAgent(p.dataDir, p.passphrase)));
    try {
      const template = (await sides[0]!.store.getChannel(first.id as Hex))!;
      const signers = sides.map((s) => s.signer);
      const made: GeneratedChannel[] = [];
      for (let i = 1; i < n; i++) {
        const balances = [FUND - paid(i), paid(i)];
        made.push(
          await generatedChannel(
            { params: template.params, state: template.current!.state },
            i,
            { version: BigInt(1 + (i % 5)), balances },
            signers,
          ),
        );
        expected.set(made.at(-1)!.id.toLowerCase(), [balances[0]!, balances[1]!]);
      }
      for (const [ourIndex, side] of sides.entries())
        await writeChannels(side.store, made, { ourIndex, peers: template.peers, phase: template.phase });
    } finally {
      await Promise.all(sides.map((s) => s.close()));
    }
    if (!json) console.log(`${n} channels written in ${((now() - tw) / 1000).toFixed(1)} s`);
    const pristine = [alice, bob].map((p: AgentProcess) => {
      const copy = `${p.dataDir}.pristine`;
      cpSync(p.dataDir, copy, { recursive: true });
      return copy;
    });
    // The balances as the API writes them, so that checking a listing costs the bench little.
    const shown = new Map(
      [...expected].map(([id, [a, b]]) => [id, [formatAmount(a), formatAmount(b)] as [string, string]]),
    );
    const figures: Record<string, Timing[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const build of builds) {
        [alice, bob].forEach((p, i) => {
          rmSync(p.dataDir, { recursive: true, force: true });
          cpSync(pristine[i]!, p.dataDir, { recursive: true });
        });
        const t0 = now();
        const started = await Promise.all(
          [alice, bob].map((p, i) => timeStart(build.cli, p.dataDir, p.passphrase, shown, i, t0)),
        );
        await Promise.all(started.map((s) => s.stop()));
        const t = {
          api: Math.max(...started.map((s) => s.api)),
          listing: Math.max(...started.map((s) => s.listing)),
          ready: Math.max(...started.map((s) => s.ready)),
        };
        (figures[build.name] ??= []).push(t);
        if (!json)
          console.log(
            `round ${r + 1} ${build.name}: api_s ${(t.api / 1000).toFixed(2)}, listing_s ${(t.listing / 1000).toFixed(2)}, ready_s ${(t.ready / 1000).toFixed(2)}`,
          );
      }
    }
    const seconds = (ts: Timing[], k: keyof Timing) => ts.map((t) => Number((t[k] / 1000).toFixed(2)));
    const result = Object.fromEntries(
      Object.entries(figures).map(([name, ts]) => [
        name,
        { api_s: seconds(ts, 'api'), listing_s: seconds(ts, 'listing'), ready_s: seconds(ts, 'ready') },
      ]),
    );
    console.log(JSON.stringify({ channels: n, rounds, ...result }));
  } finally {
    await stopAllProcesses();
    await chain?.stop();
    if (!process.argv.includes('--keep')) rmSync(root, { recursive: true, force: true });
    else console.log(`kept ${root}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
