// The 129-byte Ethereum–TON signature without a chain: it verifies only when both parts do (the
// ECDSA part on the whole state, the Ed25519 part on the TON projection by the participant's
// ccAddress key), so each mutation of the state or of either part is refused; the wire carries
// it (and the proposal's ccAddresses) and refuses other lengths; and what an Ethereum–TON
// channel cannot be is refused with an EncodingError.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import { Wallet } from 'ethers';
import {
  CrossBackend,
  CrossSigner,
  crossAssets,
  checkCrossParams,
  sigParts,
  tonParams,
  tonState,
} from '../../src/channels/cross/index.js';
import { EncodingError, MalformedMessageError } from '../../src/channels/errors.js';
import { ethAsset, ETH_BACKEND_ID } from '../../src/channels/ethereum/encoding.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { decodeChannelMessage, encodeChannelMessage } from '../../src/channels/message-codec.js';
import { type ChannelMessage } from '../../src/channels/messages.js';
import {
  channelId as tonChannelId,
  tonAsset,
  tonParticipant,
  TON_BACKEND_ID,
} from '../../src/channels/ton/encoding.js';
import { TonSigner, verifyStateSignature as verifyTon } from '../../src/channels/ton/signer.js';
import type { Hex, Params, State } from '../../src/channels/types.js';

const alice = new CrossSigner(EthereumSigner.random(), TonSigner.random());
const bob = new CrossSigner(EthereumSigner.random(), TonSigner.random());
const backend = new CrossBackend();
const params: Params = {
  challengeDuration: 60n,
  nonce: 7n,
  participants: [alice, bob].map((s) => ({ ethAddress: s.address, ccAddress: s.ccAddress })),
  app: '0x0000000000000000000000000000000000000000',
  ledgerChannel: true,
  virtualChannel: false,
};
const state: State = {
  channelID: backend.channelId(params),
  version: 3n,
  outcome: {
    assets: [
      ethAsset(31337n, Wallet.createRandom().address),
      tonAsset(4294967057n, new TonAddress(0, randomBytes(32))),
    ],
    backends: [ETH_BACKEND_ID, TON_BACKEND_ID],
    balances: [
      [5n, 6n],
      [7n, 8n],
    ],
    locked: [],
  },
  appData: '0x',
  isFinal: false,
};
const sig = alice.signState(state, params);
const verify = (s: State, x: Hex, p: Params | undefined = params) =>
  backend.verifyState(s, x, alice.address, p);
const ethPart = sig.slice(0, 132);
const tonPart = `0x${sig.slice(132)}`;

test('a cross signature has 129 bytes and verifies with the params, not without', () => {
  expect((sig.length - 2) / 2).toBe(129);
  expect(verify(state, sig)).toBe(true);
  expect(backend.verifyState(state, sig, alice.address)).toBe(false);
  expect(backend.verifyState(state, sig, bob.address, params)).toBe(false);
  expect(verify(state, sig, { ...params, nonce: 8n })).toBe(false);
  // the Ed25519 part is a TON signature of the projection, by the ccAddress key
  expect(verifyTon(tonState(params, state), tonPart, alice.ccAddress)).toBe(true);
});

test('the TON projection: participants as their TON keys, TON channel ID, version, finality, the Toncoin allocation', () => {
  const tp = tonParams(params);
  expect(tp.participants).toEqual([tonParticipant(alice.ccAddress), tonParticipant(bob.ccAddress)]);
  expect({ ...tp, participants: params.participants }).toEqual(params);
  for (const isFinal of [false, true]) {
    expect(tonState(params, { ...state, isFinal })).toEqual({
      channelID: tonChannelId(tp),
      version: 3n,
      outcome: {
        assets: [state.outcome.assets[1]],
        backends: [TON_BACKEND_ID],
        balances: [[7n, 8n]],
        locked: [],
      },
      appData: '0x',
      isFinal,
    });
  }
  expect(tonChannelId(tp)).not.toBe(state.channelID);
});

test('sigParts takes exactly 129 bytes', () => {
  expect(sigParts(sig)).toEqual({ eth: ethPart, ton: tonPart });
  for (const bad of [sig.slice(0, -2), `${sig}00`, ethPart, tonPart])
    expect(() => sigParts(bad as Hex)).toThrow(EncodingError);
});

test.each([
  ['version', (s: State) => ({ ...s, version: 4n })],
  ['isFinal', (s: State) => ({ ...s, isFinal: true })],
  [
    'the ETH balance',
    (s: State) => ({
      ...s,
      outcome: {
        ...s.outcome,
        balances: [
          [4n, 7n],
          [7n, 8n],
        ],
      },
    }),
  ],
  [
    'the Toncoin balance',
    (s: State) => ({
      ...s,
      outcome: {
        ...s.outcome,
        balances: [
          [5n, 6n],
          [8n, 7n],
        ],
      },
    }),
  ],
])('a state with another %s is refused', (_what, change) => {
  expect(verify(change(structuredClone(state)), sig)).toBe(false);
});

test('the ETH balance alone changed: the Ed25519 part still verifies, the signature does not', () => {
  const other = { ...state, outcome: { ...state.outcome, balances: [[4n, 7n], state.outcome.balances[1]!] } };
  expect(verifyTon(tonState(params, other), tonPart, alice.ccAddress)).toBe(true);
  expect(verify(other, sig)).toBe(false);
});

test.each([
  ['a wrong Ed25519 part', () => `${ethPart}${bob.signState(state, params).slice(132)}`],
  ['a wrong ECDSA part', () => `${bob.signState(state, params).slice(0, 132)}${tonPart.slice(2)}`],
  ['the parts swapped', () => `0x${tonPart.slice(2)}${ethPart.slice(2)}`],
  [
    'the Ed25519 part of another version',
    () => `${ethPart}${alice.signState({ ...state, version: 2n }, params).slice(132)}`,
  ],
  ['truncated to 128 bytes', () => sig.slice(0, -2)],
  ['the ECDSA part alone', () => ethPart],
  ['the Ed25519 part alone', () => tonPart],
  ['one byte more', () => `${sig}00`],
])('%s is refused', (_what, forge) => {
  expect(verify(state, forge() as Hex)).toBe(false);
});

test('a 129-byte signature and the proposal’s ccAddresses cross the wire; other lengths are refused', () => {
  const update: ChannelMessage = { type: 'channel-update', state, actorIdx: 0, sig };
  const back = decodeChannelMessage(JSON.parse(JSON.stringify(encodeChannelMessage(update))));
  expect(back).toEqual(update);
  expect(verify((back as typeof update).state, (back as typeof update).sig)).toBe(true);
  for (const bad of [sig.slice(0, -2), `${sig}00`]) {
    const raw = JSON.parse(JSON.stringify(encodeChannelMessage({ ...update, sig: bad })));
    expect(() => decodeChannelMessage(raw)).toThrow(MalformedMessageError);
  }
  const proposal: ChannelMessage = {
    type: 'ledger-channel-proposal',
    proposalID: `0x${'11'.repeat(32)}`,
    challengeDuration: 60n,
    nonceShare: `0x${'22'.repeat(32)}`,
    participants: [alice.address, bob.address],
    peers: ['alice', 'bob'],
    app: params.app,
    initData: '0x',
    initBals: state.outcome,
    fundingAgreement: state.outcome.balances,
    ccAddresses: [alice.ccAddress, bob.ccAddress],
  };
  expect(decodeChannelMessage(JSON.parse(JSON.stringify(encodeChannelMessage(proposal))))).toEqual(proposal);
});

test.each([
  ['three participants', { ...params, participants: [...params.participants, params.participants[0]!] }],
  ['an app', { ...params, app: Wallet.createRandom().address }],
  ['a sub-channel', { ...params, ledgerChannel: false }],
  ['a virtual channel', { ...params, ledgerChannel: false, virtualChannel: true }],
  [
    'no TON key',
    {
      ...params,
      participants: [
        params.participants[0]!,
        { ...params.participants[1]!, ccAddress: `0x${'00'.repeat(32)}` },
      ],
    },
  ],
])('a channel with %s is refused', (_what, p) => {
  expect(() => checkCrossParams(p as Params)).toThrow(EncodingError);
  expect(() => backend.channelId(p as Params)).toThrow(EncodingError);
});

test.each([
  [
    'two Ethereum assets',
    (s: State) => ({ ...s, outcome: { ...s.outcome, backends: [ETH_BACKEND_ID, ETH_BACKEND_ID] } }),
  ],
  [
    'three assets',
    (s: State) => ({
      ...s,
      outcome: {
        ...s.outcome,
        assets: [...s.outcome.assets, s.outcome.assets[0]!],
        backends: [ETH_BACKEND_ID, TON_BACKEND_ID, ETH_BACKEND_ID],
        balances: [...s.outcome.balances, [1n, 1n]],
      },
    }),
  ],
  [
    'the TON network ID equal to the EVM chain ID',
    (s: State) => ({
      ...s,
      outcome: { ...s.outcome, assets: [s.outcome.assets[0]!, { ...s.outcome.assets[1]!, chainID: 31337n }] },
    }),
  ],
  [
    'locked funds',
    (s: State) => ({
      ...s,
      outcome: { ...s.outcome, locked: [{ ID: s.channelID, balances: [0n, 0n], indexMap: [] }] },
    }),
  ],
  ['app data', (s: State) => ({ ...s, appData: '0x01' })],
])('a state with %s is refused, signing it too', (_what, change) => {
  const bad = change(structuredClone(state)) as State;
  expect(() => crossAssets(bad)).toThrow(EncodingError);
  expect(() => alice.signState(bad, params)).toThrow(EncodingError);
  expect(() => backend.checkChannel(params, bad)).toThrow(EncodingError);
});

test('signing needs the params of the state’s channel', () => {
  expect(() => alice.signState(state)).toThrow(EncodingError);
  expect(() => alice.signState(state, { ...params, nonce: 8n })).toThrow(EncodingError);
});
