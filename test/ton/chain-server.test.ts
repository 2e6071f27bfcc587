// The TON chain server and its HTTP client: the chain file `chain --ton` writes, connecting to it
// (another network or no Perun contract at the address is refused), the client reading what the
// sandbox holds (transactions, balances, get-methods, the clock), a refused call reported with
// its exit code, and sendBoc taking only external messages.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Address as TonAddress, beginCell, external, storeMessage } from '@ton/core';
import { ChainError } from '../../src/channels/errors.js';
import { connectTon, parseTonConfig, TonConfigError } from '../../src/channels/ton/config.js';
import { PerunContract } from '../../src/channels/ton/contract.js';
import { HttpTonChain } from '../../src/channels/ton/http-chain.js';
import { startTonChainServer, type TonChainServer } from '../../src/channels/ton/http-server.js';
import { exitCode } from '../../src/channels/ton/exit-codes.js';
import { readTonChainFile, runTonChain } from '../../src/agent/node/ton-chain.js';

const TON = 1_000_000_000n;
let server: TonChainServer;
let chain: HttpTonChain;

beforeAll(async () => {
  server = await startTonChainServer();
  chain = await HttpTonChain.connect(server.url);
}, 30_000);
afterAll(() => server.close());

test('chain --ton writes a chain file agents connect by; another network or no contract is refused', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'ton-chain-')), 'chain.json');
  const running = await runTonChain({ out });
  try {
    const config = readTonChainFile(out)!;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ kind: 'ton', endpoint: running.endpoint });
    const connected = await connectTon(config);
    expect(connected.chainID).toBe(config.chainId);
    await expect(connectTon({ ...config, chainId: config.chainId! + 1n })).rejects.toThrow(TonConfigError);
    const elsewhere = { ...config, perun: new TonAddress(0, randomBytes(32)) };
    await expect(connectTon(elsewhere)).rejects.toThrow(TonConfigError);
    expect(() =>
      parseTonConfig({ kind: 'ton', endpoint: 'ftp://x', perun: config.perun.toString() }),
    ).toThrow(TonConfigError);
  } finally {
    await running.stop();
  }
}, 30_000);

test('the client reads what the sandbox holds: transactions, balances, holdings, the clock', async () => {
  const perun = server.perun;
  const wallet = await chain.devWallet('alice');
  const contract = new PerunContract(chain, perun);
  const channel = `0x${randomBytes(32).toString('hex')}` as const;
  const key = `0x${randomBytes(32).toString('hex')}` as const;
  const from = await chain.headLt(perun);
  await contract.deposit(wallet, channel, key, 2n * TON);
  await contract.deposit(wallet, channel, key, TON);
  const overHttp = await chain.transactions(perun, from);
  const inProcess = await server.chain.transactions(perun, from);
  expect(overHttp.map((t) => [t.lt, t.hash, t.inValue, t.fees])).toEqual(
    inProcess.map((t) => [t.lt, t.hash, t.inValue, t.fees]),
  );
  expect(overHttp).toHaveLength(2);
  expect(await chain.headLt(perun)).toBe(overHttp[1]!.lt + 1n);
  expect(await chain.transactions(perun, overHttp[1]!.lt)).toHaveLength(1);
  expect(await chain.balance(perun)).toBe(await server.chain.balance(perun));
  const { fundingId } = await import('../../src/channels/ton/encoding.js');
  expect(await contract.holdings(fundingId(channel, key))).toBe(3n * TON);
  const before = await chain.now();
  await chain.advance(100);
  expect(await chain.now()).toBeGreaterThanOrEqual(before + 100n);
}, 30_000);

test('a refused call comes back as a ChainError with the exit code; sendBoc takes external messages only', async () => {
  const wallet = await chain.devWallet('bob');
  const contract = new PerunContract(chain, server.perun);
  const balance = await wallet.balance();
  const err = await chain
    .devWallet('bob')
    .then((w) => w.send(server.perun, TON / 10n, beginCell().storeUint(0xdeadbeef, 32).endCell()))
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ChainError);
  expect((err as ChainError).details.exitCode).toBe(exitCode('UNKNOWN_OP'));
  expect(balance - (await wallet.balance())).toBeLessThan(TON / 10n);
  expect((await contract.dispute(`0x${'00'.repeat(32)}`)).registered).toBe(false);
  const ext = external({ to: server.perun, body: beginCell().storeUint(1, 32).endCell() });
  const boc = beginCell().store(storeMessage(ext)).endCell().toBoc().toString('base64');
  await expect(chain.call('POST', '/sendBoc', { boc })).rejects.toThrow(ChainError);
  await expect(chain.call('POST', '/sendBoc', { boc: 'AAAA' })).rejects.toThrow(ChainError);
}, 30_000);
