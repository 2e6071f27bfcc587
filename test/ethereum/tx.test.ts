// Waiting for receipts by polling: a transaction that is mined only later (automine off, as on
// a real chain) is found once its block exists, confirmations are counted from the head, and a
// wait gives up with null when nothing is mined.
import { Wallet, parseEther } from 'ethers';
import { EmbeddedChain } from '../../src/channels/ethereum/embedded-chain.js';
import { waitForReceipt } from '../../src/channels/ethereum/tx.js';

let chain: EmbeddedChain;

beforeAll(async () => {
  chain = await EmbeddedChain.start();
});
afterAll(() => chain.stop());

it('finds a transaction mined after the wait began, and counts confirmations from the head', async () => {
  const provider = chain.provider();
  await chain.setAutomine(false);
  try {
    const sent = await chain
      .wallet(1)
      .sendTransaction({ to: Wallet.createRandom().address, value: parseEther('1') });
    expect(await waitForReceipt(provider, sent.hash, { timeoutMs: 100 })).toBeNull();

    const mined = waitForReceipt(provider, sent.hash);
    const confirmed = waitForReceipt(provider, sent.hash, { confirmations: 3 });
    let confirmedEarly = false;
    void confirmed.then(() => (confirmedEarly = true));
    await chain.mine(1);
    const receipt = await mined;
    expect(receipt?.status).toBe(1);

    await chain.mine(1);
    expect(await waitForReceipt(provider, sent.hash, { confirmations: 3, timeoutMs: 100 })).toBeNull();
    expect(confirmedEarly).toBe(false);
    await chain.mine(1);
    expect((await confirmed)?.blockNumber).toBe(receipt?.blockNumber);
  } finally {
    await chain.setAutomine(true);
  }
});
