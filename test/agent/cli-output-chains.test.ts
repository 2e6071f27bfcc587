// What the CLI prints of an agent on several chains (src/agent/cli/output.ts): a channel of
// several assets shows each with its chain, the balance a line per chain, a settlement that paid
// out on several chains names each chain; a one-asset channel prints as it always did.
import { balanceLines, channelLine, channelsTable, settlementLine } from '../../src/agent/cli/output.js';
import type { BalanceView, ChannelView } from '../../src/agent/node/types.js';

const channel: ChannelView = {
  id: '0xc1',
  connectionId: 'conn',
  peerDid: 'did:peer:bob',
  peerLabel: 'Bob',
  idx: 0,
  phase: 'Acting',
  status: 'open',
  version: '3',
  asset: 'ETH',
  chainId: '31337',
  ourBalance: '1.5',
  theirBalance: '0.5',
  assets: [
    { chainId: '31337', asset: 'ETH', ourBalance: '1.5', theirBalance: '0.5' },
    { chainId: '31338', asset: 'PRN', token: '0xt', ourBalance: '10', theirBalance: '90' },
  ],
  challengeDuration: 60,
  participants: [],
  isFinal: false,
  virtual: false,
  locked: '0',
  queuedPayments: 0,
  synced: true,
};

test('a cross-chain channel shows each asset with its chain; a one-asset channel as before', () => {
  expect(channelLine(channel)).toBe(
    'channel 0xc1 with Bob: open (Acting), version 3, ours 1.5 ETH on 31337 + 10 PRN on 31338, theirs 0.5 ETH on 31337 + 90 PRN on 31338',
  );
  const one = { ...channel, assets: [channel.assets![0]!] };
  expect(channelLine(one)).toBe(
    'channel 0xc1 with Bob: open (Acting), version 3, ours 1.5 ETH, theirs 0.5 ETH',
  );
  expect(channelsTable([channel])).toContain('1.5 ETH on 31337 + 10 PRN on 31338');
  expect(channelsTable([one])).not.toContain('31337');
});

test('the balance has a line per chain; a settlement on two chains names each', () => {
  const b: BalanceView = {
    address: '0xa',
    onChain: '9',
    inChannels: '1.5',
    channels: 1,
    tokens: [],
    chains: [
      { chainId: '31337', onChain: '9', inChannels: '1.5', tokens: [] },
      {
        chainId: '31338',
        onChain: '10',
        inChannels: '0',
        tokens: [{ asset: 'PRN', token: '0xt', onChain: '0', inChannels: '10' }],
      },
    ],
  };
  expect(balanceLines(b)).toContain('chain 31338');
  expect(balanceLines(b)).toContain('10 ETH on chain, 0 in channels; 0 PRN on chain, 10 in channels');
  expect(
    settlementLine({
      channelId: '0xc1',
      alreadySettled: false,
      withdrawn: [
        { asset: 'ETH', chainId: '31337', amount: '1.5', receiver: '0xa' },
        { asset: 'PRN', chainId: '31338', amount: '10', receiver: '0xa' },
      ],
    }),
  ).toBe(
    'channel 0xc1 settled: withdrew 1.5 ETH on chain 31337 to 0xa, withdrew 10 PRN on chain 31338 to 0xa',
  );
  expect(
    settlementLine({
      channelId: '0xc1',
      alreadySettled: false,
      withdrawn: [{ asset: 'ETH', chainId: '31337', amount: '1.5', receiver: '0xa' }],
    }),
  ).toBe('channel 0xc1 settled: withdrew 1.5 ETH to 0xa');
});
