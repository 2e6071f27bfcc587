// Agent processes on TON: `perun-agent chain --ton` runs the chain server, and the Issuer, Alice
// and Bob run `perun-agent start` on its chain file. The Issuer certifies Alice and Bob on their
// requests (their TON keys proven with Ed25519 address proofs); Alice opens a gated channel to
// Bob, they pay each other and close cooperatively, and each wallet on chain gets its balance
// (less the fees of its own calls); a second channel ends in a dispute. A TON node refuses a
// feature that needs Ethereum with BACKEND_UNSUPPORTED, and Alice restarts with the same key.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address as TonAddress } from '@ton/core';
import { HttpTonChain } from '../../src/channels/ton/http-chain.js';
import {
  AgentProcess,
  cliPath,
  connectAgents,
  initAgentDir,
  stopAllProcesses,
} from '../../src/agent/process/agent-process.js';
import type {
  BalanceView,
  ChannelView,
  CredentialView,
  NodeEventWithId,
  PaymentView,
  SettlementView,
} from '../../src/agent/node/types.js';

jest.setTimeout(180_000);

const TON = 1_000_000_000n;
/** What a wallet may pay in fees for its calls of one close (each call carries 0.05 TON, most of it returned). */
const FEES = TON / 20n;

let root: string;
let server: ChildProcess | undefined;
let chain: HttpTonChain;
let issuer: AgentProcess;
let alice: AgentProcess;
let bob: AgentProcess;

/** Starts `perun-agent chain --ton` and waits for its chain file. */
async function startChainServer(chainFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cliPath(), 'chain', '--ton', '--out', chainFile, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.resume();
  const deadline = Date.now() + 60_000;
  while (!out.includes('"endpoint"') || !existsSync(chainFile)) {
    if (child.exitCode !== null) throw new Error(`chain --ton exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('chain --ton did not start in time');
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

const balanceOf = (p: AgentProcess) => chain.balance(TonAddress.parse(p.info.account!));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-ton-e2e-'));
  const chainFile = join(root, 'chain.json');
  server = await startChainServer(chainFile);
  const file = JSON.parse(readFileSync(chainFile, 'utf8')) as { endpoint: string };
  chain = await HttpTonChain.connect(file.endpoint);
  const issuerDir = await initAgentDir(root, 'Issuer', { chain: chainFile, autoIssueSpendingLimit: '50' });
  issuer = await AgentProcess.start('Issuer', issuerDir.dataDir, issuerDir.passphrase);
  const policy = { chain: chainFile, trustedIssuers: [issuer.info.issuerDid], autoAcceptMaxFund: '20' };
  const dirs = await Promise.all(['Alice', 'Bob'].map((n) => initAgentDir(root, n, policy)));
  const [a, b] = dirs as [(typeof dirs)[0], (typeof dirs)[0]];
  [alice, bob] = await Promise.all([
    AgentProcess.start('Alice', a.dataDir, a.passphrase),
    AgentProcess.start('Bob', b.dataDir, b.passphrase),
  ]);
});

afterAll(async () => {
  await stopAllProcesses();
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

test('the agents run on TON: Ed25519 keys, the TON asset, their wallets funded', async () => {
  for (const p of [alice, bob]) {
    expect(p.info).toMatchObject({ backend: 'ton', signer: 'ed25519', chainId: chain.chainID.toString() });
    expect(p.info.address).toMatch(/^0x[0-9a-f]{64}$/);
    expect(p.info.assets).toEqual([
      { symbol: 'TON', decimals: 9, holder: `0x${'00'.repeat(20)}`, chainId: chain.chainID.toString() },
    ]);
    const balance = await p.api<BalanceView>('GET', '/balance');
    expect(balance).toMatchObject({ address: p.info.address, account: p.info.account, inChannels: '0' });
    expect(BigInt(balance.onChain.split('.')[0]!)).toBeGreaterThan(100n);
  }
  await expect(
    alice.api('POST', '/credential-sales', { connectionId: 'none', claims: '{}', price: '1' }),
  ).rejects.toMatchObject({ status: 409, body: { code: 'BACKEND_UNSUPPORTED' } });
});

test('the Issuer certifies Alice and Bob on their requests, for their TON keys', async () => {
  for (const p of [alice, bob]) {
    const toIssuer = await connectAgents(issuer, p);
    const credential = await p.api<CredentialView>('POST', '/credentials/request', {
      connectionId: toIssuer.id,
      name: p.name,
    });
    expect(credential).toMatchObject({
      issuer: issuer.info.issuerDid,
      subject: p.info.did,
      claims: { backend: 'ton', tonAddress: p.info.address, name: p.name, spendingLimit: '50' },
    });
  }
});

test('Alice opens a gated channel to Bob, they pay both ways and close; the wallets get their balances', async () => {
  const ab = await connectAgents(bob, alice);
  const [aliceStart, bobStart] = await Promise.all([balanceOf(alice), balanceOf(bob)]);
  const opened = bob.event((e) => e.type === 'channel-opened');
  const channel = await alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: '10',
    peerFund: '10',
  });
  expect(channel).toMatchObject({ phase: 'Acting', asset: 'TON', ourBalance: '10', theirBalance: '10' });
  expect(channel.participants).toEqual([alice.info.address, bob.info.address]);
  await opened;

  for (let i = 0; i < 5; i++) {
    await alice.api<PaymentView>('POST', `/channels/${channel.id}/payments`, { amount: '1.5' });
    await bob.api<PaymentView>('POST', `/channels/${channel.id}/payments`, { amount: '0.25' });
  }
  expect(await bob.api<ChannelView>('GET', `/channels/${channel.id}`)).toMatchObject({
    ourBalance: '16.25',
    theirBalance: '3.75',
    version: '10',
  });

  await expect(
    alice.api('POST', `/channels/${channel.id}/sub-channels`, { fund: '1' }),
  ).rejects.toMatchObject({ status: 409, body: { code: 'BACKEND_UNSUPPORTED' } });

  const [aliceBefore, bobBefore] = await Promise.all([balanceOf(alice), balanceOf(bob)]);
  // Each put 10 TON in, plus the fees of its deposit.
  expect(aliceStart - aliceBefore - 10n * TON).toBeLessThan(FEES);
  expect(bobStart - bobBefore - 10n * TON).toBeLessThan(FEES);
  const bobSettled = bob.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled');
  const closed = await alice.api<SettlementView>('POST', `/channels/${channel.id}/close`);
  expect(closed.withdrawn).toEqual([{ asset: 'TON', amount: '3.75', receiver: alice.info.account }]);
  expect((await bobSettled).settlement.withdrawn).toEqual([
    { asset: 'TON', amount: '16.25', receiver: bob.info.account },
  ]);
  for (const [p, before, share] of [
    [alice, aliceBefore, 3_750_000_000n],
    [bob, bobBefore, 16_250_000_000n],
  ] as const) {
    const gained = (await balanceOf(p)) - before;
    expect(gained).toBeLessThanOrEqual(share);
    expect(gained).toBeGreaterThan(share - FEES);
  }
});

test('Bob disputes a second channel; after the challenge duration both withdraw its balances', async () => {
  const [ab] = (await alice.api<{ id: string; theirLabel?: string }[]>('GET', '/connections')).filter(
    (c) => c.theirLabel === 'Bob',
  );
  const channel = await alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab!.id,
    fund: '2',
    peerFund: '1',
    challengeDuration: 3,
  });
  await alice.api<PaymentView>('POST', `/channels/${channel.id}/payments`, { amount: '0.5' });
  const aliceSettled = alice.event<NodeEventWithId & { type: 'settled' }>((e) => e.type === 'settled');
  const disputed = await bob.api<SettlementView>('POST', `/channels/${channel.id}/dispute`);
  expect(disputed.withdrawn).toEqual([{ asset: 'TON', amount: '1.5', receiver: bob.info.account }]);
  expect((await aliceSettled).settlement.withdrawn).toEqual([
    { asset: 'TON', amount: '1.5', receiver: alice.info.account },
  ]);
  expect(await alice.api<ChannelView>('GET', `/channels/${channel.id}`)).toMatchObject({
    phase: 'Withdrawn',
  });
});

test('Alice restarts with the same TON key and wallet, and still lists both channels closed', async () => {
  const { address, account } = alice.info;
  alice = await alice.restart();
  expect(alice.info).toMatchObject({ backend: 'ton', address, account });
  const channels = await alice.api<ChannelView[]>('GET', '/channels');
  expect(channels.map((c) => c.phase)).toEqual(['Withdrawn', 'Withdrawn']);
  const credentials = await alice.api<CredentialView[]>('GET', '/credentials');
  expect(credentials.map((c) => c.claims.tonAddress)).toEqual([address]);
});
