// Behaviour shared with the reference contracts (perun-eth-contracts v1.0) where a client or a
// watcher written for them would notice a difference: the asset holder's own settled flag, one
// outcome per channel, deposits made under the channel ID itself, the state hash a cooperative
// close leaves in disputes(), and which reason a call with several faults is refused with.
import { Contract } from 'ethers';

import { assetHolderContract } from '../../src/channels/ethereum/contracts.js';
import { deployContract } from '../../src/channels/ethereum/deploy.js';
import {
  fundingId,
  hashState,
  type Address,
  type Hex,
  type Params,
  type State,
  type SubAlloc,
  type WithdrawalAuth,
} from '../../src/channels/ethereum/encoding.js';
import { allocation, ledgerParams, stateOf } from './fixtures.js';
import { ethChannel, expectRefused, next, signed, startWorld, type Party, type World } from './harness.js';

let world: World;
let alice: Party;
let bob: Party;
/** Stands in for the adjudicator of the asset holders deployed by `holderRunBy`. */
let carol: Party;

beforeAll(async () => {
  world = await startWorld();
  alice = world.party(1, 'Alice');
  bob = world.party(2, 'Bob');
  carol = world.party(4, 'Carol');
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

/** A fresh AssetHolderETH whose adjudicator is Carol's account, so she sets outcomes by hand. */
async function holderRunBy(adjudicator: Party): Promise<{ address: Address; holder: Contract }> {
  const address = await deployContract(world.chain.wallet(0), 'AssetHolderETH', [adjudicator.account]);
  return { address, holder: assetHolderContract(address, world.chain.provider()) };
}

const held = (holder: Contract, id: Hex): Promise<bigint> =>
  holder.getFunction('holdings').staticCall(id) as Promise<bigint>;

const isSettled = (holder: Contract, channelID: Hex): Promise<boolean> =>
  holder.getFunction('settled').staticCall(channelID) as Promise<boolean>;

const depositETH = (by: Party, holder: Contract, id: Hex, amount: bigint) =>
  by.tx.send(holder, 'deposit', [id, amount], amount);

function withdrawAll(
  by: Party,
  holder: Contract,
  params: Params,
  channelID: Hex,
  idx: number,
  amount: bigint,
) {
  const auth: WithdrawalAuth = {
    channelID,
    participant: params.participants[idx]!,
    receiver: by.account,
    amount,
  };
  return by.tx.send(holder, 'withdraw', [auth, by.signer.signWithdrawalAuth(auth)]);
}

/** A channel between Alice and Bob whose only asset is the ETH holder at `holder`. */
function channelOn(holder: Address, bals: [bigint, bigint]) {
  const params = ledgerParams([alice.signer.address, bob.signer.address]);
  const init = stateOf(params, 0n, allocation(world.chainId, [holder], [bals]));
  return { params, init };
}

describe('the settled flag', () => {
  it('is stored by setOutcome: settled() and withdraw read it without asking the adjudicator', async () => {
    const { address, holder } = await holderRunBy(carol);
    const { params, init } = channelOn(address, [5n, 5n]);
    await depositETH(alice, holder, fundingId(init.channelID, alice.signer.address), 5n);
    expect(await isSettled(holder, init.channelID)).toBe(false);

    await carol.tx.send(holder, 'setOutcome', [init.channelID, params.participants, [3n, 7n]]);
    expect(await isSettled(holder, init.channelID)).toBe(true);

    // Bob deposits after the outcome was set; the flag, not a dispute record, lets him withdraw.
    await depositETH(bob, holder, fundingId(init.channelID, bob.signer.address), 2n);
    await withdrawAll(bob, holder, params, init.channelID, 1, 2n);
    expect(await held(holder, fundingId(init.channelID, bob.signer.address))).toBe(0n);
  });

  it('is not set in a holder the outcome does not name: a deposit there stays locked', async () => {
    const { params, init } = ethChannel(world, alice, bob, [0n, 0n]);
    const fid = fundingId(init.channelID, alice.signer.address);
    await alice.tx.send(world.token, 'approve', [world.deployment.assetHolderERC20, 4n]);
    await alice.tx.send(world.erc20Holder, 'deposit', [fid, 4n]);
    const final = next(init, 1n, [0n, 0n], true);
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);

    expect(await isSettled(world.ethHolder, init.channelID)).toBe(true);
    expect(await isSettled(world.erc20Holder, init.channelID)).toBe(false);
    await expectRefused(
      withdrawAll(alice, world.erc20Holder, params, init.channelID, 0, 4n),
      'channel not settled',
    );
    expect(await held(world.erc20Holder, fid)).toBe(4n);
  });
});

describe('setOutcome', () => {
  it('refuses a second outcome for the same channel, also when the first paid out nothing', async () => {
    const { address, holder } = await holderRunBy(carol);
    const { params, init } = channelOn(address, [0n, 0n]);
    await carol.tx.send(holder, 'setOutcome', [init.channelID, params.participants, [0n, 0n]]);
    await expectRefused(
      carol.tx.send(holder, 'setOutcome', [init.channelID, params.participants, [0n, 0n]]),
      'trying to set already settled channel',
    );
  });

  /**
   * Alice and Bob deposit `[a, b]` under their funding IDs and Alice `direct` under the channel ID,
   * then close at `final`; answers the holdings of the channel ID, Alice and Bob afterwards.
   */
  async function closeWithChannelDeposit([a, b]: [bigint, bigint], direct: bigint, final: [bigint, bigint]) {
    const { params, init } = ethChannel(world, alice, bob, [5n, 5n]);
    const fids = [alice, bob].map((p) => fundingId(init.channelID, p.signer.address));
    if (a > 0n) await depositETH(alice, world.ethHolder, fids[0]!, a);
    if (b > 0n) await depositETH(bob, world.ethHolder, fids[1]!, b);
    await depositETH(alice, world.ethHolder, init.channelID, direct);
    const fin = next(init, 1n, final, true);
    await bob.adjudicator.concludeFinal(params, fin, signed(params, fin, [alice, bob]).sigs);
    return Promise.all([init.channelID, ...fids].map((id) => held(world.ethHolder, id)));
  }

  it('counts a deposit made under the channel ID itself and clears it', async () => {
    expect(await closeWithChannelDeposit([3n, 3n], 4n, [4n, 6n])).toEqual([0n, 4n, 6n]);
  });

  it('clears a deposit under the channel ID also when the channel is underfunded', async () => {
    expect(await closeWithChannelDeposit([3n, 0n], 1n, [5n, 5n])).toEqual([0n, 3n, 0n]);
  });
});

describe('concludeFinal', () => {
  it('without an earlier registration stores the final state hash in disputes()', async () => {
    const { params, init } = ethChannel(world, alice, bob, [0n, 0n]);
    const final = next(init, 3n, [0n, 0n], true);
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
    expect((await alice.adjudicator.dispute(init.channelID)).stateHash).toBe(hashState(final));
  });
});

// A call with two faults is refused for the one the reference checks first.
describe('the order of refusals', () => {
  const lockAll = (sub: State, balances: bigint[]): SubAlloc => ({
    ID: sub.channelID,
    balances,
    indexMap: [0, 1],
  });
  const withLocked = (s: State, locked: SubAlloc[]): State => ({ ...s, outcome: { ...s.outcome, locked } });

  it('a virtual sub-channel that locks funds in a malformed sub-allocation: "funds locked"', async () => {
    const { params, init } = ethChannel(world, alice, bob, [5n, 5n]);
    const parts = params.participants.map((p) => p.ethAddress);
    const vParams = ledgerParams(parts, { ledgerChannel: false, virtualChannel: true });
    const grandParams = ledgerParams(parts, { ledgerChannel: false });
    const grandchild = stateOf(grandParams, 1n, init.outcome);
    // One asset, but the sub-allocation names two totals.
    const virtual = withLocked(stateOf(vParams, 1n, init.outcome), [lockAll(grandchild, [1n, 1n])]);
    const parent = withLocked(next(init, 1n, [0n, 0n]), [lockAll(virtual, [20n])]);
    await expectRefused(
      alice.adjudicator.register(signed(params, parent, [alice, bob]), [
        signed(vParams, virtual, [alice, bob]),
        signed(grandParams, grandchild, [alice, bob]),
      ]),
      'funds locked',
    );
  });

  it('progress of an unregistered channel with params that are not its own: "not registered"', async () => {
    const app = world.deployment.trivialApp!;
    const mine = ethChannel(world, alice, bob, [5n, 5n], { app });
    const other = ethChannel(world, alice, bob, [5n, 5n], { app });
    const v1 = next(other.init, 1n, [5n, 5n]);
    const v2 = next(other.init, 2n, [4n, 6n]);
    await expectRefused(
      alice.adjudicator.progress(mine.params, v1, v2, 0, alice.signer.signState(v2)),
      'not registered',
    );
  });

  it('concludeFinal of a concluded channel with a malformed outcome: "concluded already"', async () => {
    const { params, init } = ethChannel(world, alice, bob, [0n, 0n]);
    const final = next(init, 1n, [0n, 0n], true);
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
    const malformed = next(init, 2n, [0n, 0n, 0n], true);
    await expectRefused(
      bob.adjudicator.concludeFinal(params, malformed, signed(params, malformed, [alice, bob]).sigs),
      'concluded already',
    );
  });

  it('a challenge duration beyond 64 bits under another channel\'s ID: "invalid params"', async () => {
    const { params } = ethChannel(world, alice, bob, [5n, 5n], { challengeDuration: 1n << 64n });
    const other = ethChannel(world, alice, bob, [5n, 5n]);
    const v1 = next(other.init, 1n, [5n, 5n]);
    await expectRefused(alice.adjudicator.register(signed(params, v1, [alice, bob])), 'invalid params');
  });
});
