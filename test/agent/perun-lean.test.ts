// The Perun lean path between real agents: its envelopes are Credo's (each lean message packed by
// the lean path opens with Credo's envelope service, and one Credo packs opens on the lean path);
// an agent without it (Carol: Credo's pipeline only, the Perun module's message classes) pays and
// is paid by one with it; over WebSocket where both offer it; and what the lean path must not take
// (a proposal, a trust ping, a malformed update, even when packed by the lean path) goes through
// Credo's pipeline as before.
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  DidCommEnvelopeService,
  DidCommEventTypes,
  DidCommTrustPingEventTypes,
  type DidCommConnectionRecord,
  type DidCommMessageProcessedEvent,
  type TrustPingResponseReceivedEvent,
} from '@credo-ts/didcomm';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { JsonObject } from '../../src/channels/json.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import type { Hex } from '../../src/channels/types.js';
import {
  PerunProblemReportMessage,
  LedgerChannelProposalMessage,
} from '../../src/protocols/perun/messages/channel-messages.js';
import { toPlaintext } from '../../src/protocols/perun/wire-format.js';
import { startWorld, type World } from '../ethereum/harness.js';
import {
  closeSides,
  connect,
  credoPack,
  ed25519,
  leanPeer,
  nextUpdate,
  openChannel,
  post,
  side,
  type Side,
} from './lean-support.js';

jest.setTimeout(60_000);

let world: World;
let alice: Side;
let bob: Side;
let carol: Side | undefined;
let dave: Side | undefined;
let erin: Side | undefined;
let ab: DidCommConnectionRecord;
let ba: DidCommConnectionRecord;
let channel: Hex;

beforeAll(async () => {
  world = await startWorld();
  alice = await side(world, 'Alice', 1);
  bob = await side(world, 'Bob', 2);
  [ab, ba] = await connect(alice, bob);
  channel = await openChannel(world, alice, bob, ab);
}, 120_000);

afterAll(async () => {
  await closeSides([alice, bob, carol, dave, erin]);
  await world.stop();
});

/** One plaintext of each lean message, as the wire writes it. */
function leanPlaintexts(): Record<string, JsonObject> {
  const { state, sig } = nextUpdate(alice, channel);
  const thread = { thid: randomUUID() };
  return {
    'channel-update': {
      ...toPlaintext({ type: 'channel-update', state, actorIdx: 0, sig }),
      '~transport': { return_route: 'all' },
    },
    'channel-update-accept': {
      ...toPlaintext({ type: 'channel-update-accept', channelID: channel, version: state.version, sig }),
      '~thread': thread,
    },
    'channel-sync': toPlaintext({ type: 'channel-sync', phase: 'Acting', state, sigs: [sig, sig] }),
    'problem-report': {
      '@type': PerunProblemReportMessage.type.messageTypeUri,
      '@id': randomUUID(),
      description: { en: 'stale', code: 'version-used' },
      min_version: '7',
      '~thread': thread,
    },
  };
}

describe('envelopes', () => {
  it('every lean message the lean path packs opens with Credo’s envelope service, sender and recipient as on the connection', async () => {
    const peer = await leanPeer(alice, ab);
    const bobPeer = await leanPeer(bob, ba);
    const envelopes = bob.agent.dependencyManager.resolve(DidCommEnvelopeService);
    for (const [name, plaintext] of Object.entries(leanPlaintexts())) {
      const envelope = alice.agent.modules.perun.lean!.pack(peer, plaintext);
      const opened = await envelopes.unpackMessage(bob.agent.context, envelope as never);
      expect([name, opened.plaintextMessage]).toEqual([name, plaintext]);
      expect(opened.senderKey?.fingerprint).toBe(ed25519(peer.ourKid).fingerprint);
      expect(opened.recipientKey.fingerprint).toBe(ed25519(bobPeer.ourKid).fingerprint);
    }
  });

  it('every lean message Credo packs on the connection opens on the lean path, matched to that connection', async () => {
    const bobPeer = await leanPeer(bob, ba);
    const alicePeer = await leanPeer(alice, ab);
    for (const [name, plaintext] of Object.entries(leanPlaintexts())) {
      const envelope = await credoPack(bob, plaintext, alicePeer.ourKid, {
        kid: bobPeer.ourKid,
        keyId: bobPeer.ourKeyId,
      });
      const opened = await alice.agent.modules.perun.lean!.open(envelope);
      expect([name, opened?.plaintext]).toEqual([name, plaintext]);
      expect(opened?.peer.connectionId).toBe(ab.id);
      expect(opened?.peer.theirDid).toBe(ab.theirDid);
    }
  });
});

describe('between agents', () => {
  it('updates, accepts and refusals travel on the lean path; the states agree', async () => {
    alice.lean.clear();
    bob.lean.clear();
    for (let i = 0; i < 5; i++) {
      await alice.client.sendPayment(channel, 2n);
      await bob.client.sendPayment(channel, 1n);
    }
    expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
    expect(alice.lean.get('sent channel-update')).toBe(5);
    expect(bob.lean.get('processed channel-update')).toBe(5);
    expect(bob.lean.get('sent channel-update-accept')).toBe(5);
    expect(alice.lean.get('processed channel-update-accept')).toBe(5);
    expect(bob.lean.get('sent channel-update')).toBe(5);
    expect(alice.lean.get('processed channel-update')).toBe(5);

    // An update signed by a stranger: Bob's refusal comes back as a problem report with its code.
    const rejected = new Promise<ChannelMessage>((resolve) => {
      const off = alice.agent.modules.perun.wire.onMessage((_, m) => {
        if (m.type !== 'channel-update-reject') return;
        off();
        resolve(m);
      });
    });
    const { state } = nextUpdate(alice, channel);
    await alice.agent.modules.perun.wire.send(ab.theirDid!, {
      type: 'channel-update',
      state,
      actorIdx: 0,
      sig: EthereumSigner.random().signState(state),
    });
    expect(await rejected).toMatchObject({ code: 'INVALID_SIGNATURE', version: state.version });
    expect(bob.lean.get('sent problem-report')).toBe(1);
    expect(alice.lean.get('processed problem-report')).toBe(1);
    expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
  });

  it('an agent without the lean path (Carol, Credo’s pipeline only) pays and is paid by one with it', async () => {
    carol = await side(world, 'Carol', 3, { lean: false });
    expect(carol.agent.modules.perun.lean).toBeUndefined();
    const [ac] = await connect(alice, carol);
    const id = await openChannel(world, alice, carol, ac);
    alice.lean.clear();
    for (let i = 0; i < 3; i++) {
      await alice.client.sendPayment(id, 3n);
      await carol.client.sendPayment(id, 1n);
    }
    const state = alice.client.channel(id).state!;
    expect(state.version).toBe(6n);
    expect(carol.client.channel(id).state).toEqual(state);
    // Alice's updates and accepts went out lean and Carol's Credo read them; Carol's Credo-packed
    // accepts and updates opened on Alice's lean path.
    expect(alice.lean.get('sent channel-update')).toBe(3);
    expect(alice.lean.get('sent channel-update-accept')).toBe(3);
    expect(alice.lean.get('processed channel-update-accept')).toBe(3);
    expect(alice.lean.get('processed channel-update')).toBe(3);
    expect(carol.lean.size).toBe(0);
  });

  it('over WebSocket where both agents offer it', async () => {
    dave = await side(world, 'Dave', 4, { ws: true });
    erin = await side(world, 'Erin', 5, { ws: true });
    const [de, ed] = await connect(dave, erin);
    expect((await leanPeer(dave, de)).scheme).toBe('ws');
    expect((await leanPeer(erin, ed)).scheme).toBe('ws');
    const id = await openChannel(world, dave, erin, de);
    for (let i = 0; i < 3; i++) {
      await dave.client.sendPayment(id, 2n);
      await erin.client.sendPayment(id, 1n);
    }
    expect(erin.client.channel(id).state).toEqual(dave.client.channel(id).state);
    expect(dave.client.channel(id).state!.version).toBe(6n);
    expect(erin.lean.get('processed channel-update')).toBe(3);
    expect(dave.lean.get('processed channel-update')).toBe(3);
    // Over HTTP with Alice, who offers no WebSocket.
    const [da] = await connect(dave, alice);
    expect((await leanPeer(dave, da)).scheme).toBe('http');
  });
});

describe('what the lean path does not take goes through Credo’s pipeline', () => {
  /** Packs `plaintext` with Alice's lean path for Bob, posts it, resolves with what Bob's Credo processed. */
  async function viaLeanPacking(plaintext: JsonObject): Promise<DidCommMessageProcessedEvent['payload']> {
    const peer = await leanPeer(alice, ab);
    const envelope = alice.agent.modules.perun.lean!.pack(peer, plaintext);
    const processed = new Promise<DidCommMessageProcessedEvent['payload']>((resolve) => {
      const on = (e: DidCommMessageProcessedEvent) => {
        if (e.payload.encryptedMessage?.ciphertext !== envelope.ciphertext) return;
        bob.agent.events.off(DidCommEventTypes.DidCommMessageProcessed, on);
        resolve(e.payload);
      };
      bob.agent.events.on(DidCommEventTypes.DidCommMessageProcessed, on);
    });
    const lean = bob.lean.get('processed ' + String(plaintext['@type']).split('/').pop()) ?? 0;
    expect(await post(bob, envelope)).toBe(202);
    const payload = await processed;
    expect(bob.lean.get('processed ' + String(plaintext['@type']).split('/').pop()) ?? 0).toBe(lean);
    return payload;
  }

  // A ledger channel's proposal in the plain form takes the lean path (perun-lean-proposals.test.ts);
  // one with a decorator beyond ~thread and ~transport goes to Credo's pipeline.
  it('a channel proposal with a ~timing decorator', async () => {
    const proposals: string[] = [];
    const off = bob.agent.modules.perun.wire.onMessage((_, m) => {
      if (m.type === 'ledger-channel-proposal') proposals.push(m.proposalID);
    });
    try {
      const proposalID = ('0x' + '5a'.repeat(32)) as Hex;
      const state = alice.client.channel(channel).state!;
      const payload = await viaLeanPacking({
        '~timing': { out_time: new Date().toISOString() },
        ...toPlaintext({
          type: 'ledger-channel-proposal',
          proposalID,
          challengeDuration: 60n,
          nonceShare: ('0x' + '01'.repeat(32)) as Hex,
          participants: [alice.party.signer.address, bob.party.signer.address],
          peers: [ab.did!, ab.theirDid!],
          app: ('0x' + '00'.repeat(20)) as Hex,
          initData: '0x',
          initBals: state.outcome,
          fundingAgreement: state.outcome.balances,
        }),
      });
      expect(payload.message).toBeInstanceOf(LedgerChannelProposalMessage);
      expect(proposals).toEqual([proposalID]);
    } finally {
      off();
    }
  });

  it('a trust ping, answered as ever', async () => {
    const pong = new Promise<void>((resolve) =>
      alice.agent.events.on<TrustPingResponseReceivedEvent>(
        DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent,
        () => resolve(),
      ),
    );
    const payload = await viaLeanPacking({
      '@type': 'https://didcomm.org/trust_ping/1.0/ping',
      '@id': randomUUID(),
      response_requested: true,
    });
    expect(payload.message.type).toBe('https://didcomm.org/trust_ping/1.0/ping');
    await pong;
  });

  it('a malformed update: Credo’s pipeline answers with the malformed problem report, the channel is untouched', async () => {
    const before = alice.client.channel(channel).state!;
    const { state, sig } = nextUpdate(alice, channel);
    const bad = toPlaintext({ type: 'channel-update', state, actorIdx: 0, sig });
    (bad['state'] as JsonObject)['version'] = '-1';
    const report = new Promise<PerunProblemReportMessage>((resolve) =>
      alice.agent.events.on<DidCommMessageProcessedEvent>(DidCommEventTypes.DidCommMessageProcessed, (e) => {
        const m = e.payload.message;
        if (m instanceof PerunProblemReportMessage && m.threadId === bad['@id']) resolve(m);
      }),
    );
    await viaLeanPacking(bad);
    expect((await report).description.code).toBe('malformed');
    expect(bob.client.channel(channel).state).toEqual(before);
  });
});
