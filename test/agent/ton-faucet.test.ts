// `perun-agent faucet` on a TON chain file: Toncoin from the chain server's development wallet to
// a TON address or to the development wallet of an agent's Ed25519 key; a malformed address or
// amount is refused before anything is sent.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Address as TonAddress } from '@ton/core';
import { runCli, type CliDeps } from '../../src/agent/cli/program.js';
import { EXIT } from '../../src/agent/cli/output.js';
import { devWalletName } from '../../src/agent/node/ton-node.js';
import { tonConfigToJson } from '../../src/channels/ton/config.js';
import { HttpTonChain } from '../../src/channels/ton/http-chain.js';
import { startTonChainServer, type TonChainServer } from '../../src/channels/ton/http-server.js';

const KEY = `0x${'5a'.repeat(32)}`;
let server: TonChainServer;
let cwd: string;

beforeAll(async () => {
  server = await startTonChainServer();
  cwd = mkdtempSync(path.join(tmpdir(), 'ton-faucet-'));
  const config = tonConfigToJson({ kind: 'ton', endpoint: server.url, perun: server.perun });
  writeFileSync(path.join(cwd, 'ton.json'), JSON.stringify(config));
}, 60_000);
afterAll(async () => {
  await server?.close();
});

async function faucet(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const deps: CliDeps = {
    io: {
      out: (t) => (out += t),
      err: (t) => (err += t),
      outIsTTY: false,
      errIsTTY: false,
      promptSecret: undefined,
    },
    env: {},
    cwd,
    interrupt: new AbortController().signal,
    loadNode: () => Promise.reject(new Error('faucet on TON does not load the Ethereum node')),
  };
  const code = await runCli(['faucet', ...args, '--chain', 'ton.json', '--json'], deps);
  return { code, out, err };
}

it('gives the development wallet of an agent key, or a TON address, the amount in TON', async () => {
  const chain = await HttpTonChain.connect(server.url);
  const wallet = (await chain.devWallet(devWalletName(KEY))).address;
  const before = await chain.balance(wallet);
  const r = await faucet(KEY, '2.5');
  expect(r.code).toBe(EXIT.OK);
  const printed = JSON.parse(r.out) as { wallet: string; asset: string; amount: string; balance: string };
  expect(printed).toMatchObject({ asset: 'TON', amount: '2.5' });
  expect(TonAddress.parse(printed.wallet).equals(wallet)).toBe(true);
  const gained = (await chain.balance(wallet)) - before;
  // The receiving wallet pays a little for handling the message.
  expect(gained).toBeLessThanOrEqual(2_500_000_000n);
  expect(gained).toBeGreaterThan(2_490_000_000n);

  const again = await faucet(wallet.toString(), '1');
  expect(again.code).toBe(EXIT.OK);
  expect((await chain.balance(wallet)) - before).toBeGreaterThan(3_480_000_000n);
}, 60_000);

it('refuses what is no TON address or key, an amount finer than a nanoton, and tokens', async () => {
  const notAddress = await faucet('0x' + '11'.repeat(20), '1');
  expect(notAddress.code).not.toBe(EXIT.OK);
  expect(notAddress.err).toContain('not a TON address or Ed25519 key');
  const fine = await faucet(KEY, '0.0000000001');
  expect(fine.code).toBe(EXIT.USAGE);
  const token = await faucet(KEY, '1', '--token', 'PRN');
  expect(token.code).toBe(EXIT.USAGE);
  expect(token.err).toContain('a TON chain has no tokens');
}, 60_000);
