// An Ethereum–TON channel's proposal and update over the Perun DIDComm messages: `cc_addresses`
// and a 129-byte `sig` survive the snake_case wire form and Credo's message classes.
import { toDidComm, fromDidComm, toPlaintext } from '../../src/protocols/perun/wire-format.js';
import type { ChannelMessage } from '../../src/channels/messages.js';

const key = (b: string) => `0x${b.repeat(32)}`;
const sig = `0x${'ab'.repeat(129)}`;
const proposal: ChannelMessage = {
  type: 'ledger-channel-proposal',
  proposalID: key('11'),
  challengeDuration: 60n,
  nonceShare: key('22'),
  participants: ['0x' + '01'.repeat(20), '0x' + '02'.repeat(20)],
  peers: ['did:example:alice', 'did:example:bob'],
  app: '0x' + '00'.repeat(20),
  initData: '0x',
  initBals: {
    assets: [
      { chainID: 1n, ethHolder: '0x' + '03'.repeat(20), ccHolder: key('00') },
      { chainID: 4294967057n, ethHolder: '0x' + '00'.repeat(20), ccHolder: key('04') },
    ],
    backends: [1n, 7n],
    balances: [
      [1n, 0n],
      [0n, 2n],
    ],
    locked: [],
  },
  fundingAgreement: [
    [1n, 0n],
    [0n, 2n],
  ],
  ccAddresses: [key('aa'), key('bb')],
};

test('cc_addresses and a 129-byte signature cross the DIDComm wire form', () => {
  expect(toPlaintext(proposal).cc_addresses).toEqual([key('aa'), key('bb')]);
  expect(fromDidComm(toDidComm(proposal))).toEqual(proposal);
  const accept: ChannelMessage = {
    type: 'ledger-channel-accept',
    proposalID: key('11'),
    nonceShare: key('33'),
    sig,
  };
  expect(fromDidComm(toDidComm(accept))).toEqual(accept);
});
