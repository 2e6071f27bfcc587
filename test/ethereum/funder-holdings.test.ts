// The funder reads an asset holder's holdings with one eth_call whose calldata and result it codes
// itself: what it reads is what the contract's holdings() returns, at the latest block or at the
// block its confirmation depth names; an "asset holder" without a contract behind it gives no
// holdings, and the deposit or the funding check fails with a ChainError, nothing sent.
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { Wallet, parseEther } from 'ethers';
import { ChainError } from '../../src/channels/errors.js';
import { fundingId, type Params, type State } from '../../src/channels/ethereum/encoding.js';
import { ethChannel, startWorld, type Party, type World } from './harness.js';

let world: World;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());

/** A channel Alice funds alone (1 ETH), with her funder. */
function aliceAlone(): { alice: Party; params: Params; init: State } {
  const alice = world.party(1, 'Alice');
  return { alice, ...ethChannel(world, alice, world.party(2, 'Bob'), [parseEther('1'), 0n]) };
}

it('reads what holdings() returns, and tops a deposit up only by what is missing', async () => {
  const { alice, params, init } = aliceAlone();
  const id = fundingId(init.channelID, params.participants[0]!.ethAddress);
  const holdings = world.ethHolder.getFunction('holdings');
  await world.ethHolder.connect(world.chain.wallet(3)).getFunction('deposit')(id, parseEther('0.25'), {
    value: parseEther('0.25'),
  });
  expect(await alice.funder.missingDeposits({ params, state: init, idx: 0 })).toEqual([
    { participant: 0, asset: 0, required: parseEther('1'), held: parseEther('0.25') },
  ]);
  await alice.funder.deposit({ params, state: init, idx: 0 });
  expect(await holdings.staticCall(id)).toBe(parseEther('1'));
  expect(await alice.funder.missingDeposits({ params, state: init, idx: 0 })).toEqual([]);
});

it('an asset holder without a contract gives no holdings: a ChainError, nothing sent', async () => {
  const { alice, params, init } = aliceAlone();
  const nowhere = Wallet.createRandom().address;
  const state = {
    ...init,
    outcome: { ...init.outcome, assets: [{ ...init.outcome.assets[0]!, ethHolder: nowhere }] },
  };
  const send = jest.spyOn(alice.tx, 'send');
  const deposit = await alice.funder.deposit({ params, state, idx: 0 }).catch((e: unknown) => e);
  expect(deposit).toBeInstanceOf(ChainError);
  expect(send).not.toHaveBeenCalled();
  send.mockRestore();
  const check = await alice.funder.missingDeposits({ params, state, idx: 0 }).catch((e: unknown) => e);
  expect(check).toBeInstanceOf(ChainError);
});
