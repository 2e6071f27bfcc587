// The perun-agent CLI end to end, every step a spawned `perun-agent` process talking to agents that
// run as processes of their own (an Issuer, Alice and Bob on a shared embedded chain). The CLI
// finds the Issuer through its data directory, Alice through --api-url/--token and Bob through
// PERUN_API_URL/PERUN_API_TOKEN. The story: info; the Issuer invites Alice and certifies her,
// Bob asks the Issuer for his credential (answered automatically); Bob invites Alice, Alice opens
// a gated channel, they pay each other, Alice sends Bob a message, Bob's `events --json` running
// in the background sees the channel open, the payments, the message and the settlement; payments,
// balance, a cooperative close with progress on stderr, and the channel Withdrawn on both sides.
// Then the exit codes: unknown channel 6, invalid amount 2 (no request sent), wrong token 7,
// nothing listening 3, and --help 0.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseEther } from 'ethers';
import { faucet, runChain, type RunningChain } from '../../src/agent/node/chain.js';
import type {
  AgentInfo,
  BalanceView,
  ChannelView,
  ConnectionView,
  CredentialView,
  InvitationView,
  MessageView,
  NodeEventWithId,
  PaymentView,
  SettlementView,
} from '../../src/agent/node/types.js';
import {
  AgentProcess,
  cliPath,
  initAgentDir,
  stopAllProcesses,
} from '../../src/agent/process/agent-process.js';
import { parseEthereumConfig } from '../../src/channels/ethereum/config.js';

jest.setTimeout(60_000);

// ---- spawning the CLI ------------------------------------------------------------------------

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
/** The outer environment without PERUN_*, which would otherwise steer the CLI. */
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERUN_')));

function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [cliPath(), ...args], {
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('close', () => children.delete(child));
  return child;
}

/** Runs the CLI to its end; killed (and the promise rejected) after `timeoutMs`. */
function run(
  args: string[],
  o: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const child = spawnCli(args, o.env);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`perun-agent ${args.join(' ')}: no exit within ${timeoutMs} ms\n${stdout}\n${stderr}`),
      );
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** How the CLI finds an agent: flags appended to every command line, and environment. */
interface Target {
  args: string[];
  env: Record<string, string>;
}

const cli = (who: Target, ...args: string[]) => run([...args, ...who.args], { env: who.env });

/** A command with --json that must succeed: its parsed stdout. */
async function cliJson<T>(who: Target, ...args: string[]): Promise<T> {
  const r = await cli(who, ...args, '--json');
  if (r.code !== 0) {
    throw new Error(`perun-agent ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}

/** `events --json` in the background: the events it printed, and waiting for one. */
class EventsFollower {
  readonly events: NodeEventWithId[] = [];
  readonly child: ChildProcess;
  #stderr = '';
  #waiters = new Set<() => void>();

  constructor(who: Target, ...args: string[]) {
    this.child = spawnCli(['events', '--json', ...args, ...who.args], who.env);
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#stderr += d));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as NodeEventWithId);
      for (const w of this.#waiters) w();
    });
    this.child.once('close', () => {
      for (const w of this.#waiters) w();
    });
  }

  /** The first event printed (so far or later) that matches; rejects after `timeoutMs`. */
  waitFor<T extends NodeEventWithId = NodeEventWithId>(
    match: (e: NodeEventWithId) => boolean,
    timeoutMs = 20_000,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(match);
        if (found !== undefined) return finish(() => resolve(found as T));
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          finish(() => reject(new Error(`events exited (${this.child.exitCode}): ${this.#stderr}`)));
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(`no matching event within ${timeoutMs} ms; got ${this.events.map((e) => e.type)}`),
            ),
          ),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** SIGTERM (what Ctrl-C does), then the exit code; SIGKILL if it does not end in 10 s. */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.resolve(this.child.exitCode);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      this.child.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      this.child.kill('SIGTERM');
    });
  }

  get stderr(): string {
    return this.#stderr;
  }
}

/** A port on 127.0.0.1 that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

// ---- the agents ------------------------------------------------------------------------------

let root: string;
let chain: RunningChain;
let issuer: AgentProcess;
let alice: AgentProcess;
let bob: AgentProcess;
let viaIssuer: Target;
let viaAlice: Target;
let viaBob: Target;
let bobsEvents: EventsFollower | undefined;
let counting: Server | undefined;

// Filled in as the story goes.
let aliceToBob: ConnectionView; // Alice's side of her connection with Bob
let channel: ChannelView; // as Alice opened it

const SPENDING_LIMIT_ON_REQUEST = '15';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-cli-'));
  const chainFile = join(root, 'chain.json');
  chain = await runChain({ out: chainFile });
  const issuerDir = await initAgentDir(root, 'Issuer', {
    chain: chainFile,
    autoIssueSpendingLimit: SPENDING_LIMIT_ON_REQUEST,
  });
  issuer = await AgentProcess.start('Issuer', issuerDir.dataDir, issuerDir.passphrase);
  const policy = { chain: chainFile, trustedIssuers: [issuer.info.issuerDid], autoAcceptMaxFund: '3' };
  const [a, b] = await Promise.all([initAgentDir(root, 'Alice', policy), initAgentDir(root, 'Bob', policy)]);
  const config = parseEthereumConfig(chain.config);
  for (const x of [a!, b!]) await faucet({ chain: config, address: x.address, amount: parseEther('20') });
  [alice, bob] = await Promise.all([
    AgentProcess.start('Alice', a!.dataDir, a!.passphrase),
    AgentProcess.start('Bob', b!.dataDir, b!.passphrase),
  ]);
  viaIssuer = { args: ['--data-dir', issuerDir.dataDir], env: {} };
  viaAlice = { args: ['--api-url', alice.apiUrl, '--token', alice.token], env: {} };
  viaBob = { args: [], env: { PERUN_API_URL: bob.apiUrl, PERUN_API_TOKEN: bob.token } };
});

afterAll(async () => {
  await bobsEvents?.stop();
  for (const child of children) child.kill('SIGKILL');
  await new Promise<void>((r) => (counting === undefined ? r() : counting.close(() => r())));
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

// ---- the story -------------------------------------------------------------------------------

test('info --json finds each agent: by data directory, by --api-url/--token, by PERUN_API_*', async () => {
  const [i, a, b] = await Promise.all([
    cliJson<AgentInfo>(viaIssuer, 'info'),
    cliJson<AgentInfo>(viaAlice, 'info'),
    cliJson<AgentInfo>(viaBob, 'info'),
  ]);
  expect(i).toEqual(issuer.info);
  expect(a).toEqual(alice.info);
  expect(b).toEqual(bob.info);
  expect(a).toMatchObject({ label: 'Alice', trustedIssuers: [issuer.info.issuerDid] });
});

test('the Issuer invites Alice, she accepts, and the Issuer issues her credential by connection prefix', async () => {
  const invitation = await cliJson<InvitationView>(viaIssuer, 'invite');
  expect(invitation.url).toMatch(/^http:\/\/.*[?&]oob=/);

  const accepted = await cli(viaAlice, 'accept-invitation', invitation.url, '--json');
  expect(accepted).toMatchObject({ code: 0, stderr: expect.stringContaining('connecting') });
  const toIssuer = JSON.parse(accepted.stdout) as ConnectionView;
  expect(toIssuer).toMatchObject({ ready: true, theirLabel: 'Issuer' });

  const [toAlice] = await cliJson<ConnectionView[]>(viaIssuer, 'connections');
  // Pairwise DIDs: the Issuer's side names Alice by her DID on this connection, not her identity DID.
  expect(toAlice).toMatchObject({ ready: true, theirDid: toIssuer.ourDid, theirLabel: 'Alice' });
  expect(toAlice!.theirDid).not.toBe(alice.info.did);
  const issued = await cli(
    viaIssuer,
    'issue-credential',
    toAlice!.id.slice(0, 8),
    '--name',
    'Alice',
    '--spending-limit',
    '5',
    '--json',
  );
  expect(issued).toMatchObject({ code: 0, stderr: expect.stringContaining('issuing') });
  expect((JSON.parse(issued.stdout) as CredentialView).claims).toEqual({
    ethereumAddress: alice.info.address,
    name: 'Alice',
    spendingLimit: '5',
  });
});

test('Bob connects to the Issuer and asks for his credential; the Issuer answers with its limit', async () => {
  const invitation = await cliJson<InvitationView>(viaIssuer, 'invite');
  const toIssuer = await cliJson<ConnectionView>(viaBob, 'accept-invitation', invitation.url);
  expect(toIssuer).toMatchObject({ ready: true, theirLabel: 'Issuer' });

  const asked = await cli(viaBob, 'request-credential', toIssuer.id.slice(0, 8), '--name', 'Bob', '--json');
  expect(asked).toMatchObject({ code: 0, stderr: expect.stringContaining('waiting for the issuer') });
  expect(JSON.parse(asked.stdout)).toMatchObject({
    issuer: issuer.info.issuerDid,
    subject: bob.info.did,
    claims: { ethereumAddress: bob.info.address, name: 'Bob', spendingLimit: SPENDING_LIMIT_ON_REQUEST },
  });
});

test('credentials --json lists what each holds', async () => {
  const [a, b] = await Promise.all([
    cliJson<CredentialView[]>(viaAlice, 'credentials'),
    cliJson<CredentialView[]>(viaBob, 'credentials'),
  ]);
  expect(a).toEqual([
    expect.objectContaining({
      issuer: issuer.info.issuerDid,
      subject: alice.info.did,
      claims: { ethereumAddress: alice.info.address, name: 'Alice', spendingLimit: '5' },
    }),
  ]);
  expect(b.map((c) => c.claims)).toEqual([
    { ethereumAddress: bob.info.address, name: 'Bob', spendingLimit: SPENDING_LIMIT_ON_REQUEST },
  ]);
});

test('Bob invites Alice; his `events --json` in the background sees Alice open a gated channel', async () => {
  // --since 0 replays Bob's earlier events: the first line shows the stream is live.
  bobsEvents = new EventsFollower(viaBob, '--since', '0');
  await bobsEvents.waitFor(() => true);

  const invitation = await cliJson<InvitationView>(viaBob, 'invite');
  aliceToBob = await cliJson<ConnectionView>(viaAlice, 'accept-invitation', invitation.url);
  expect(aliceToBob).toMatchObject({ ready: true, theirLabel: 'Bob' });
  expect(aliceToBob.theirDid).not.toBe(bob.info.did);

  const opened = await cli(
    viaAlice,
    'open',
    aliceToBob.id.slice(0, 8),
    '--fund',
    '2',
    '--peer-fund',
    '1',
    '--json',
  );
  expect(opened).toMatchObject({ code: 0, stderr: expect.stringContaining('proposing the channel') });
  channel = JSON.parse(opened.stdout) as ChannelView;
  expect(channel).toMatchObject({
    idx: 0,
    phase: 'Acting',
    version: '0',
    ourBalance: '2',
    theirBalance: '1',
    peerDid: bob.info.did,
    participants: [alice.info.address, bob.info.address],
  });
  const seen = await bobsEvents.waitFor<NodeEventWithId & { type: 'channel-opened' }>(
    (e) => e.type === 'channel-opened' && e.channel.id === channel.id,
  );
  expect(seen.channel).toMatchObject({ idx: 1, ourBalance: '1', theirBalance: '2' });
});

test('they pay 0.25 each way by channel prefix; Bob’s event stream prints the payment he received', async () => {
  const prefix = channel.id.slice(0, 12);
  const paid = await cliJson<PaymentView>(viaAlice, 'pay', prefix, '0.25');
  expect(paid).toMatchObject({
    channelId: channel.id,
    version: '1',
    amount: '0.25',
    direction: 'sent',
    ourBalance: '1.75',
    theirBalance: '1.25',
  });
  const received = await bobsEvents!.waitFor<NodeEventWithId & { type: 'payment-received' }>(
    (e) => e.type === 'payment-received' && e.payment.channelId === channel.id && e.payment.version === '1',
  );
  expect(received.payment).toMatchObject({ amount: '0.25', ourBalance: '1.25', theirBalance: '1.75' });

  const back = await cli(viaBob, 'pay', prefix, '0.25');
  expect(back).toMatchObject({ code: 0, stderr: '' });
  expect(back.stdout).toBe(`paid 0.25 ETH in channel ${channel.id} (version 2): ours 1 ETH, theirs 2 ETH\n`);
  // And once more by the full ID, so that the balances move off the opening ones.
  expect(await cliJson<PaymentView>(viaAlice, 'pay', channel.id, '0.4')).toMatchObject({
    version: '3',
    ourBalance: '1.6',
    theirBalance: '1.4',
  });
});

test('channels --json shows the same balances from both sides', async () => {
  await bobsEvents!.waitFor((e) => e.type === 'payment-received' && e.payment.version === '3');
  const [[a], [b]] = await Promise.all([
    cliJson<ChannelView[]>(viaAlice, 'channels'),
    cliJson<ChannelView[]>(viaBob, 'channels'),
  ]);
  expect(a).toMatchObject({
    id: channel.id,
    phase: 'Acting',
    status: 'open',
    version: '3',
    ourBalance: '1.6',
    theirBalance: '1.4',
  });
  expect(b).toMatchObject({
    id: channel.id,
    phase: 'Acting',
    version: '3',
    ourBalance: '1.4',
    theirBalance: '1.6',
  });
});

test('paying more than the channel holds says how much is there, in ETH, with wei in the details', async () => {
  const r = await cli(viaAlice, 'pay', channel.id.slice(0, 12), '5');
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(
    `insufficient balance in channel ${channel.id.slice(0, 10)}…: 1.6 ETH available, 5 ETH asked`,
  );
  const json = await cli(viaAlice, 'pay', channel.id.slice(0, 12), '5', '--json');
  expect(JSON.parse(json.stdout)).toMatchObject({
    category: 'client',
    code: 'INSUFFICIENT_BALANCE',
    details: {
      channelId: channel.id,
      asset: 'ETH',
      available: '1.6',
      asked: '5',
      availableBaseUnits: '1600000000000000000',
      askedBaseUnits: '5000000000000000000',
    },
  });
  const [c] = await cliJson<ChannelView[]>(viaAlice, 'channels');
  expect(c).toMatchObject({ version: '3', ourBalance: '1.6' });
});

test('Alice sends Bob a message; it is in Bob’s messages', async () => {
  const sent = await cliJson<MessageView>(viaAlice, 'message', aliceToBob.id.slice(0, 8), 'hello', 'Bob');
  expect(sent).toMatchObject({ direction: 'sent', content: 'hello Bob', connectionId: aliceToBob.id });
  await bobsEvents!.waitFor((e) => e.type === 'message-received' && e.message.content === 'hello Bob');
  const messages = await cliJson<MessageView[]>(viaBob, 'messages');
  expect(messages).toEqual([expect.objectContaining({ direction: 'received', content: 'hello Bob' })]);
});

test('payments --json and balance --json', async () => {
  const payments = await cliJson<PaymentView[]>(viaAlice, 'payments');
  expect(payments.map((p) => [p.version, p.direction, p.amount])).toEqual([
    ['1', 'sent', '0.25'],
    ['2', 'received', '0.25'],
    ['3', 'sent', '0.4'],
  ]);
  const bobs = await cliJson<PaymentView[]>(viaBob, 'payments', '--channel', channel.id.slice(0, 12));
  expect(bobs.map((p) => p.direction)).toEqual(['received', 'sent', 'received']);

  const balance = await cliJson<BalanceView>(viaAlice, 'balance');
  expect(balance).toMatchObject({ address: alice.info.address, inChannels: '1.6', channels: 1 });
  // 20 ETH from the faucet, 2 into the channel, and gas.
  expect(parseEther(balance.onChain)).toBeLessThan(parseEther('18'));
  expect(parseEther(balance.onChain)).toBeGreaterThan(parseEther('17.9'));
});

test('close prints its progress on stderr, settles both sides and leaves the channel Withdrawn', async () => {
  const closed = await cli(viaAlice, 'close', channel.id.slice(0, 12), '--json');
  expect(closed.code).toBe(0);
  expect(closed.stderr).toContain('closing: waiting for the peer and the chain');
  // The phase changes it saw on Alice's event stream while the close ran, e.g. "Final → Withdrawing".
  expect(closed.stderr).toMatch(new RegExp(`^channel ${channel.id}: \\w+ → \\w+$`, 'm'));
  expect(JSON.parse(closed.stdout) as SettlementView).toEqual({
    channelId: channel.id,
    alreadySettled: false,
    withdrawn: [{ asset: 'ETH', amount: '1.6', receiver: alice.info.address }],
  });
  const bobSettled = await bobsEvents!.waitFor<NodeEventWithId & { type: 'settled' }>(
    (e) => e.type === 'settled' && e.settlement.channelId === channel.id,
  );
  expect(bobSettled.settlement.withdrawn).toEqual([
    { asset: 'ETH', amount: '1.4', receiver: bob.info.address },
  ]);

  for (const who of [viaAlice, viaBob]) {
    const [c] = await cliJson<ChannelView[]>(who, 'channels');
    expect(c).toMatchObject({ id: channel.id, phase: 'Withdrawn', status: 'closed', isFinal: true });
  }
  expect(await cliJson<BalanceView>(viaAlice, 'balance')).toMatchObject({ inChannels: '0', channels: 0 });

  // A second close moves nothing and says so.
  const again = await cli(viaAlice, 'close', channel.id.slice(0, 12));
  expect(again.code).toBe(0);
  expect(again.stdout).toBe(
    `channel ${channel.id} was already settled; nothing was withdrawn now (the settlement paid 1.6 ETH to ${alice.info.address})\n`,
  );

  // Ctrl-C ends `events` cleanly.
  expect(await bobsEvents!.stop()).toBe(0);
  expect(bobsEvents!.events.map((e) => e.type)).toEqual(
    expect.arrayContaining([
      'channel-opened',
      'payment-received',
      'payment-sent',
      'message-received',
      'settled',
    ]),
  );
});

// ---- exit codes ------------------------------------------------------------------------------

test('an unknown channel exits 6', async () => {
  const r = await cli(viaAlice, 'pay', 'no-such-channel', '0.1', '--json');
  expect(r.code).toBe(6);
  expect(JSON.parse(r.stdout)).toMatchObject({ category: 'client', code: 'UNKNOWN_CHANNEL' });
  expect(r.stderr).toContain('no channel "no-such-channel"');
});

test('an invalid amount exits 2 before any request is sent', async () => {
  let requests = 0;
  counting = createServer((_, res) => {
    requests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => counting!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(counting.address() as AddressInfo).port}`;
  for (const amount of ['1.2.3', '-1', 'lots']) {
    const r = await run(['pay', channel.id, amount, '--api-url', url, '--token', 'x']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('INVALID_AMOUNT') });
  }
  expect(requests).toBe(0);
});

test('a wrong token exits 7', async () => {
  const r = await run(['info', '--api-url', alice.apiUrl, '--token', 'not-the-token']);
  expect(r.code).toBe(7);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^error: .*\(client /);
  const viaEnv = await run(['channels', '--json'], {
    env: { PERUN_API_URL: bob.apiUrl, PERUN_API_TOKEN: alice.token },
  });
  expect(viaEnv.code).toBe(7);
});

test('nothing listening exits 3', async () => {
  const port = await closedPort();
  const r = await run(['info', '--api-url', `http://127.0.0.1:${port}`, '--token', alice.token, '--json']);
  expect(r.code).toBe(3);
  expect(JSON.parse(r.stdout)).toMatchObject({ category: 'transport', code: 'AGENT_UNREACHABLE' });
  expect(r.stderr).toContain(`cannot reach the agent at http://127.0.0.1:${port}`);
});

test('--help exits 0 and prints the usage', async () => {
  const cases: [string[], string][] = [
    [['--help'], 'Usage: perun-agent [options] [command]'],
    [['pay', '--help'], 'Usage: perun-agent pay [options] <channel> <amount>'],
    [['open', '--help'], 'Usage: perun-agent open [options] <connection>'],
    [['events', '--help'], 'Usage: perun-agent events [options]'],
  ];
  const results = await Promise.all(cases.map(([args]) => run(args)));
  for (const [i, r] of results.entries()) {
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(cases[i]![1]);
    expect(r.stdout).toContain('Exit codes:');
  }
});
