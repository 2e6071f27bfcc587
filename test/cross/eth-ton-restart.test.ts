// An Ethereum–TON channel across a restart: Alice's client closes and a new one starts on her
// store with a fresh backend and ledgers (which learn the channel's TON ID from the restored
// params); she pays again and closes cooperatively, checked on both chains.
import { ETH, TON, openEthTon, type EthTon, useEthTon } from './harness.js';

const chains = useEthTon();
let w: EthTon;
beforeEach(() => {
  w = chains();
});

test('after a restart Alice pays and closes on both chains', async () => {
  const before = await w.person('alice');
  const bob = await w.person('bob');
  const id = await openEthTon(w, before, bob, [ETH, 0n], [0n, 2n * TON]);
  await bob.client.sendPayment(id, TON / 2n, 1);
  await before.client.close();
  const alice = await w.person('alice', { restartOf: before });
  expect(alice.backend.knows(id)).toBe(true);
  await alice.client.sendPayment(id, ETH / 10n, 0);
  expect(await alice.client.settle(id)).toEqual([
    { asset: 0, amount: ETH - ETH / 10n },
    { asset: 1, amount: TON / 2n },
  ]);
  expect(await alice.received()).toEqual({ eth: ETH - ETH / 10n, ton: TON / 2n });
  expect(await bob.client.settlement(id)).toEqual([
    { asset: 0, amount: ETH / 10n },
    { asset: 1, amount: (3n * TON) / 2n },
  ]);
}, 120_000);
