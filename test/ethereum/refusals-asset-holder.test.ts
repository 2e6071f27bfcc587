// Refusals of the Perun asset holders' deposit, withdraw and setOutcome, one scenario per row,
// with the exact revert reason and nothing watched changed. Also: an underfunded channel's
// outcome is ignored, and a re-entrant ERC20 token cannot make a holder pay twice.
import { Contract } from 'ethers';
import { artifact } from '../../src/channels/ethereum/artifacts.js';
import { assetHolderContract } from '../../src/channels/ethereum/contracts.js';
import { deployContract } from '../../src/channels/ethereum/deploy.js';
import { fundingId } from '../../src/channels/ethereum/encoding.js';
import { allocation, ledgerParams, stateOf } from './fixtures.js';
import { expectRefused, next, signed } from './harness.js';
import {
  world,
  alice,
  bob,
  mallory,
  useWorld,
  type Refusal,
  runRefusal,
  watch,
  disputes,
  holdingsOf,
  holdings,
  ethBalance,
  tokenBalance,
  fresh,
  channel,
  passChallenge,
  fund,
  register,
  closedChannel,
  authFor,
  withdraw,
} from './refusals-support.js';

useWorld();

const depositRefusals: Refusal[] = [
  {
    scenario: 'Alice deposits 5 wei of ETH but sends 4',
    reason: 'wrong amount of ETH for deposit',
    async arrange() {
      const { params, init } = channel();
      const fid = fundingId(init.channelID, alice.signer.address);
      const holder = world.deployment.assetHolderETH;
      return {
        act: () => alice.tx.send(world.ethHolder, 'deposit', [fid, 5n], 4n),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(holder)),
      };
    },
  },
  {
    scenario: 'Alice deposits tokens and attaches ETH',
    reason: 'message value must be 0 for token deposit',
    async arrange() {
      const { params, init } = channel();
      const fid = fundingId(init.channelID, alice.signer.address);
      const holder = world.deployment.assetHolderERC20;
      await alice.tx.send(world.token, 'approve', [holder, 5n]);
      return {
        act: () => alice.tx.send(world.erc20Holder, 'deposit', [fid, 5n], 1n),
        unchanged: watch(
          holdings(world.erc20Holder, params, init.channelID),
          () => ethBalance(holder),
          () => tokenBalance(world.token, holder),
        ),
      };
    },
  },
  {
    scenario: 'Alice deposits tokens she has not approved',
    reason: 'transferFrom failed',
    async arrange() {
      const { params, init } = channel();
      const fid = fundingId(init.channelID, alice.signer.address);
      const holder = world.deployment.assetHolderERC20;
      await alice.tx.send(world.token, 'approve', [holder, 0n]);
      return {
        act: () => alice.tx.send(world.erc20Holder, 'deposit', [fid, 5n]),
        unchanged: watch(
          holdings(world.erc20Holder, params, init.channelID),
          () => tokenBalance(world.token, holder),
          () => tokenBalance(world.token, alice.account),
        ),
      };
    },
  },
];

const withdrawRefusals: Refusal[] = [
  {
    scenario: 'Alice withdraws her deposit while the channel is still in dispute',
    reason: 'channel not settled',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      await register(params, next(init, 1n, [5n, 5n]));
      const auth = authFor(params, init.channelID, 0, fresh(), 5n);
      return {
        act: () => withdraw(alice, world.ethHolder, auth, alice.signer.signWithdrawalAuth(auth)),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
  {
    scenario: 'Alice withdraws 4 wei when the outcome gave her 3',
    reason: 'insufficient funds',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, fresh(), 4n);
      return {
        act: () => withdraw(alice, world.ethHolder, auth, alice.signer.signWithdrawalAuth(auth)),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
  {
    scenario: "Bob signs a withdrawal of Alice's holding to himself",
    reason: 'signature verification failed',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, bob.account, 3n);
      return {
        act: () => withdraw(bob, world.ethHolder, auth, bob.signer.signWithdrawalAuth(auth)),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID)),
      };
    },
  },
  {
    scenario: "Mallory replays Alice's authorization after it was paid out",
    reason: 'insufficient funds',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, fresh(), 3n);
      const sig = alice.signer.signWithdrawalAuth(auth);
      await withdraw(alice, world.ethHolder, auth, sig);
      expect(await ethBalance(auth.receiver)).toBe(3n);
      return {
        act: () => withdraw(mallory, world.ethHolder, auth, sig),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
  {
    scenario: "Mallory raises the amount of Alice's signed authorization",
    reason: 'signature verification failed',
    async arrange() {
      const { params, init } = await closedChannel();
      const auth = authFor(params, init.channelID, 0, fresh(), 1n);
      const sig = alice.signer.signWithdrawalAuth(auth);
      return {
        act: () => withdraw(mallory, world.ethHolder, { ...auth, amount: 3n }, sig),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), () => ethBalance(auth.receiver)),
      };
    },
  },
];

const setOutcomeRefusals: Refusal[] = [
  {
    scenario: 'Mallory sets the outcome of a funded channel on the ETH holder',
    reason: 'can only be called by the adjudicator',
    async arrange() {
      const { params, init } = channel();
      await fund(params, init);
      return {
        act: () =>
          mallory.tx.send(world.ethHolder, 'setOutcome', [init.channelID, params.participants, [0n, 10n]]),
        unchanged: watch(holdings(world.ethHolder, params, init.channelID), disputes(init.channelID)),
      };
    },
  },
  {
    scenario: 'Mallory sets the outcome of a channel on the ERC20 holder',
    reason: 'can only be called by the adjudicator',
    async arrange() {
      const { params, init } = channel();
      return {
        act: () =>
          mallory.tx.send(world.erc20Holder, 'setOutcome', [init.channelID, params.participants, [0n, 10n]]),
        unchanged: watch(holdings(world.erc20Holder, params, init.channelID)),
      };
    },
  },
];

describe('deposit refuses', () => {
  it.each(depositRefusals)('$scenario: "$reason"', runRefusal);
});

describe('withdraw refuses', () => {
  it.each(withdrawRefusals)('$scenario: "$reason"', runRefusal);
});

describe('setOutcome refuses', () => {
  it.each(setOutcomeRefusals)('$scenario: "$reason"', runRefusal);
});

describe('an underfunded channel', () => {
  it('ignores its outcome: Alice gets back exactly her deposit and Bob gets nothing', async () => {
    const { params, init } = channel();
    await alice.funder.deposit({ params, state: init, idx: 0 }); // Bob never deposits
    const v1 = next(init, 1n, [0n, 10n]);
    await bob.adjudicator.register(signed(params, v1, [alice, bob]));
    await passChallenge(params);
    await bob.adjudicator.conclude(params, v1);
    expect(await holdingsOf(world.ethHolder, params, init.channelID)).toEqual([5n, 0n]);

    const rb = fresh();
    const bobs = authFor(params, init.channelID, 1, rb, 1n);
    await expectRefused(
      withdraw(bob, world.ethHolder, bobs, bob.signer.signWithdrawalAuth(bobs)),
      'insufficient funds',
    );
    expect(await ethBalance(rb)).toBe(0n);

    const ra = fresh();
    const tooMuch = authFor(params, init.channelID, 0, ra, 6n);
    await expectRefused(
      withdraw(alice, world.ethHolder, tooMuch, alice.signer.signWithdrawalAuth(tooMuch)),
      'insufficient funds',
    );
    const deposit = authFor(params, init.channelID, 0, ra, 5n);
    await withdraw(alice, world.ethHolder, deposit, alice.signer.signWithdrawalAuth(deposit));
    expect(await ethBalance(ra)).toBe(5n);
    expect(await holdingsOf(world.ethHolder, params, init.channelID)).toEqual([0n, 0n]);
  });
});

describe('a malicious ERC20 token', () => {
  it('cannot make the holder pay a withdrawal twice by re-entering withdraw from transfer', async () => {
    const deployer = world.chain.wallet(0);
    const tokenAddress = await deployContract(deployer, 'ReentrantToken', [
      [alice.account, bob.account],
      1000n,
    ]);
    const holderAddress = await deployContract(deployer, 'AssetHolderERC20', [
      world.deployment.adjudicator,
      tokenAddress,
    ]);
    const provider = world.chain.provider();
    const token = new Contract(tokenAddress, artifact('ReentrantToken').abi, provider);
    const holder = assetHolderContract(holderAddress, provider);

    const params = ledgerParams([alice.signer.address, bob.signer.address]);
    const init = stateOf(params, 0n, allocation(world.chainId, [holderAddress], [[60n, 40n]]));
    await fund(params, init);
    const final = next(init, 1n, [70n, 30n], true);
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);

    const auth = authFor(params, init.channelID, 0, fresh(), 70n);
    const sig = alice.signer.signWithdrawalAuth(auth);
    await mallory.tx.send(token, 'arm', [
      holderAddress,
      holder.interface.encodeFunctionData('withdraw', [auth, sig]),
    ]);
    const held = await tokenBalance(token, holderAddress);
    expect(held).toBe(100n);

    await withdraw(alice, holder, auth, sig);
    expect(await token.getFunction('attacked').staticCall()).toBe(true);
    expect(await token.getFunction('reentrySucceeded').staticCall()).toBe(false);
    expect(held - (await tokenBalance(token, holderAddress))).toBe(70n);
    expect(await tokenBalance(token, auth.receiver)).toBe(70n);
    expect(await holdingsOf(holder, params, init.channelID)).toEqual([0n, 30n]);
  });
});
