// The encoder agrees with the Adjudicator's own channelID() and hashState(), and the contract
// accepts our signatures (made on either secp256k1 engine) and refuses them after any one field
// of the state changes.
import { parseEther } from 'ethers';
import {
  channelId,
  ethAsset,
  ethParticipant,
  hashState,
  ZERO_ADDRESS,
  type Params,
  type State,
} from '../../src/channels/ethereum/encoding.js';
import { stateArg } from '../../src/channels/ethereum/contracts.js';
import { ChainError } from '../../src/channels/errors.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { startWorld, type Party, type World } from './harness.js';
import { ENGINES, allocation, ledgerParams, signAll, stateMutations, stateOf } from './fixtures.js';

let world: World;
let alice: Party;
let bob: Party;

beforeAll(async () => {
  world = await startWorld();
  alice = world.party(1, 'Alice');
  bob = world.party(2, 'Bob');
});
afterAll(() => world.stop());

/** Fixed vector: fixed inputs, fixed outputs; a change to the encoding shows up here first. */
const VECTOR_PARAMS: Params = {
  challengeDuration: 3600n,
  nonce: 0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefn,
  participants: [
    ethParticipant('0x70997970C51812dc3A010C7d01b50e0d17dc79C8'),
    ethParticipant('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'),
  ],
  app: ZERO_ADDRESS,
  ledgerChannel: true,
  virtualChannel: false,
};
const VECTOR_STATE: State = {
  channelID: channelId(VECTOR_PARAMS),
  version: 42n,
  outcome: {
    assets: [
      ethAsset(31337n, '0x5FbDB2315678afecb367f032d93F642f64180aa3'),
      ethAsset(31337n, '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'),
    ],
    backends: [1n, 1n],
    balances: [
      [parseEther('1'), parseEther('2')],
      [3n, 4n],
    ],
    locked: [{ ID: '0x' + 'ee'.repeat(32), balances: [5n, 6n], indexMap: [] }],
  },
  appData: '0x',
  isFinal: false,
};

describe('encoder vectors against the Adjudicator', () => {
  it('match the fixed vector', () => {
    expect(channelId(VECTOR_PARAMS)).toBe(
      '0xc651e3d3370a1d7fe8d16a9ac153d0b84de0cf423cbbfdc797307fd1618fa7a5',
    );
    expect(hashState(VECTOR_STATE)).toBe(
      '0x5bd1521905d7fb2818838af13c09a77da129ff88e7c33965800375817ac5b882',
    );
  });

  const cases: Array<[string, () => { params: Params; state: State }]> = [
    [
      'the fixed vector (two assets, a sub-allocation with an empty index map)',
      () => ({
        params: VECTOR_PARAMS,
        state: VECTOR_STATE,
      }),
    ],
    [
      'a one-asset payment channel',
      () => {
        const params = ledgerParams([alice.signer.address, bob.signer.address]);
        return {
          params,
          state: stateOf(
            params,
            0n,
            allocation(world.chainId, [world.deployment.assetHolderETH], [[1n, 2n]]),
          ),
        };
      },
    ],
    [
      'an app channel with app data, final',
      () => {
        const params = ledgerParams([alice.signer.address, bob.signer.address], {
          app: world.deployment.trivialApp!,
          ledgerChannel: false,
        });
        const state = stateOf(
          params,
          9n,
          allocation(world.chainId, [world.deployment.assetHolderETH], [[0n, 7n]]),
          {
            appData: '0x' + 'ab'.repeat(45),
            isFinal: true,
          },
        );
        return { params, state };
      },
    ],
    [
      'a virtual channel with an explicit index map in its parent',
      () => {
        const params = ledgerParams([bob.signer.address, alice.signer.address], {
          ledgerChannel: false,
          virtualChannel: true,
        });
        const state = stateOf(
          params,
          3n,
          allocation(
            world.chainId,
            [world.deployment.assetHolderETH, world.deployment.assetHolderERC20],
            [
              [1n, 1n],
              [2n, 2n],
            ],
            [{ ID: '0x' + '01'.repeat(32), balances: [9n, 8n], indexMap: [1, 0] }],
          ),
        );
        return { params, state };
      },
    ],
  ];

  it.each(cases)('agree on channelID() and hashState() for %s', async (_name, make) => {
    const { params, state } = make();
    const adj = world.adjudicator;
    expect(await adj.getFunction('channelID').staticCall(params)).toBe(channelId(params));
    expect(await adj.getFunction('hashState').staticCall(stateArg(state))).toBe(hashState(state));
  });
});

describe.each(ENGINES)('signatures on-chain, made on the %s engine', (_name, engine) => {
  const signers = [EthereumSigner.random(engine), EthereumSigner.random(engine)];
  const signedBy = (params: Params, state: State) => ({ params, state, sigs: signAll(signers, state) });

  /** A ledger channel holding one sub-channel, both registrable, with two assets. */
  function tree() {
    const parts = signers.map((s) => s.address);
    const holders = [world.deployment.assetHolderETH, world.deployment.assetHolderERC20];
    const subParams = ledgerParams(parts, { ledgerChannel: false });
    const subState = stateOf(
      subParams,
      1n,
      allocation(world.chainId, holders, [
        [1n, 2n],
        [0n, 0n],
      ]),
    );
    const mySub = { ID: subState.channelID, balances: [3n, 0n], indexMap: [] as number[] };
    const params = ledgerParams(parts);
    const state = stateOf(
      params,
      7n,
      allocation(
        world.chainId,
        holders,
        [
          [10n, 20n],
          [30n, 40n],
        ],
        [mySub],
      ),
      {
        appData: '0xc0ffee',
      },
    );
    return { params, state, sub: signedBy(subParams, subState) };
  }

  it('register accepts the state signed by both participants', async () => {
    const t = tree();
    await alice.adjudicator.register(signedBy(t.params, t.state), [t.sub]);
    const d = await alice.adjudicator.dispute(t.state.channelID);
    expect(d.version).toBe(7n);
    expect(d.stateHash).toBe(hashState(t.state));
  });

  it.each(stateMutations())('register refuses the signatures once the %s changed', async (field, mutate) => {
    const t = tree();
    const good = signedBy(t.params, t.state);
    const mutated = mutate(t.state);
    const subs = mutated.outcome.locked.length === 0 ? [] : [t.sub];
    const err = await alice.adjudicator.register({ ...good, state: mutated }, subs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainError);
    const expected = field === 'channel ID' ? 'invalid params' : 'invalid signature';
    expect((err as ChainError).details.reason).toBe(expected);
  });
});
