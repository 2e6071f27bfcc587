// `perun-agent init` and `start` say what they are doing while they do it (each takes seconds):
// one line per step on stderr, in the order the steps run, and never on stdout, where --json
// prints its one JSON value. Both run as processes of the built CLI on a fresh data directory,
// start on a chain of its own (chain: embedded). --log-level and --log-format reach them: warn
// hides the steps, json writes each as one JSON object a line.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from '../../src/agent/process/agent-process.js';

jest.setTimeout(120_000);

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERUN_')));
const env = { ...baseEnv, PERUN_PASSPHRASE: 'progress lines' };

let dir: string;
const children = new Set<ChildProcess>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'perun-progress-'));
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function cli(...args: string[]): Run {
  const child = spawn(process.execPath, [cliPath(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (run.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
  void run.exited.then(() => children.delete(child));
  return run;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Where each of `lines` is in `text`, in order: -1 for one missing or out of order. */
function positions(text: string, lines: string[]): number[] {
  let from = 0;
  return lines.map((line) => {
    const at = text.indexOf(line, from);
    if (at >= 0) from = at + line.length;
    return at;
  });
}

const ordered = (text: string, lines: string[]) =>
  expect(
    positions(text, lines).map((at, i) => (at < 0 ? `missing or out of order: ${lines[i]}` : 'ok')),
  ).toEqual(lines.map(() => 'ok'));

test('init --json: its steps on stderr, one JSON value on stdout', async () => {
  const r = cli('init', '--data-dir', join(dir, 'a'), '--json');
  expect(await r.exited).toBe(0);
  const out = JSON.parse(r.stdout) as { address: string };
  ordered(r.stderr, [
    `creating the agent in ${join(dir, 'a')}…`,
    `opening storage (SQLite, ${join(dir, 'a', 'agent.sqlite')})…`,
    'deriving keys from the passphrase…',
    `storing the Ethereum account ${out.address}…`,
  ]);
});

/** Runs start until its JSON is out; then SIGTERM and its exit code. */
async function startAndStop(...args: string[]): Promise<Run & { code: number | null }> {
  const r = cli('start', ...args, '--json');
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (parses(r.stdout)) finish(resolve);
      else if (r.child.exitCode !== null) finish(() => reject(new Error(`start ended:\n${r.stderr}`)));
    }, 100);
    const finish = (f: () => void) => {
      clearInterval(timer);
      f();
    };
  });
  r.child.kill('SIGTERM');
  const code = await r.exited;
  return Object.assign(r, { code });
}

test('start --json: its steps on stderr up to the listening API, one JSON value on stdout', async () => {
  const r = await startAndStop('--data-dir', join(dir, 'a'));
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { apiUrl: string; info: { didcommEndpoint: string } };
  const endpoint = new URL(out.info.didcommEndpoint);
  ordered(r.stderr, [
    'starting a chain of our own (chain: embedded)…',
    `opening storage (SQLite, ${join(dir, 'a', 'agent.sqlite')})…`,
    'deriving keys from the passphrase…',
    'connecting to the chain at http://127.0.0.1:',
    'starting DIDComm…',
    `DIDComm endpoint listening on ${endpoint.hostname}:${endpoint.port}, reached at ${out.info.didcommEndpoint}`,
    'resuming channels…',
    `REST API listening on ${out.apiUrl}`,
    'stopping…',
  ]);
  expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}opening storage/m);
});

test('--log-level warn: init says nothing of its steps; --log-format json: every line of start is one entry', async () => {
  const init = cli('init', '--data-dir', join(dir, 'b'), '--log-level', 'warn', '--json');
  expect(await init.exited).toBe(0);
  expect(init.stderr).toBe('');
  expect(JSON.parse(init.stdout)).toHaveProperty('address');

  const r = await startAndStop('--data-dir', join(dir, 'a'), '--log-format', 'json');
  expect(r.code).toBe(0);
  const entries = r.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const e of entries) {
    expect(Object.keys(e).filter((k) => k !== 'fields')).toEqual(['time', 'level', 'msg']);
    expect(new Date(e['time'] as string).toISOString()).toBe(e['time']);
  }
  const { apiUrl } = JSON.parse(r.stdout) as { apiUrl: string };
  expect(entries).toContainEqual(
    expect.objectContaining({ level: 'info', msg: `REST API listening on ${apiUrl}` }),
  );
});

test('an unknown --log-level is a usage error (exit 2) before anything starts', async () => {
  const r = cli('start', '--data-dir', join(dir, 'a'), '--log-level', 'loud');
  expect(await r.exited).toBe(2);
  expect(r.stderr).toContain("argument 'loud' is invalid");
});
