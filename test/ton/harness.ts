// The TON contract tests' world: a sandbox chain with the Perun contract deployed, parties with
// an Ed25519 key and a funded wallet, channel params and states of TON channels, and a check
// that a call was refused with a given exit code. A contract test file's cast (tonCast): the
// world, alice, bob and a third party, exported as live bindings its tests import by name and
// read once the cast is started (jest gives every test file its own copy of this module).
import { randomBytes } from 'node:crypto';
import { beforeAll, expect } from '@jest/globals';
import { ChainError } from '../../src/channels/errors.js';
import type { Hex, Params, State } from '../../src/channels/types.js';
import { SandboxTonChain, type TonWallet } from '../../src/channels/ton/chain.js';
import { PerunContract } from '../../src/channels/ton/contract.js';
import {
  channelId,
  fundingId,
  tonAsset,
  tonParticipant,
  TON_BACKEND_ID,
  ZERO_ADDRESS,
} from '../../src/channels/ton/encoding.js';
import { exitCode, type TonRefusal } from '../../src/channels/ton/exit-codes.js';
import { TonSigner } from '../../src/channels/ton/signer.js';

export const TON = 1_000_000_000n;

export interface TonParty {
  name: string;
  signer: TonSigner;
  wallet: TonWallet;
  key: Hex;
}

export interface TonWorld {
  chain: SandboxTonChain;
  perun: PerunContract;
  party(name: string): Promise<TonParty>;
}

export async function startTonWorld(): Promise<TonWorld> {
  const chain = await SandboxTonChain.create(1_700_000_000);
  const perun = new PerunContract(chain, await chain.deployPerun());
  return {
    chain,
    perun,
    async party(name) {
      const signer = TonSigner.random();
      return { name, signer, wallet: await chain.wallet(name), key: signer.address };
    },
  };
}

/** Starts a world for this test file before its tests, with a party per name, and hands them to `ready`. */
export function tonWorldWith(names: string[], ready: (world: TonWorld, parties: TonParty[]) => void): void {
  beforeAll(async () => {
    const world = await startTonWorld();
    const parties: TonParty[] = [];
    for (const name of names) parties.push(await world.party(name));
    ready(world, parties);
  }, 30_000);
}

export let world: TonWorld;
export let alice: TonParty;
export let bob: TonParty;
/** The third party: a relayer sending others' calls, or mallory. */
export let third: TonParty;

/** Starts this test file's cast before its tests: the world, alice, bob and `thirdName`. */
export function tonCast(thirdName: string): void {
  tonWorldWith(['alice', 'bob', thirdName], (w, parties) => {
    world = w;
    [alice, bob, third] = parties as [TonParty, TonParty, TonParty];
  });
}

export function tonParams(a: TonParty, b: TonParty, challengeDuration = 60n): Params {
  return {
    challengeDuration,
    nonce: BigInt(`0x${randomBytes(32).toString('hex')}`),
    participants: [tonParticipant(a.key), tonParticipant(b.key)],
    app: ZERO_ADDRESS,
    ledgerChannel: true,
    virtualChannel: false,
  };
}

export function tonState(
  world: TonWorld,
  params: Params,
  version: bigint,
  bals: [bigint, bigint],
  isFinal = false,
): State {
  return {
    channelID: channelId(params),
    version,
    outcome: {
      assets: [tonAsset(world.chain.chainID, world.perun.address)],
      backends: [TON_BACKEND_ID],
      balances: [bals],
      locked: [],
    },
    appData: '0x',
    isFinal,
  };
}

export const sign = (state: State, ...parties: TonParty[]): Hex[] =>
  parties.map((p) => p.signer.signState(state));

export const fid = (state: State, p: TonParty): Hex => fundingId(state.channelID, p.key);

/** Expects `call` to be refused with `reason`'s exit code. */
export async function expectRefused(call: Promise<unknown>, reason: TonRefusal): Promise<void> {
  const err: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChainError);
  expect((err as ChainError).details.exitCode).toBe(exitCode(reason));
}
