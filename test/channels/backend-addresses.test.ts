// The core's addresses and signatures are not Ethereum's only (TON names participants by 32-byte
// Ed25519 keys and signs with 64-byte signatures): each backend refuses the other's forms
// cleanly: a foreign signature does not verify, a foreign participant address cannot make a
// channel ID.
import { EncodingError } from '../../src/channels/errors.js';
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { tonBackend } from '../../src/channels/ton/backend.js';
import { tonParticipant, ZERO_ADDRESS, ZERO_BYTES32 } from '../../src/channels/ton/encoding.js';
import { TonSigner } from '../../src/channels/ton/signer.js';
import type { Params, State } from '../../src/channels/types.js';
import { validateParams } from '../../src/channels/validation.js';

const eth = [EthereumSigner.random(), EthereumSigner.random()];
const ton = [TonSigner.random(), TonSigner.random()];

const params = (participants: Params['participants']): Params => ({
  challengeDuration: 60n,
  nonce: 1n,
  participants,
  app: ZERO_ADDRESS,
  ledgerChannel: true,
  virtualChannel: false,
});
const ethParams = params(eth.map((s) => ({ ethAddress: s.address, ccAddress: ZERO_BYTES32 })));
const tonParams = params(ton.map((s) => tonParticipant(s.address)));

const state = (p: Params, backend: typeof ethereumBackend, backendId: bigint): State => ({
  channelID: backend.channelId(p),
  version: 1n,
  outcome: {
    assets: [{ chainID: 1n, ethHolder: ZERO_ADDRESS, ccHolder: ZERO_BYTES32 }],
    backends: [backendId],
    balances: [[1n, 2n]],
    locked: [],
  },
  appData: '0x',
  isFinal: false,
});

test('the core takes 20- and 32-byte participant addresses, and nothing else', () => {
  expect(() => validateParams(ethParams)).not.toThrow();
  expect(() => validateParams(tonParams)).not.toThrow();
  const odd = params([{ ethAddress: `0x${'11'.repeat(21)}`, ccAddress: '0x' }, tonParams.participants[1]!]);
  expect(() => validateParams(odd)).toThrow(/participant address is malformed/);
});

test("each backend refuses to make a channel ID of the other's participants", () => {
  expect(() => ethereumBackend.channelId(tonParams)).toThrow();
  expect(() => tonBackend.channelId(ethParams)).toThrow(EncodingError);
});

test("a signature of the other backend's form does not verify (and does not throw)", async () => {
  const s = state(tonParams, tonBackend, 7n);
  const tonSig = ton[0]!.signState(s);
  expect(tonBackend.verifyState(s, tonSig, ton[0]!.address)).toBe(true);
  expect(ethereumBackend.verifyState(s, tonSig, eth[0]!.address)).toBe(false);
  const e = { ...state(ethParams, ethereumBackend, 1n) };
  const ethSig = await eth[0]!.signState(e);
  expect(ethereumBackend.verifyState(e, ethSig, eth[0]!.address)).toBe(true);
  expect(tonBackend.verifyState(e, ethSig, ton[0]!.address)).toBe(false);
});
