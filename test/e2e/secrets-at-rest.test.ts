// An agent process on its own embedded chain, started as a long-running agent would be: its data
// directory was opened to others after init, and its passphrase is in PERUN_PASSPHRASE. At start
// it makes the directory 700 and every file 600 (the SQLite -wal and -shm files too) and warns
// about each fix; it takes the passphrase out of its environment before it starts the chain, so
// the anvil process does not inherit it. A child agent started by AgentProcess gets its
// passphrase on a pipe, and its environment holds none.
import { jest } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentProcess,
  cliPath,
  initAgentDir,
  stopAllProcesses,
} from '../../src/agent/process/agent-process.js';

jest.setTimeout(120_000);

let root: string;
const started: ChildProcess[] = [];
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
/** The environment a process started with, as NAME=value lines (Linux /proc). */
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
const childrenOf = (pid: number) =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map(Number);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-secrets-'));
});

afterAll(async () => {
  for (const child of started) child.kill('SIGTERM');
  await Promise.all(
    started.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
  );
  await stopAllProcesses();
  rmSync(root, { recursive: true, force: true });
});

it('fixes an opened data directory at start, and its chain does not inherit the passphrase', async () => {
  const { dataDir, passphrase } = await initAgentDir(root, 'Solo');
  chmodSync(dataDir, 0o755);
  for (const f of readdirSync(dataDir)) chmodSync(join(dataDir, f), 0o644);

  const child = spawn(process.execPath, [cliPath(), 'start', '--data-dir', dataDir, '--json'], {
    env: { ...process.env, PERUN_PASSPHRASE: passphrase },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      try {
        JSON.parse(out);
        resolve();
      } catch {
        // not all of it yet
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });

  expect(stderr).toContain(
    `warning: the data directory was open to others: ${dataDir} was mode 755, now 700`,
  );
  expect(stderr).toContain(`${join(dataDir, 'agent.sqlite')} was mode 644, now 600`);
  expect(mode(dataDir)).toBe('700');
  const files = readdirSync(dataDir);
  expect(files).toEqual(
    expect.arrayContaining(['agent.sqlite', 'agent.sqlite-wal', 'agent.sqlite-shm', 'api-url']),
  );
  for (const f of files) expect([f, mode(join(dataDir, f))]).toEqual([f, '600']);

  const anvil = childrenOf(child.pid!).filter((pid) => existsSync(`/proc/${pid}/environ`));
  expect(anvil.length).toBeGreaterThan(0);
  for (const pid of anvil) {
    expect(environOf(pid).filter((v) => v.startsWith('PERUN_PASSPHRASE='))).toEqual([]);
  }
});

it('gives a child agent its passphrase on a pipe, not in its environment', async () => {
  const { dataDir, passphrase } = await initAgentDir(root, 'Child');
  const agent = await AgentProcess.start('Child', dataDir, passphrase);
  expect(agent.info.label).toBe('Child');
  expect(environOf(agent.child.pid!).filter((v) => v.startsWith('PERUN_PASSPHRASE='))).toEqual([]);
  expect(await agent.stop()).toBe(0);
});
