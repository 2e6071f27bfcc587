// The client's signature check remembers a valid signature for the same signature, the same
// address and exactly the content it was checked on: a copy of the state hits, while a copy with
// any field changed, the checked object changed in place, another address or another signature
// is checked by the backend again and gets the backend's verdict; a refused signature is never
// remembered.
import { ClientContext } from '../../src/channels/client/context.js';
import type { ChannelClientOptions } from '../../src/channels/client/types.js';
import { copyState } from '../../src/channels/copy.js';
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { ChannelBackend } from '../../src/channels/interfaces.js';
import type { State } from '../../src/channels/types.js';
import { HOLDER_B, ledgerParams, stateMutations, twoAssetState } from '../ethereum/fixtures.js';

const alice = EthereumSigner.random();
const bob = EthereumSigner.random();
const params = ledgerParams([alice.address, bob.address]);

/** A context whose backend counts its checks (verify() reads nothing else of the options). */
function counted(): { ctx: ClientContext; checks: () => number } {
  let n = 0;
  const backend: ChannelBackend = {
    channelId: ethereumBackend.channelId,
    verifyState: (state, sig, address, p) => {
      n++;
      return ethereumBackend.verifyState(state, sig, address, p);
    },
  };
  const ctx = new ClientContext({ backend } as unknown as ChannelClientOptions, () => undefined);
  return { ctx, checks: () => n };
}

const inPlace: Array<[string, (s: State) => void]> = [
  ['version', (s) => void (s.version += 1n)],
  ['balance', (s) => void (s.outcome.balances[0]![1]! += 1n)],
  ['asset holder', (s) => void (s.outcome.assets[0]!.ethHolder = HOLDER_B)],
  ['locked balance', (s) => void (s.outcome.locked[0]!.balances[0]! += 1n)],
  ['app data', (s) => void (s.appData = '0xc0ffef')],
  ['is final', (s) => void (s.isFinal = true)],
];

describe('ClientContext.verify remembers exactly what it checked', () => {
  it('a copy of a checked state hits without a second check', () => {
    const { ctx, checks } = counted();
    const state = twoAssetState(params);
    const sig = alice.signState(state);
    expect(ctx.verify(state, sig, alice.address, params)).toBe(true);
    expect(ctx.verify(copyState(state), sig, alice.address, params)).toBe(true);
    expect(checks()).toBe(1);
  });

  it.each(stateMutations())('a copy with the %s changed is checked again and refused', (_f, mutate) => {
    const { ctx, checks } = counted();
    const state = twoAssetState(params);
    const sig = alice.signState(state);
    expect(ctx.verify(state, sig, alice.address, params)).toBe(true);
    expect(ctx.verify(mutate(copyState(state)), sig, alice.address, params)).toBe(false);
    expect(checks()).toBe(2);
  });

  it.each(inPlace)(
    'the checked object with its %s changed in place is checked again and refused',
    (_f, change) => {
      const { ctx, checks } = counted();
      const state = twoAssetState(params);
      const sig = alice.signState(state);
      expect(ctx.verify(state, sig, alice.address, params)).toBe(true);
      change(state);
      expect(ctx.verify(state, sig, alice.address, params)).toBe(false);
      expect(checks()).toBe(2);
    },
  );

  it('another address or another signature is checked again', () => {
    const { ctx, checks } = counted();
    const state = twoAssetState(params);
    const sig = alice.signState(state);
    expect(ctx.verify(state, sig, alice.address, params)).toBe(true);
    expect(ctx.verify(state, sig, bob.address, params)).toBe(false);
    expect(ctx.verify(state, bob.signState(state), alice.address, params)).toBe(false);
    expect(ctx.verify(state, bob.signState(state), bob.address, params)).toBe(true);
    expect(checks()).toBe(4);
  });

  it('a refused signature is not remembered', () => {
    const { ctx, checks } = counted();
    const state = twoAssetState(params);
    const sig = bob.signState(state);
    expect(ctx.verify(state, sig, alice.address, params)).toBe(false);
    expect(ctx.verify(state, sig, alice.address, params)).toBe(false);
    expect(checks()).toBe(2);
  });

  it('a state the backend cannot encode counts as unsigned', () => {
    const { ctx } = counted();
    const state = twoAssetState(params);
    const sig = alice.signState(state);
    const broken = { ...state, outcome: undefined } as unknown as State;
    expect(ctx.verify(broken, sig, alice.address, params)).toBe(false);
  });
});
