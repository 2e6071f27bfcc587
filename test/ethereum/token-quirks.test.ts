// The ERC20 asset holder against tokens as they answer in the wild: `true`, nothing, `false`
// or a revert, and an address without code. Deposits and withdrawals go through only when the
// token really moved the funds; otherwise they are refused and the holding is unchanged.
import { Contract, Wallet, parseEther } from 'ethers';
import { ChainError } from '../../src/channels/errors.js';
import { artifact } from '../../src/channels/ethereum/artifacts.js';
import { assetHolderContract } from '../../src/channels/ethereum/contracts.js';
import { deployContract } from '../../src/channels/ethereum/deploy.js';
import { channelId, fundingId, type Address, type State } from '../../src/channels/ethereum/encoding.js';
import { allocation, ledgerParams } from './fixtures.js';
import { signed, startWorld, type Party, type World } from './harness.js';

enum Mode {
  Standard,
  NoReturn,
  ReturnsFalse,
  Reverts,
}

let world: World;
let alice: Party;
let bob: Party;
let token: Contract;
let holder: Contract;

beforeAll(async () => {
  world = await startWorld();
  alice = world.party(1, 'Alice');
  bob = world.party(2, 'Bob');
  const deployer = world.chain.wallet(0);
  const tokenAddress = await deployContract(deployer, 'QuirkyToken', [
    world.chain.accounts.map((a) => a.address),
    parseEther('100'),
  ]);
  token = new Contract(tokenAddress, artifact('QuirkyToken').abi, deployer);
  const holderAddress = await deployContract(deployer, 'AssetHolderERC20', [
    world.deployment.adjudicator,
    tokenAddress,
  ]);
  holder = assetHolderContract(holderAddress, world.chain.provider());
});
afterAll(() => world.stop());

const setMode = (m: Mode) => alice.tx.send(token, 'setMode', [m]);
const holding = (id: string) => holder.getFunction('holdings').staticCall(id) as Promise<bigint>;
const tokens = (a: Address) => token.getFunction('balanceOf').staticCall(a) as Promise<bigint>;

function channel(amount: bigint) {
  const params = ledgerParams([alice.signer.address, bob.signer.address]);
  const init: State = {
    channelID: channelId(params),
    version: 0n,
    outcome: allocation(world.chainId, [String(holder.target)], [[amount, 0n]]),
    appData: '0x',
    isFinal: false,
  };
  return { params, init, aliceId: fundingId(init.channelID, alice.signer.address) };
}

async function expectReason(call: Promise<unknown>, reason: string): Promise<void> {
  const err = await call.then(
    () => new Error('the call succeeded'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChainError);
  expect((err as ChainError).details['reason']).toBe(reason);
}

describe.each([
  ['returns true', Mode.Standard],
  ['returns nothing', Mode.NoReturn],
])('a token that %s', (_, mode) => {
  it('takes Alice’s deposit and pays her withdrawal', async () => {
    await setMode(mode);
    const amount = parseEther('2');
    const { params, init, aliceId } = channel(amount);
    const before = await tokens(alice.account);
    await alice.funder.deposit({ params, state: init, idx: 0 });
    expect(await holding(aliceId)).toBe(amount);
    expect(await tokens(alice.account)).toBe(before - amount);

    const final = { ...init, version: 1n, isFinal: true };
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);
    await alice.adjudicator.withdraw(params, final, alice.signer);
    expect(await holding(aliceId)).toBe(0n);
    expect(await tokens(alice.account)).toBe(before);
  });
});

describe.each([
  ['returns false', Mode.ReturnsFalse],
  ['reverts', Mode.Reverts],
])('a token that %s', (_, mode) => {
  it('cannot be deposited: the holding stays empty', async () => {
    await setMode(Mode.Standard);
    const amount = parseEther('1');
    const { aliceId } = channel(amount);
    await alice.tx.send(token, 'approve', [holder.target, amount]);
    await setMode(mode);
    await expectReason(alice.tx.send(holder, 'deposit', [aliceId, amount]), 'transferFrom failed');
    expect(await holding(aliceId)).toBe(0n);
  });

  it('cannot be withdrawn: the holding is kept for a later try', async () => {
    await setMode(Mode.Standard);
    const amount = parseEther('1');
    const { params, init, aliceId } = channel(amount);
    await alice.funder.deposit({ params, state: init, idx: 0 });
    const final = { ...init, version: 1n, isFinal: true };
    await alice.adjudicator.concludeFinal(params, final, signed(params, final, [alice, bob]).sigs);

    await setMode(mode);
    await expectReason(alice.adjudicator.withdraw(params, final, alice.signer), 'transfer failed');
    expect(await holding(aliceId)).toBe(amount);

    await setMode(Mode.Standard);
    await alice.adjudicator.withdraw(params, final, alice.signer);
    expect(await holding(aliceId)).toBe(0n);
  });
});

it('an asset holder whose token address has no code refuses deposits', async () => {
  const deployer = world.chain.wallet(0);
  const noCode = Wallet.createRandom().address;
  const address = await deployContract(deployer, 'AssetHolderERC20', [world.deployment.adjudicator, noCode]);
  const h = assetHolderContract(address, world.chain.provider());
  const id = fundingId(channel(1n).init.channelID, alice.signer.address);
  await expectReason(alice.tx.send(h, 'deposit', [id, 1n]), 'transferFrom failed');
  expect(await h.getFunction('holdings').staticCall(id)).toBe(0n);
});
