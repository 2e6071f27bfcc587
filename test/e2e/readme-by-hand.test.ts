// The shell blocks the README and docs/ tell a user to paste, run as they stand. Every ```sh (or
// bash, shell, console) block carries a marker in the HTML comment before it: `<!-- shell: NAME -->`
// (this test runs it) or `<!-- shell: NAME (not run by the test: WHY) -->`; an unmarked block fails
// the first test, and the blocks left out are listed here with their reasons, so none is left
// out silently. docs/running-by-hand.md's blocks run in order in one bash, as one terminal would
// run them: from the checkout, with HOME a fresh temporary directory (where the blocks make their
// working directory), an environment without PERUN_*, the agents on free ports of 127.0.0.1. After
// each block the test asks the agents (their data directories, the CLI with --json) whether it
// did what the page says. bash runs in a process group of its own, killed at the end whatever
// happened, with every agent, follower and chain the blocks started in the background.
import { jest } from '@jest/globals';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type {
  AgentInfo,
  BalanceView,
  ChannelView,
  CredentialView,
  PaymentView,
} from '../../src/agent/node/types.js';
import { cliPath } from '../../src/agent/process/agent-process.js';

jest.setTimeout(600_000);

// ---- the blocks ------------------------------------------------------------------------------

interface ShellBlock {
  file: string;
  name: string | undefined;
  /** Why the test does not run it; undefined: it runs. */
  notRun: string | undefined;
  code: string;
}

const ROOT = process.cwd();
const MARKER = /^<!-- shell: ([a-z0-9-]+)(?: \(not run by the test: (.+)\))? -->$/;
const FENCE = /^```(sh|bash|shell|console)\s*$/;

/** The shell blocks of one Markdown file, each with the marker on the last non-empty line before it. */
function shellBlocks(file: string): ShellBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i]!)) {
      if (lines[i]!.startsWith('```')) i = lines.indexOf('```', i + 1); // another language's block
      if (i < 0) break;
      continue;
    }
    const end = lines.indexOf('```', i + 1);
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = MARKER.exec(lines[before] ?? '');
    blocks.push({
      file,
      name: marker?.[1],
      notRun: marker?.[2],
      code: lines.slice(i + 1, end).join('\n'),
    });
    i = end;
  }
  return blocks;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? markdownFiles(join(dir, e.name))
      : e.name.endsWith('.md')
        ? [relative(ROOT, join(ROOT, dir, e.name))]
        : [],
  );
}

const allBlocks = ['README.md', 'CONTRIBUTING.md', ...markdownFiles('docs')].flatMap(shellBlocks);
const BY_HAND = 'docs/running-by-hand.md';

test('every shell block of the README and docs/ is marked: run by this test, or left out with a reason', () => {
  expect(allBlocks.length).toBeGreaterThan(8);
  expect(allBlocks.filter((b) => b.name === undefined).map((b) => `${b.file}: ${b.code}`)).toEqual([]);
  const names = allBlocks.map((b) => `${b.file}#${b.name}`);
  expect(new Set(names).size).toBe(names.length);
});

test('the blocks left out, and why (a block added to this list is a decision, not an accident)', () => {
  const left = allBlocks.filter((b) => b.notRun !== undefined).map((b) => `${b.file}#${b.name}`);
  expect(left.sort()).toEqual(
    [
      'README.md#mediation', // test/e2e/mediation.test.ts runs a mediator and a recipient
      'docs/agent.md#scoped-tokens', // running-by-hand's scoped-tokens block runs these commands
      'docs/cross-chain.md#agents-on-two-chains', // placeholders; test/e2e/cross-chain-agents.test.ts runs these steps
      'README.md#quick-start', // npm ci replaces node_modules; the demo and the suite are tests themselves
      'README.md#browser-suite', // installs a system package as root
      'README.md#postgres-suite', // installs a system package as root
      'docs/running-by-hand.md#build', // npm test builds before this test runs
      'docs/security.md#rotate-token', // restarts an agent of the reader's own
      'docs/testing.md#one-file', // runs jest inside jest
      'docs/testing.md#browser-suite', // installs a system package as root
      'docs/testing.md#postgres-suite', // installs a system package as root
    ].sort(),
  );
  for (const b of allBlocks.filter((x) => x.notRun !== undefined))
    expect(b.notRun!.length).toBeGreaterThan(10);
});

// ---- one bash, fed block by block ---------------------------------------------------------------

/**
 * bash reading its script from a FIFO that the test writes one block at a time, so that the test
 * can look at the agents between blocks, and no command's stdin is the script. After each block
 * bash prints a line the test waits for; `set -e` ends it at the first command that fails.
 */
class Shell {
  readonly #child: ChildProcess;
  readonly #script: WriteStream;
  #stdout = '';
  #stderr = '';
  #exit: number | null | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(dir: string, env: NodeJS.ProcessEnv) {
    const fifo = join(dir, 'script.fifo');
    const made = spawnSync('mkfifo', [fifo]);
    if (made.status !== 0) throw new Error(`mkfifo: ${made.stderr.toString()}`);
    this.#child = spawn('bash', [fifo], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child
      .stdout!.setEncoding('utf8')
      .on('data', (d: string) => this.#changed(() => (this.#stdout += d)));
    this.#child
      .stderr!.setEncoding('utf8')
      .on('data', (d: string) => this.#changed(() => (this.#stderr += d)));
    this.#child.once('exit', (code) => this.#changed(() => (this.#exit = code)));
    this.#script = createWriteStream(fifo);
    // A FIFO bash never opened (killed first) fails to open: what a block then reports, not a crash.
    this.#script.on('error', (err) =>
      this.#changed(() => (this.#stderr += `\n[the script: ${err.message}]`)),
    );
    // Aliases expand in an interactive shell, where the blocks are pasted; bash running a script
    // expands them only when told.
    this.#script.write('set -eo pipefail\nshopt -s expand_aliases\n');
  }

  #changed(update: () => unknown): void {
    update();
    for (const w of this.#waiters) w();
  }

  /** Runs `code`; its stdout once bash has run it all, else rejects with what bash printed. */
  run(name: string, code: string, timeoutMs = 240_000): Promise<string> {
    const from = this.#stdout.length;
    const done = `@@done ${name}@@`;
    this.#script.write(`${code}\nprintf '\\n%s\\n' '${done}'\n`);
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      const failed = (why: string) =>
        new Error(
          `block ${name} ${why}\n--- stdout\n${this.#stdout.slice(from)}\n--- stderr\n${this.#stderr}`,
        );
      const check = () => {
        const at = this.#stdout.indexOf(done, from);
        if (at >= 0) finish(() => resolve(this.#stdout.slice(from, at)));
        else if (this.#exit !== undefined) finish(() => reject(failed(`ended bash with ${this.#exit}`)));
      };
      const timer = setTimeout(() => finish(() => reject(failed(`took over ${timeoutMs} ms`))), timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** Closes the script: bash ends after the last block; its exit code. */
  end(timeoutMs = 30_000): Promise<number | null> {
    this.#script.end();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bash did not end')), timeoutMs);
      const check = () => {
        if (this.#exit === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.#exit);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Whether any process of bash's group (bash, or what it started in the background) is alive. */
  groupAlive(): boolean {
    try {
      process.kill(-this.#child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL to the whole group: bash and everything the blocks started. */
  kill(): void {
    this.#script.destroy();
    if (this.groupAlive()) process.kill(-this.#child.pid!, 'SIGKILL');
  }
}

// ---- asking the agents -----------------------------------------------------------------------

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERUN_')));

let home: string;
let work: string; // ~/perun-by-hand, where the blocks put everything
let shell: Shell | undefined;

/** `perun-agent <args> --json --data-dir <work>/<agent>`, parsed. */
function ask<T>(agent: string, ...args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cliPath(), ...args, '--json', '--data-dir', join(work, agent)],
      { env: baseEnv },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as T),
    );
  });
}

const block = (name: string): string => {
  const b = allBlocks.find((x) => x.file === BY_HAND && x.name === name);
  if (b === undefined || b.notRun !== undefined) throw new Error(`no block ${name} to run in ${BY_HAND}`);
  return b.code;
};
const runBlock = (name: string) => shell!.run(name, block(name));

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'perun-by-hand-'));
  work = join(home, 'perun-by-hand');
});

afterAll(() => {
  shell?.kill();
  rmSync(home, { recursive: true, force: true });
});

describe(`${BY_HAND}, block by block`, () => {
  // Only when a block runs (not under a -t that picks none of them): the script's FIFO is opened
  // for writing once bash opens it to read.
  beforeAll(() => {
    shell = new Shell(home, { ...baseEnv, HOME: home });
  });

  test('the blocks it runs are these, in this order', () => {
    const run = allBlocks.filter((b) => b.file === BY_HAND && b.notRun === undefined).map((b) => b.name);
    expect(run).toEqual([
      'setup',
      'agents',
      'credentials',
      'channel',
      'close',
      'virtual',
      'tokens',
      'scoped-tokens',
      'stop',
    ]);
  });

  let issuer: AgentInfo;
  let alice: AgentInfo;
  let bob: AgentInfo;

  test('setup, agents: a chain, the Issuer, Alice and Bob running, funded, trusting the Issuer', async () => {
    await runBlock('setup');
    const out = await runBlock('agents');
    [issuer, alice, bob] = await Promise.all([
      ask<AgentInfo>('issuer', 'info'),
      ask<AgentInfo>('alice', 'info'),
      ask<AgentInfo>('bob', 'info'),
    ]);
    expect(alice).toMatchObject({ label: 'alice', trustedIssuers: [issuer.issuerDid] });
    expect(bob).toMatchObject({ label: 'bob', trustedIssuers: [issuer.issuerDid] });
    expect(out).toContain(`gave ${alice.address} 20 ETH`);
    expect(out).toContain(`gave ${bob.address} 20 ETH`);
  });

  test('credentials: Alice asked for hers, the Issuer issued Bob his', async () => {
    await runBlock('credentials');
    const [a, b] = await Promise.all([
      ask<CredentialView[]>('alice', 'credentials'),
      ask<CredentialView[]>('bob', 'credentials'),
    ]);
    expect(a.map((c) => [c.issuer, c.subject, c.claims])).toEqual([
      [issuer.issuerDid, alice.did, { ethereumAddress: alice.address, name: 'Alice', spendingLimit: '10' }],
    ]);
    expect(b.map((c) => [c.issuer, c.subject, c.claims])).toEqual([
      [issuer.issuerDid, bob.did, { ethereumAddress: bob.address, name: 'Bob', spendingLimit: '5' }],
    ]);
  });

  test('channel: Bob received 0.25 ETH and the message; his events file shows both', async () => {
    const out = await runBlock('channel');
    expect(out).toMatch(/paid 0\.25 ETH in channel 0x[0-9a-f]{64}/);
    expect(out).toMatch(/#token=/);
    const payments = await ask<PaymentView[]>('bob', 'payments');
    expect(payments.map((p) => [p.direction, p.amount, p.asset])).toEqual([['received', '0.25', 'ETH']]);
    const events = readFileSync(join(work, 'bob-events.log'), 'utf8');
    expect(events).toContain('received 0.25 ETH');
    expect(events).toContain('thanks for the coffee');
  });

  test('close: the sub-channel closed back into the channel, the channel settled on chain', async () => {
    const out = await runBlock('close');
    expect(out).toContain('withdrew');
    const channels = await ask<ChannelView[]>('bob', 'channels');
    expect(channels.map((c) => [c.parentId === undefined ? 'ledger' : 'sub', c.status])).toEqual(
      expect.arrayContaining([
        ['ledger', 'closed'],
        ['sub', 'closed'],
      ]),
    );
    const ledger = channels.find((c) => c.parentId === undefined)!;
    // 0.25 in the channel, 0.1 in the sub-channel that went back into it.
    expect([ledger.ourBalance, ledger.theirBalance]).toEqual(['0.35', '1.65']);
    const balance = await ask<BalanceView>('alice', 'balance');
    expect(balance.channels).toBe(0);
  });

  test('virtual: Alice paid Bob 0.3 ETH through Ingrid; both ledger channels hold the result', async () => {
    await runBlock('virtual');
    const ingrid = await ask<ChannelView[]>('ingrid', 'channels');
    const ledgers = ingrid
      .filter((c) => !c.virtual && c.status === 'open')
      .map((c) => [c.peerLabel, c.ourBalance, c.theirBalance]);
    expect(ledgers.sort()).toEqual([
      ['alice', '0.3', '1.7'],
      ['bob', '1.7', '1.3'],
    ]);
  });

  test('tokens: a PRN channel and a payment of 2.5 PRN', async () => {
    await runBlock('tokens');
    const channels = await ask<ChannelView[]>('bob', 'channels');
    expect(channels.filter((c) => c.asset === 'PRN').map((c) => [c.status, c.ourBalance])).toEqual([
      ['open', '2.5'],
    ]);
  });

  test('scoped-tokens: a read-only token reads and cannot pay; revoked, it cannot read', async () => {
    const out = await runBlock('scoped-tokens');
    expect(out).toContain('refused: the token only reads');
    expect(out).toContain('refused: the token was revoked');
    expect(out).toMatch(/revoked tok_/);
    const channels = await ask<ChannelView[]>('bob', 'channels');
    // The refused payment of 1 PRN never happened.
    expect(channels.filter((c) => c.asset === 'PRN').map((c) => c.ourBalance)).toEqual(['2.5']);
  });

  test('stop: every agent, the follower and the chain end on SIGTERM; bash ends with 0', async () => {
    await runBlock('stop');
    expect(await shell!.end()).toBe(0);
    expect(shell!.groupAlive()).toBe(false);
    for (const who of ['issuer', 'alice', 'bob', 'ingrid'])
      expect(readFileSync(join(work, `${who}.log`), 'utf8')).toContain('stopping…');
  });
});
