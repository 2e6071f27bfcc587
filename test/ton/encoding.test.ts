// TON cells of Params and State from the contract's schema: the channel ID changes with every
// params field, a state cell decodes to the state it was built from, a state signature fails
// once any one field changes, the encoder refuses what a TON channel cannot hold, a cell with a
// wrong opcode or data left over is refused, and the node:crypto Ed25519 signatures equal
// @ton/crypto's byte for byte.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress, beginCell } from '@ton/core';
import { keyPairFromSeed, sign as tonCryptoSign } from '@ton/crypto';
import { EncodingError } from '../../src/channels/errors.js';
import type { Params, State } from '../../src/channels/types.js';
import { tonArtifact } from '../../src/channels/ton/artifact.js';
import {
  channelId,
  paramsCell,
  paramsFromCell,
  stateCell,
  stateFromCell,
  tonAsset,
  tonParticipant,
  TON_BACKEND_ID,
  ZERO_ADDRESS,
} from '../../src/channels/ton/encoding.js';
import { decodeStruct, encodeStruct } from '../../src/channels/ton/schema.js';
import { TonSigner, verifyStateSignature } from '../../src/channels/ton/signer.js';

const alice = TonSigner.random();
const bob = TonSigner.random();
const holder = new TonAddress(0, randomBytes(32));

const params: Params = {
  challengeDuration: 60n,
  nonce: 12345678901234567890n,
  participants: [tonParticipant(alice.address), tonParticipant(bob.address)],
  app: ZERO_ADDRESS,
  ledgerChannel: true,
  virtualChannel: false,
};

const state: State = {
  channelID: channelId(params),
  version: 7n,
  outcome: {
    assets: [tonAsset(4294967057n, holder)],
    backends: [TON_BACKEND_ID],
    balances: [[5n, 9n]],
    locked: [],
  },
  appData: '0x',
  isFinal: false,
};

const withBals = (s: State, b: [bigint, bigint]): State => ({
  ...s,
  outcome: { ...s.outcome, balances: [b] },
});

test('the channel ID changes with every params field', () => {
  const id = channelId(params);
  const other = TonSigner.random().address;
  const mutations: Params[] = [
    { ...params, challengeDuration: 61n },
    { ...params, nonce: params.nonce + 1n },
    { ...params, participants: [tonParticipant(other), params.participants[1]!] },
    { ...params, participants: [params.participants[0]!, tonParticipant(other)] },
    { ...params, participants: [params.participants[1]!, params.participants[0]!] },
    { ...params, ledgerChannel: false },
    { ...params, virtualChannel: true },
  ];
  const ids = new Set(mutations.map(channelId));
  expect(ids.size).toBe(mutations.length);
  expect(ids.has(id)).toBe(false);
  expect(paramsFromCell(paramsCell(params))).toEqual(params);
});

test('a state cell decodes to its state', () => {
  expect(stateFromCell(stateCell(state))).toEqual(state);
  const big = withBals({ ...state, version: (1n << 64n) - 1n, isFinal: true }, [(1n << 120n) - 1n, 0n]);
  expect(stateFromCell(stateCell(big))).toEqual(big);
});

test('a state signature fails once any one field changes', () => {
  const sig = alice.signState(state);
  expect(verifyStateSignature(state, sig, alice.address)).toBe(true);
  expect(verifyStateSignature(state, sig, bob.address)).toBe(false);
  const asset = state.outcome.assets[0]!;
  const mutations: State[] = [
    { ...state, channelID: channelId({ ...params, nonce: 1n }) },
    { ...state, version: 8n },
    { ...state, isFinal: true },
    withBals(state, [6n, 9n]),
    withBals(state, [5n, 8n]),
    { ...state, outcome: { ...state.outcome, assets: [{ ...asset, chainID: 2n ** 32n - 3n }] } },
    {
      ...state,
      outcome: { ...state.outcome, assets: [tonAsset(4294967057n, new TonAddress(0, randomBytes(32)))] },
    },
  ];
  for (const m of mutations) expect(verifyStateSignature(m, sig, alice.address)).toBe(false);
  const last = (parseInt(sig.slice(-2), 16) ^ 0x01).toString(16).padStart(2, '0');
  expect(verifyStateSignature(state, `${sig.slice(0, -2)}${last}`, alice.address)).toBe(false);
  expect(verifyStateSignature(state, '0x1234', alice.address)).toBe(false);
  // a state the encoder refuses has no valid signature
  expect(verifyStateSignature({ ...state, appData: '0x01' }, sig, alice.address)).toBe(false);
});

test('the encoder refuses what a TON channel cannot hold', () => {
  const refused: Array<() => unknown> = [
    () =>
      channelId({
        ...params,
        participants: [...params.participants, tonParticipant(TonSigner.random().address)],
      }),
    () => channelId({ ...params, app: '0x0000000000000000000000000000000000000001' }),
    () =>
      channelId({
        ...params,
        participants: [
          { ethAddress: ZERO_ADDRESS.replace(/0$/, '1'), ccAddress: '0x' },
          params.participants[1]!,
        ],
      }),
    () => channelId({ ...params, challengeDuration: 1n << 64n }),
    () => stateCell({ ...state, appData: '0x01' }),
    () =>
      stateCell({
        ...state,
        outcome: { ...state.outcome, locked: [{ ID: state.channelID, balances: [1n], indexMap: [] }] },
      }),
    () =>
      stateCell({
        ...state,
        outcome: {
          ...state.outcome,
          assets: [...state.outcome.assets, ...state.outcome.assets],
          backends: [TON_BACKEND_ID, TON_BACKEND_ID],
          balances: [
            [5n, 9n],
            [1n, 1n],
          ],
        },
      }),
    () => stateCell({ ...state, outcome: { ...state.outcome, backends: [1n] } }),
    () => stateCell(withBals(state, [1n << 120n, 0n])),
    () => stateCell(withBals(state, [-1n, 0n])),
    () => stateCell({ ...state, version: 1n << 64n }),
    () => tonAsset(4294967057n, new TonAddress(-1, randomBytes(32))),
  ];
  for (const f of refused) expect(f).toThrow(EncodingError);
});

test('a cell with a wrong opcode or data left over is refused', () => {
  const { schema } = tonArtifact();
  const deposit = encodeStruct(schema, 'Deposit', {
    queryId: 1n,
    channelID: 2n,
    participant: 3n,
    amount: 4n,
  });
  expect(decodeStruct(schema, 'Deposit', deposit)).toEqual({
    queryId: 1n,
    channelID: 2n,
    participant: 3n,
    amount: 4n,
  });
  expect(() => decodeStruct(schema, 'Conclude', deposit)).toThrow(EncodingError);
  const longer = beginCell().storeSlice(deposit.beginParse()).storeBit(true).endCell();
  expect(() => decodeStruct(schema, 'Deposit', longer)).toThrow(EncodingError);
  const shorter = beginCell().storeUint(0x50e40001, 32).storeUint(1, 64).endCell();
  expect(() => decodeStruct(schema, 'Deposit', shorter)).toThrow(EncodingError);
});

test('node:crypto Ed25519 signatures equal @ton/crypto signatures', () => {
  const seed = randomBytes(32);
  const ours = new TonSigner(seed);
  const theirs = keyPairFromSeed(seed);
  expect(ours.publicKey.equals(theirs.publicKey)).toBe(true);
  const hash = stateCell(state).hash();
  expect(ours.signHash(hash)).toBe(`0x${tonCryptoSign(hash, theirs.secretKey).toString('hex')}`);
});
