// `perun-agent init` and `start` say what they are doing while they do it (each takes seconds):
// one line per step on stderr, in the order the steps run, and never on stdout, where --json
// prints its one JSON value. Both run as processes of the built CLI on a fresh data directory,
// start on a chain of its own (chain: embedded).
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

test('start --json: its steps on stderr up to the listening API, one JSON value on stdout', async () => {
  const r = cli('start', '--data-dir', join(dir, 'a'), '--json');
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
  ]);
  r.child.kill('SIGTERM');
  expect(await r.exited).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(out);
});
