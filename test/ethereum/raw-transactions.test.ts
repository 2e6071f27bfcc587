// The raw path of TxSender (src/channels/ethereum/raw-tx.ts): a wallet's transactions signed with
// the process's secp256k1 engine, hashed here and broadcast as raw bytes. The bytes are the ones
// ethers' Wallet signs; the chain takes them as the wallet's; a call that would revert fails
// before anything is sent, with its reason, and takes no nonce; concurrent sends get consecutive
// nonces; a failed broadcast restarts the nonce sequence, counted from the node once the sends
// still on their way arrived; a chain without a base fee gets a legacy transaction.
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { FeeData, JsonRpcProvider, Transaction, Wallet, ZeroHash, parseEther, type Contract } from 'ethers';
import { ChainError } from '../../src/channels/errors.js';
import { assetHolderContract } from '../../src/channels/ethereum/contracts.js';
import { TxSender } from '../../src/channels/ethereum/tx.js';
import { startWorld, type World } from './harness.js';

let world: World;
let holder: Contract;

beforeAll(async () => {
  world = await startWorld();
  holder = assetHolderContract(world.deployment.assetHolderETH, null);
});
afterAll(() => world.stop());

/** A TxSender on dev account `i` with a provider of its own (spies on it touch nobody else). */
function sender(i: number): { tx: TxSender; wallet: Wallet; provider: JsonRpcProvider } {
  const provider = new JsonRpcProvider(world.chain.url, world.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
  const wallet = new Wallet(world.chain.accounts[i]!.privateKey, provider);
  return { tx: new TxSender(wallet, { receiptTimeoutMs: 10_000 }), wallet, provider };
}

const fundingId = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

/** The raw transactions `provider` broadcast while `fn` ran. */
async function broadcastBy(provider: JsonRpcProvider, fn: () => Promise<unknown>): Promise<string[]> {
  const send = jest.spyOn(provider, 'send');
  try {
    await fn();
    return send.mock.calls
      .filter(([m]) => m === 'eth_sendRawTransaction')
      .map(([, p]) => (p as string[])[0]!);
  } finally {
    send.mockRestore();
  }
}

it('sends the bytes ethers’ Wallet signs, and the chain takes them as the wallet’s', async () => {
  const { tx, wallet, provider } = sender(3);
  expect(tx.raw).toBe(true);
  const amount = parseEther('0.5');
  let receiptFrom = '';
  const [raw] = await broadcastBy(provider, async () => {
    receiptFrom = (await tx.send(holder, 'deposit', [fundingId(1), amount], amount)).from;
  });
  expect(receiptFrom).toBe(wallet.address);
  const unsigned = Transaction.from(raw!);
  expect(unsigned.from).toBe(wallet.address);
  unsigned.signature = null;
  expect(await wallet.signTransaction(unsigned)).toBe(raw);
  expect(await world.ethHolder.getFunction('holdings').staticCall(fundingId(1))).toBe(amount);
  provider.destroy();
});

it('a call that would revert fails with its reason before anything is sent, and takes no nonce', async () => {
  const { tx, wallet, provider } = sender(4);
  const before = await provider.getTransactionCount(wallet.address);
  let err: unknown;
  const sent = await broadcastBy(provider, () =>
    tx.send(holder, 'deposit', [fundingId(2), parseEther('1')], parseEther('0.5')).catch((e: unknown) => {
      err = e;
    }),
  );
  expect(sent).toEqual([]);
  expect(err).toBeInstanceOf(ChainError);
  expect((err as ChainError).details.reason).toBe('wrong amount of ETH for deposit');
  const receipt = await tx.send(holder, 'deposit', [fundingId(2), 1n], 1n);
  expect(receipt.status).toBe(1);
  expect(await provider.getTransactionCount(wallet.address)).toBe(before + 1);
  provider.destroy();
});

it('concurrent sends get consecutive nonces, and every one is mined', async () => {
  const { tx, wallet, provider } = sender(5);
  const before = await provider.getTransactionCount(wallet.address);
  const receipts = await Promise.all(
    Array.from({ length: 8 }, (_, i) => tx.send(holder, 'deposit', [fundingId(100 + i), 1n], 1n)),
  );
  const nonces = await Promise.all(receipts.map(async (r) => (await provider.getTransaction(r.hash))!.nonce));
  expect(nonces.sort((a, b) => a - b)).toEqual(Array.from({ length: 8 }, (_, i) => before + i));
  provider.destroy();
});

it('a broadcast that fails is a ChainError, and the next send takes the nonce it left unused', async () => {
  const { tx, wallet, provider } = sender(6);
  await tx.send(holder, 'deposit', [fundingId(200), 1n], 1n);
  const before = await provider.getTransactionCount(wallet.address);
  const send = provider.send.bind(provider);
  let failed = false;
  jest.spyOn(provider, 'send').mockImplementation(async (method, params) => {
    if (method === 'eth_sendRawTransaction' && !failed) {
      failed = true;
      throw new Error('connection reset');
    }
    return send(method, params);
  });
  await expect(tx.send(holder, 'deposit', [fundingId(201), 1n], 1n)).rejects.toBeInstanceOf(ChainError);
  jest.restoreAllMocks();
  const receipt = await tx.send(holder, 'deposit', [fundingId(202), 1n], 1n);
  expect((await provider.getTransaction(receipt.hash))!.nonce).toBe(before);
  provider.destroy();
});

it('a broadcast that fails while another is on its way: the next send counts from the node only once that one arrived', async () => {
  const { tx, wallet, provider } = sender(7);
  await tx.send(holder, 'deposit', [fundingId(300), 1n], 1n);
  const before = await provider.getTransactionCount(wallet.address);
  const send = provider.send.bind(provider);
  // Alice's broadcast is held on its way, Bob's fails; Carol's send comes after Bob's failure.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let holdingNow!: () => void;
  const aliceHeld = new Promise<void>((r) => (holdingNow = r));
  let broadcasts = 0;
  let holding = false;
  let carolStarted = false;
  let carolCalls = 0;
  const countedWhileHeld: string[] = [];
  jest.spyOn(provider, 'send').mockImplementation(async (method, params) => {
    if (method === 'eth_getTransactionCount' && holding) countedWhileHeld.push(method);
    if (method === 'eth_sendRawTransaction') {
      const n = ++broadcasts;
      if (n === 1) {
        holding = true;
        holdingNow();
        await held;
        holding = false;
      }
      if (n === 2) throw new Error('connection reset');
      return send(method, params);
    }
    if (!carolStarted) return send(method, params);
    // Carol's calls before her nonce: once all answered and a turn has passed, Alice's arrives.
    carolCalls++;
    try {
      return await send(method, params);
    } finally {
      if (--carolCalls === 0) setImmediate(release);
    }
  });
  const alice = tx.send(holder, 'deposit', [fundingId(301), 1n], 1n);
  await aliceHeld;
  const bob = tx.send(holder, 'deposit', [fundingId(302), 1n], 1n);
  await expect(bob).rejects.toBeInstanceOf(ChainError);
  carolStarted = true;
  const carol = tx.send(holder, 'deposit', [fundingId(303), 1n], 1n);
  const receipts = await Promise.all([alice, carol]);
  jest.restoreAllMocks();
  expect(countedWhileHeld).toEqual([]);
  const nonces = await Promise.all(receipts.map(async (r) => (await provider.getTransaction(r.hash))!.nonce));
  expect(nonces.sort((a, b) => a - b)).toEqual([before, before + 1]);
  provider.destroy();
});

it('on a chain whose blocks have no base fee, sends a legacy transaction at the gas price', async () => {
  const { tx, wallet, provider } = sender(7);
  const gasPrice = (await provider.getFeeData()).gasPrice!;
  jest.spyOn(provider, 'getFeeData').mockResolvedValue(new FeeData(gasPrice * 2n, null, null));
  const [raw] = await broadcastBy(provider, () => tx.send(holder, 'deposit', [fundingId(300), 1n], 1n));
  jest.restoreAllMocks();
  const sent = Transaction.from(raw!);
  expect(sent.type).toBe(0);
  expect(sent.gasPrice).toBe(gasPrice * 2n);
  expect(sent.chainId).toBe(world.chainId);
  expect(sent.from).toBe(wallet.address);
  expect(sent.hash).not.toBe(ZeroHash);
  provider.destroy();
});
