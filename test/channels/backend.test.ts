// The Ethereum backend behind the core's interfaces: channel IDs and signature checks through
// ChannelBackend, EthereumSigner and EthereumFunder used where the core expects a Signer and a
// Funder, and the adjudicator adapter refusing to withdraw for a participant it has no key for.
import { ChainError } from '../../src/channels/errors.js';
import type { EthereumAdjudicator } from '../../src/channels/ethereum/adjudicator.js';
import { EthereumAdjudicatorAdapter, ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { channelId } from '../../src/channels/ethereum/encoding.js';
import type { EthereumFunder } from '../../src/channels/ethereum/funder.js';
import type { Adjudicator, Funder, Signer } from '../../src/channels/interfaces.js';
import { ChannelMachine } from '../../src/channels/machine.js';
import { CHANNEL_ID, PARAMS, alice, bob, state } from './fixtures.js';

describe('the Ethereum backend as the core sees it', () => {
  it('derives the channel ID the encoder does and verifies state signatures', () => {
    expect(ethereumBackend.channelId(PARAMS)).toBe(channelId(PARAMS));
    const s = state(3n);
    expect(ethereumBackend.verifyState(s, alice.signState(s), alice.address)).toBe(true);
    expect(ethereumBackend.verifyState(s, alice.signState(s), bob.address)).toBe(false);
  });

  it('EthereumSigner is a Signer and drives a channel machine', async () => {
    const signers: Signer[] = [alice, bob];
    const m = ChannelMachine.create(
      { params: PARAMS, channelID: CHANNEL_ID, idx: 1 },
      ethereumBackend.verifyState,
    );
    m.init(state(0n));
    for (const [i, s] of signers.entries()) m.addSignature(i, await s.signState(state(0n)));
    m.enable();
    expect(m.phase).toBe('Funding');
  });

  it('EthereumFunder is a Funder (checked by the compiler)', () => {
    const asFunder = (f: EthereumFunder): Funder => f;
    expect(typeof asFunder).toBe('function');
  });

  it('the adjudicator adapter withdraws only for the participant whose key it holds', async () => {
    const calls: unknown[] = [];
    const fake = {
      withdraw: async (...args: unknown[]) => {
        calls.push(args);
        return [{ asset: 0, holder: '0x' + '11'.repeat(20), amount: 5n }];
      },
    } as unknown as EthereumAdjudicator;
    const adj: Adjudicator = new EthereumAdjudicatorAdapter(fake, alice);
    await expect(adj.withdraw(PARAMS, state(1n), 1)).rejects.toBeInstanceOf(ChainError);
    await expect(adj.withdraw(PARAMS, state(1n), 0)).resolves.toEqual([{ asset: 0, amount: 5n }]);
    expect(calls).toHaveLength(1);
  });

  it('the adapter reports an unregistered channel as stage none', async () => {
    const fake = {
      dispute: async () => ({
        registered: false,
        timeout: 0n,
        challengeDuration: 0n,
        version: 0n,
        phase: 0,
        stateHash: '0x',
        hasApp: false,
      }),
    } as unknown as EthereumAdjudicator;
    await expect(new EthereumAdjudicatorAdapter(fake, alice).dispute(CHANNEL_ID)).resolves.toEqual({
      stage: 'none',
      version: 0n,
      timeout: 0n,
    });
  });
});
