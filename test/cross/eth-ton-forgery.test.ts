// Forged signatures on a live Ethereum–TON channel: Alice's updates reach Bob with one part of
// her 129-byte signature wrong (the Ed25519 part, the ECDSA part, the parts swapped) or
// truncated. Bob's verifier refuses the first three, his wire decoder drops the last; he stores
// nothing (his stored channel stays at the last fully signed state, nothing staged), and a
// genuine payment in between goes through.
import type { ChannelMessage } from '../../src/channels/messages.js';
import type { Hex } from '../../src/channels/types.js';
import { ETH, TON, openEthTon, type EthTon, useEthTon } from './harness.js';

const chains = useEthTon();
let w: EthTon;
beforeEach(() => {
  w = chains();
});

/** Bytes of the signature's ECDSA part in hex digits, after 0x. */
const ETH_DIGITS = 130;
const flip = (h: string): string => `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}`;
/** Each forgery with how Alice's update fails: Bob's verifier refuses it, or his wire decoder drops it. */
const refused = {
  code: 'UPDATE_REJECTED',
  details: expect.objectContaining({ peerCode: 'INVALID_SIGNATURE' }),
};
const FORGERIES: Array<[string, (sig: Hex) => Hex, object]> = [
  ['a wrong Ed25519 part', (sig) => flip(sig), refused],
  ['a wrong ECDSA part', (sig) => `0x${flip(sig.slice(2, 2 + 64))}${sig.slice(2 + 64)}`, refused],
  ['the parts swapped', (sig) => `0x${sig.slice(2 + ETH_DIGITS)}${sig.slice(2, 2 + ETH_DIGITS)}`, refused],
];
/** Dropped by Bob's wire decoder: Alice's update stays unanswered (and staged on her side), so it goes last. */
const truncated = (sig: Hex): Hex => sig.slice(0, -2);

test('each forged signature is refused and Bob stores nothing; a genuine payment then goes through', async () => {
  let forge: ((sig: Hex) => Hex) | undefined;
  const tamper = (msg: ChannelMessage): ChannelMessage =>
    msg.type === 'channel-update' && forge !== undefined ? { ...msg, sig: forge(msg.sig) } : msg;
  const alice = await w.person('alice', { tamper });
  const bob = await w.person('bob');
  const id = await openEthTon(w, alice, bob, [ETH, 0n], [0n, TON]);
  await alice.client.sendPayment(id, 1n, 0);
  const before = await bob.store.getChannel(id);
  expect(before!.current!.state.version).toBe(1n);
  for (const [what, f, failure] of FORGERIES) {
    forge = f;
    await expect(alice.client.sendPayment(id, 2n, 0)).rejects.toMatchObject(failure);
    const after = await bob.store.getChannel(id);
    expect([what, after!.current]).toEqual([what, before!.current]);
    expect([what, after!.staged]).toEqual([what, null]);
    expect(bob.client.channel(id).state!.version).toBe(1n);
  }
  forge = undefined;
  await alice.client.sendPayment(id, 3n, 0);
  expect(bob.client.channel(id).state!.outcome.balances).toEqual([
    [ETH - 4n, 4n],
    [0n, TON],
  ]);
  const signed = (await bob.store.getChannel(id))!.current;
  forge = truncated;
  await expect(alice.client.sendPayment(id, 5n, 0)).rejects.toMatchObject({ code: 'PEER_TIMEOUT' });
  expect((await bob.store.getChannel(id))!.current).toEqual(signed);
  expect((await bob.store.getChannel(id))!.staged).toBeNull();
}, 120_000);

test('a proposal naming another TON key for Bob, or two Ethereum assets, is refused', async () => {
  const carol = await w.person('carol');
  const dave = await w.person('dave');
  const alloc = w.allocation([ETH, 0n], [0n, TON]);
  const base = { peer: 'dave', peerAddress: dave.signer.address, challengeDuration: 60n };
  await expect(
    carol.client.proposeChannel({ ...base, peerCcAddress: carol.signer.ccAddress, allocation: alloc }),
  ).rejects.toMatchObject({
    code: 'PROPOSAL_REJECTED',
    message: expect.stringContaining('second-chain key'),
  });
  const twoEth = { ...alloc, backends: [alloc.backends[0]!, alloc.backends[0]!] };
  await expect(
    carol.client.proposeChannel({ ...base, peerCcAddress: dave.signer.ccAddress, allocation: twoEth }),
  ).rejects.toMatchObject({
    code: 'INVALID_REQUEST',
    message: expect.stringContaining('one asset on Ethereum and one on TON'),
  });
  expect(await dave.store.listChannels()).toEqual([]);
}, 60_000);
