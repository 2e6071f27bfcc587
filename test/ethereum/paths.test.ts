// Full on-chain paths through the Ethereum backend: fund → concludeFinal → withdraw, and
// fund → register an old state → refute → conclude → withdraw, for ETH and an ERC20 token;
// funding with confirmations and timeouts; the ChannelUpdate subscription and its cursor.
import { Wallet, parseEther } from 'ethers';
import { FundingTimeoutError } from '../../src/channels/errors.js';
import { EthereumFunder } from '../../src/channels/ethereum/funder.js';
import { DisputePhase } from '../../src/channels/ethereum/adjudicator.js';
import { AdjudicatorSubscription, type AdjudicatorEvent } from '../../src/channels/ethereum/events.js';
import { channelId, fundingId, type State } from '../../src/channels/ethereum/encoding.js';
import { allocation, ledgerParams } from './fixtures.js';
import { ethChannel, next, signed, startWorld, type Party, type World } from './harness.js';

let world: World;
let alice: Party;
let bob: Party;

beforeAll(async () => {
  world = await startWorld();
  alice = world.party(1, 'Alice');
  bob = world.party(2, 'Bob');
});
afterAll(() => world.stop());

const fresh = () => Wallet.createRandom().address;
const balanceOf = (a: string) => world.chain.provider().getBalance(a);

describe('cooperative close', () => {
  it('Alice and Bob fund, conclude a final state and withdraw exactly their balances (ETH)', async () => {
    const { params, init } = ethChannel(world, alice, bob, [parseEther('1'), parseEther('2')]);
    await Promise.all([
      alice.funder.fund({ params, state: init, idx: 0 }),
      bob.funder.fund({ params, state: init, idx: 1 }),
    ]);
    expect(
      await world.ethHolder
        .getFunction('holdings')
        .staticCall(fundingId(init.channelID, alice.signer.address)),
    ).toBe(parseEther('1'));

    const final = next(init, 12n, [parseEther('0.25'), parseEther('2.75')], true);
    await bob.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
    const d = await alice.adjudicator.dispute(init.channelID);
    expect(d.phase).toBe(DisputePhase.CONCLUDED);
    expect(d.version).toBe(12n);
    expect(await world.ethHolder.getFunction('settled').staticCall(init.channelID)).toBe(true);

    const [ra, rb] = [fresh(), fresh()];
    const wa = await alice.adjudicator.withdraw(params, final, alice.signer, ra);
    await bob.adjudicator.withdraw(params, final, bob.signer, rb);
    expect(wa[0]!.amount).toBe(parseEther('0.25'));
    expect(await balanceOf(ra)).toBe(parseEther('0.25'));
    expect(await balanceOf(rb)).toBe(parseEther('2.75'));
    // A second withdrawal finds nothing and sends nothing.
    const again = await alice.adjudicator.withdraw(params, final, alice.signer, ra);
    expect(again).toEqual([{ asset: 0, holder: world.deployment.assetHolderETH, amount: 0n }]);
    expect(
      await world.ethHolder
        .getFunction('holdings')
        .staticCall(fundingId(init.channelID, alice.signer.address)),
    ).toBe(0n);
  });

  it('Alice and Bob do the same with an ERC20 token (approve, deposit, withdraw)', async () => {
    const params = ledgerParams([alice.signer.address, bob.signer.address]);
    const init: State = {
      channelID: channelId(params),
      version: 0n,
      outcome: allocation(
        world.chainId,
        [world.deployment.assetHolderERC20],
        [[parseEther('5'), parseEther('1')]],
      ),
      appData: '0x',
      isFinal: false,
    };
    await Promise.all([
      alice.funder.fund({ params, state: init, idx: 0 }),
      bob.funder.fund({ params, state: init, idx: 1 }),
    ]);
    const final = next(init, 3n, [parseEther('4'), parseEther('2')], true);
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
    const [ra, rb] = [fresh(), fresh()];
    await alice.adjudicator.withdraw(params, final, alice.signer, ra);
    await bob.adjudicator.withdraw(params, final, bob.signer, rb);
    expect(await world.token.getFunction('balanceOf').staticCall(ra)).toBe(parseEther('4'));
    expect(await world.token.getFunction('balanceOf').staticCall(rb)).toBe(parseEther('2'));
  });

  it('a two-asset channel (ETH and ERC20) pays both assets out', async () => {
    const params = ledgerParams([alice.signer.address, bob.signer.address]);
    const init: State = {
      channelID: channelId(params),
      version: 0n,
      outcome: allocation(
        world.chainId,
        [world.deployment.assetHolderETH, world.deployment.assetHolderERC20],
        [
          [3n, 0n],
          [0n, 7n],
        ],
      ),
      appData: '0x',
      isFinal: false,
    };
    await Promise.all([
      alice.funder.fund({ params, state: init, idx: 0 }),
      bob.funder.fund({ params, state: init, idx: 1 }),
    ]);
    const final: State = {
      ...init,
      version: 1n,
      isFinal: true,
      outcome: {
        ...init.outcome,
        balances: [
          [1n, 2n],
          [4n, 3n],
        ],
      },
    };
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
    const rb = fresh();
    const w = await bob.adjudicator.withdraw(params, final, bob.signer, rb);
    expect(w.map((x) => x.amount)).toEqual([2n, 3n]);
    expect(await balanceOf(rb)).toBe(2n);
    expect(await world.token.getFunction('balanceOf').staticCall(rb)).toBe(3n);
  });
});

describe('dispute', () => {
  it('Bob registers an old state, Alice refutes with a newer one, the newer one is paid out', async () => {
    const { params, init } = ethChannel(world, alice, bob, [parseEther('1'), parseEther('1')]);
    await Promise.all([
      alice.funder.fund({ params, state: init, idx: 0 }),
      bob.funder.fund({ params, state: init, idx: 1 }),
    ]);
    const v1 = next(init, 1n, [parseEther('0.5'), parseEther('1.5')]);
    const v4 = next(init, 4n, [parseEther('1.6'), parseEther('0.4')]);

    await bob.adjudicator.register(signed(params, v1, [alice, bob]));
    const registered = await alice.adjudicator.dispute(init.channelID);
    expect(registered.version).toBe(1n);
    expect(registered.timeout).toBe((await alice.adjudicator.now()) + params.challengeDuration);

    await alice.adjudicator.register(signed(params, v4, [alice, bob]));
    const refuted = await alice.adjudicator.dispute(init.channelID);
    expect(refuted.version).toBe(4n);
    expect(refuted.timeout).toBe(registered.timeout); // a refutation does not extend the window

    await expect(alice.adjudicator.conclude(params, v4)).rejects.toThrow(/timeout not passed yet/);
    await world.chain.increaseTime(Number(params.challengeDuration));
    await expect(bob.adjudicator.conclude(params, v1)).rejects.toThrow(/invalid state/);
    await bob.adjudicator.conclude(params, v4);

    const [ra, rb] = [fresh(), fresh()];
    await alice.adjudicator.withdraw(params, v4, alice.signer, ra);
    await bob.adjudicator.withdraw(params, v4, bob.signer, rb);
    expect(await balanceOf(ra)).toBe(parseEther('1.6'));
    expect(await balanceOf(rb)).toBe(parseEther('0.4'));
  });
});

describe('funding', () => {
  it('Fred funds, Frida never does: funding times out naming Frida, and Fred recovers his deposit', async () => {
    const fred = alice;
    const frida = bob;
    const { params, init } = ethChannel(world, fred, frida, [parseEther('1'), parseEther('1')]);
    const err = await fred.funder
      .fund({ params, state: init, idx: 0 }, { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FundingTimeoutError);
    expect((err as FundingTimeoutError).details.missing).toEqual([
      { participant: 1, asset: 0, required: parseEther('1').toString(), held: '0' },
    ]);
    // Recovery: register the initial state, conclude it after the challenge duration; the
    // channel is underfunded, so everybody takes back exactly what they deposited.
    await fred.adjudicator.register(signed(params, init, [fred, frida]));
    await world.chain.increaseTime(Number(params.challengeDuration));
    await fred.adjudicator.conclude(params, init);
    const r = fresh();
    await fred.adjudicator.withdraw(params, init, fred.signer, r);
    expect(await balanceOf(r)).toBe(parseEther('1'));
  });

  it('counts a deposit only once it is buried under the confirmation depth', async () => {
    const { params, init } = ethChannel(world, alice, bob, [5n, 6n]);
    const deep = (p: Party) => new EthereumFunder(p.tx, { confirmations: 3, pollIntervalMs: 10 });
    // Deposits go in, each mined in its own block; the depth-3 view sees neither yet.
    await alice.funder.deposit({ params, state: init, idx: 0 });
    await bob.funder.deposit({ params, state: init, idx: 1 });
    expect((await deep(alice).missingDeposits({ params, state: init, idx: 0 })).length).toBeGreaterThan(0);
    await world.chain.mine(2);
    expect(await deep(alice).missingDeposits({ params, state: init, idx: 0 })).toEqual([]);
    await deep(bob).awaitFunded({ params, state: init, idx: 1 });
  });

  it('a deposit that a reorganisation takes back does not count: the channel is not funded on it', async () => {
    // Parties of their own: a reverted transaction leaves its sender's nonce bookkeeping behind.
    const rita = world.party(8, 'Rita');
    const rex = world.party(9, 'Rex');
    const { params, init } = ethChannel(world, rita, rex, [3n, 4n]);
    const deep = (p: Party) => new EthereumFunder(p.tx, { confirmations: 3, pollIntervalMs: 10 });
    await rita.funder.deposit({ params, state: init, idx: 0 });
    await world.chain.mine(2);
    const beforeRex = await world.chain.snapshot();
    await rex.funder.deposit({ params, state: init, idx: 1 });
    // The chain reorganises: Rex's deposit block is replaced by empty ones.
    await world.chain.revert(beforeRex);
    await world.chain.mine(3);
    expect(await deep(rita).missingDeposits({ params, state: init, idx: 0 })).toEqual([
      { participant: 1, asset: 0, required: 4n, held: 0n },
    ]);
    await expect(
      deep(rita).awaitFunded({ params, state: init, idx: 0 }, { timeoutMs: 200 }),
    ).rejects.toBeInstanceOf(FundingTimeoutError);
  });

  it('does not deposit twice after a restart: an existing deposit is kept', async () => {
    const { params, init } = ethChannel(world, alice, bob, [7n, 0n]);
    await alice.funder.fund({ params, state: init, idx: 0 });
    const before = await balanceOf(alice.account);
    await alice.funder.fund({ params, state: init, idx: 0 });
    expect(await balanceOf(alice.account)).toBe(before);
    expect(
      await world.ethHolder
        .getFunction('holdings')
        .staticCall(fundingId(init.channelID, alice.signer.address)),
    ).toBe(7n);
  });
});

describe('ChannelUpdate subscription', () => {
  it('delivers registered, refuted and concluded updates with their states, and resumes from a stored cursor', async () => {
    const start = await world.chain.provider().getBlockNumber();
    const { params, init } = ethChannel(world, alice, bob, [10n, 10n]);
    const seen: AdjudicatorEvent[] = [];
    const sub = new AdjudicatorSubscription(world.chain.provider(), {
      adjudicator: world.deployment.adjudicator,
      fromBlock: start + 1,
      channelIDs: [init.channelID],
      onEvent: (e) => {
        seen.push(e);
      },
    });
    await Promise.all([
      alice.funder.fund({ params, state: init, idx: 0 }),
      bob.funder.fund({ params, state: init, idx: 1 }),
    ]);
    const v2 = next(init, 2n, [5n, 15n]);
    const v3 = next(init, 3n, [4n, 16n]);
    await bob.adjudicator.register(signed(params, v2, [alice, bob]));
    await sub.poll();
    expect(seen.map((e) => [e.kind, e.version])).toEqual([['registered', 2n]]);
    expect(seen[0]!.state).toEqual(v2);
    expect(seen[0]!.params).toEqual(params);
    const stored = sub.cursor;

    await alice.adjudicator.register(signed(params, v3, [alice, bob]));
    await world.chain.increaseTime(Number(params.challengeDuration));
    await alice.adjudicator.conclude(params, v3);
    await sub.poll();
    expect(seen.map((e) => [e.kind, e.version])).toEqual([
      ['registered', 2n],
      ['registered', 3n],
      ['concluded', 3n],
    ]);
    expect(seen[1]!.state).toEqual(v3);

    // A watcher restarted from the stored cursor sees exactly what happened after it.
    const resumed: AdjudicatorEvent[] = [];
    const again = new AdjudicatorSubscription(world.chain.provider(), {
      adjudicator: world.deployment.adjudicator,
      fromBlock: stored,
      channelIDs: [init.channelID],
      onEvent: (e) => {
        resumed.push(e);
      },
    });
    await again.poll();
    expect(resumed.map((e) => [e.kind, e.version, e.phase])).toEqual([
      ['registered', 3n, DisputePhase.DISPUTE],
      ['concluded', 3n, DisputePhase.CONCLUDED],
    ]);
    expect(again.cursor).toBe((await world.chain.provider().getBlockNumber()) + 1);
  });

  it('runs on its own timer and stops cleanly', async () => {
    const { params, init } = ethChannel(world, alice, bob, [1n, 1n]);
    let resolveSeen: (e: AdjudicatorEvent) => void;
    const got = new Promise<AdjudicatorEvent>((r) => (resolveSeen = r));
    const sub = new AdjudicatorSubscription(world.chain.provider(), {
      adjudicator: world.deployment.adjudicator,
      fromBlock: await world.chain.provider().getBlockNumber(),
      channelIDs: [init.channelID],
      pollIntervalMs: 20,
      onEvent: (e) => resolveSeen(e),
    });
    sub.start();
    await bob.adjudicator.register(signed(params, init, [alice, bob]));
    expect((await got).kind).toBe('registered');
    await sub.stop();
  });
});
