// The embedded chain: anvil started from code on a free loopback port, with funded accounts that
// match eth_accounts, reachable by other JSON-RPC clients, with time travel and snapshots, and
// stopped cleanly (its port is free again).
import { createServer, type Server } from 'node:net';
import { Wallet, parseEther } from 'ethers';
import { EmbeddedChain, EmbeddedChainError } from '../../src/channels/ethereum/embedded-chain.js';
import { waitForReceipt } from '../../src/channels/ethereum/tx.js';

/** A JSON-RPC call over plain fetch, independent of the chain's ethers provider. */
async function rawRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error !== undefined) throw new Error(body.error.message);
  return body.result as T;
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('EmbeddedChain', () => {
  let chain: EmbeddedChain;

  beforeAll(async () => {
    chain = await EmbeddedChain.start();
  });

  afterAll(async () => {
    await chain?.stop();
  });

  it('serves on a free loopback port with the default chain ID', async () => {
    expect(chain.port).toBeGreaterThan(0);
    expect(chain.url).toBe(`http://127.0.0.1:${chain.port}`);
    expect(chain.chainId).toBe(31337n);
    expect((await chain.provider().getNetwork()).chainId).toBe(31337n);
    expect(BigInt(await rawRpc<string>(chain.url, 'eth_chainId'))).toBe(31337n);
    expect(chain.provider()).toBe(chain.provider());
  });

  it('has 10 funded accounts derived from the mnemonic, matching eth_accounts', async () => {
    expect(chain.accounts).toHaveLength(10);
    // Account 0 of anvil's default mnemonic.
    expect(chain.accounts[0]!.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    const reported = await rawRpc<string[]>(chain.url, 'eth_accounts');
    expect(reported.map((a) => a.toLowerCase())).toEqual(chain.accounts.map((a) => a.address.toLowerCase()));
    for (const [i, account] of chain.accounts.entries()) {
      expect(new Wallet(account.privateKey).address).toBe(account.address);
      expect(chain.wallet(i).address).toBe(account.address);
      expect(await chain.provider().getBalance(account.address)).toBe(parseEther('10000'));
    }
    expect(() => chain.wallet(10)).toThrow(RangeError);
  });

  it('answers a separate JSON-RPC client over HTTP', async () => {
    const before = BigInt(await rawRpc<string>(chain.url, 'eth_blockNumber'));
    await chain.mine(3);
    const after = BigInt(await rawRpc<string>(chain.url, 'eth_blockNumber'));
    expect(after).toBe(before + 3n);
    expect(await chain.provider().getBlockNumber()).toBe(Number(after));
  });

  it('moves the latest block timestamp forward by at least the increase', async () => {
    const before = await chain.latestTimestamp();
    const blockBefore = await chain.provider().getBlockNumber();
    await chain.increaseTime(3_600);
    expect(await chain.latestTimestamp()).toBeGreaterThanOrEqual(before + 3_600n);
    expect(await chain.provider().getBlockNumber()).toBe(blockBefore + 1);

    const next = (await chain.latestTimestamp()) + 1_000n;
    await chain.setNextBlockTimestamp(next);
    await chain.mine();
    expect(await chain.latestTimestamp()).toBe(next);
  });

  it('undoes a transfer on revert to a snapshot', async () => {
    const provider = chain.provider();
    const sender = chain.wallet(1);
    const recipient = Wallet.createRandom().address;
    const senderBalance = await provider.getBalance(sender.address);
    const senderNonce = await provider.getTransactionCount(sender.address);

    const id = await chain.snapshot();
    const tx = await sender.sendTransaction({ to: recipient, value: parseEther('1.5') });
    expect((await waitForReceipt(provider, tx.hash))?.status).toBe(1);
    expect(await provider.getBalance(recipient)).toBe(parseEther('1.5'));

    await chain.revert(id);
    expect(await provider.getBalance(recipient)).toBe(0n);
    expect(await provider.getBalance(sender.address)).toBe(senderBalance);
    expect(await provider.getTransactionCount(sender.address)).toBe(senderNonce);
    expect(await provider.getTransaction(tx.hash)).toBeNull();

    // A snapshot is consumed by its revert.
    await expect(chain.revert(id)).rejects.toMatchObject({ code: 'RPC' });
  });

  it('queues transactions while automine is off', async () => {
    const provider = chain.provider();
    const start = await provider.getBlockNumber();
    await chain.setAutomine(false);
    try {
      const tx = await chain.wallet(2).sendTransaction({ to: chain.accounts[3]!.address, value: 1n });
      expect(await provider.getTransactionReceipt(tx.hash)).toBeNull();
      await chain.mine();
      expect((await provider.getTransactionReceipt(tx.hash))?.blockNumber).toBe(start + 1);
    } finally {
      await chain.setAutomine(true);
    }
  });

  it('frees its port on stop, and stop is idempotent', async () => {
    const { port, url } = chain;
    await chain.stop();
    await chain.stop();
    await expect(rawRpc(url, 'eth_blockNumber')).rejects.toThrow();
    const server = await listen(port);
    await close(server);
  });
});

describe('EmbeddedChain options and errors', () => {
  it('uses the given chain ID, account count, balance and mnemonic', async () => {
    const mnemonic = Wallet.createRandom().mnemonic!.phrase;
    const chain = await EmbeddedChain.start({ chainId: 4242, accounts: 3, balanceEth: 7, mnemonic });
    try {
      expect(chain.chainId).toBe(4242n);
      expect(BigInt(await rawRpc<string>(chain.url, 'eth_chainId'))).toBe(4242n);
      expect(chain.accounts).toHaveLength(3);
      expect(chain.accounts[0]!.address).toBe(Wallet.fromPhrase(mnemonic).address);
      expect(await chain.provider().getBalance(chain.accounts[2]!.address)).toBe(parseEther('7'));
    } finally {
      await chain.stop();
    }
  });

  it('fails with EXITED and anvil stderr when the given port is taken', async () => {
    const server = await listen(0);
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const err = await EmbeddedChain.start({ port }).then(
        async (c) => {
          await c.stop();
          throw new Error('started on a taken port');
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EmbeddedChainError);
      expect(err).toBeInstanceOf(Error);
      expect((err as EmbeddedChainError).code).toBe('EXITED');
      expect((err as EmbeddedChainError).message).toMatch(/address already in use/i);
    } finally {
      await close(server);
    }
  });
});
