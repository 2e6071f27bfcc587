// One valid sample of every Perun channel message, for the wire-format and fuzzing suites.
import type { ChannelMessage } from '../../src/channels/messages.js';
import { CHANNEL_ID, PARAMS, alice, bob, state } from '../channels/fixtures.js';

const S = state(3n);
const SIG = alice.signState(S);

export const SAMPLE_MESSAGES: ChannelMessage[] = [
  {
    type: 'ledger-channel-proposal',
    proposalID: '0x' + '01'.repeat(32),
    challengeDuration: 3600n,
    nonceShare: '0x' + '02'.repeat(32),
    participants: [alice.address, bob.address],
    peers: ['did:peer:2.alice', 'did:peer:2.bob'],
    app: PARAMS.app,
    initData: '0x',
    initBals: { ...S.outcome, locked: [] },
    fundingAgreement: S.outcome.balances,
  },
  {
    type: 'ledger-channel-accept',
    proposalID: '0x' + '01'.repeat(32),
    nonceShare: '0x' + '03'.repeat(32),
    sig: SIG,
  },
  { type: 'channel-proposal-reject', proposalID: '0x' + '01'.repeat(32), reason: 'no credential' },
  { type: 'channel-update', state: S, actorIdx: 0, sig: SIG },
  {
    type: 'channel-update',
    state: S,
    actorIdx: 1,
    sig: SIG,
    payments: [
      { id: 'invoice-7:item.2', asset: 0, amount: 10n },
      { id: '8f0e2b1c-5a4d-4e1f-9b7a-2c3d4e5f6a7b', asset: 0, amount: 1n },
    ],
  },
  { type: 'channel-update-accept', channelID: CHANNEL_ID, version: 3n, sig: SIG },
  {
    type: 'channel-update-reject',
    channelID: CHANNEL_ID,
    version: 3n,
    reason: 'stale',
    code: 'STALE_VERSION',
  },
  { type: 'channel-sync', phase: 'Acting', state: S, sigs: [SIG, bob.signState(S)] },
  {
    type: 'channel-sync-batch',
    channels: [
      {
        phase: 'Acting',
        state: S,
        sigs: [SIG, bob.signState(S)],
        payments: [{ version: 3n, payer: 0, id: 'invoice-7', asset: 0, amount: 10n }],
      },
    ],
    synced: [CHANNEL_ID],
  },
  {
    type: 'sub-channel-proposal',
    proposalID: '0x' + '04'.repeat(32),
    parentID: CHANNEL_ID,
    challengeDuration: 1800n,
    nonceShare: '0x' + '05'.repeat(32),
    app: PARAMS.app,
    initData: '0x',
    initBals: { ...S.outcome, locked: [] },
  },
  {
    type: 'sub-channel-accept',
    proposalID: '0x' + '04'.repeat(32),
    nonceShare: '0x' + '06'.repeat(32),
    sig: SIG,
  },
  {
    type: 'virtual-channel-proposal',
    proposalID: '0x' + '07'.repeat(32),
    challengeDuration: 600n,
    nonceShare: '0x' + '08'.repeat(32),
    participants: [alice.address, bob.address],
    intermediary: '0x' + '09'.repeat(20),
    initBals: { ...S.outcome, locked: [] },
  },
  {
    type: 'virtual-channel-accept',
    proposalID: '0x' + '07'.repeat(32),
    nonceShare: '0x' + '0a'.repeat(32),
    sig: SIG,
  },
  {
    type: 'virtual-channel-update',
    state: S,
    actorIdx: 1,
    sig: SIG,
    virtual: {
      params: { ...PARAMS, ledgerChannel: false, virtualChannel: true },
      state: S,
      sigs: [SIG, SIG],
    },
  },
];
