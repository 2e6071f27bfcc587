// The protocols' URIs between real agents: every message goes out under this project's namespace
// (https://perun-agent.org/protocols/) and discover-features announces it; a message under the
// old https://didcomm.org/ URIs is still processed, on Credo's pipeline and where it comes on the
// lean path's transport, and answered under the old URIs; an unknown message type under the new
// namespace is refused as before.
import { jest } from '@jest/globals';
import { JsonTransformer } from '@credo-ts/core';
import {
  DidCommEventTypes,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  type DidCommConnectionRecord,
  type DidCommMessage,
  type DidCommMessageProcessedEvent,
  type DidCommMessageSentEvent,
} from '@credo-ts/didcomm';
import { DidCommMessage as Message, IsValidMessageType, parseMessageType } from '@credo-ts/didcomm';
import { parseEther } from 'ethers';
import type { Hex } from '../../src/channels/types.js';
import {
  CREDENTIAL_SALE_PROTOCOL_URI,
  CredentialSaleOfferMessage,
  LEGACY_CREDENTIAL_SALE_MESSAGES,
} from '../../src/protocols/credential-sale/messages/credential-sale-messages.js';
import {
  AddressProofMessage,
  AddressProofRequestMessage,
  IDENTITY_PROTOCOL_URI,
  LEGACY_IDENTITY_MESSAGES,
} from '../../src/protocols/identity/messages/identity-messages.js';
import { recoverAddressProof } from '../../src/protocols/identity/address-proof.js';
import { AddressProofService } from '../../src/protocols/identity/services/address-proof-service.js';
import { PerunLeanEventTypes, type PerunLeanMessageSentEvent } from '../../src/protocols/perun/lean/index.js';
import {
  LEGACY_PERUN_MESSAGES,
  PERUN_PROTOCOL_URI,
  PerunProblemReportMessage,
} from '../../src/protocols/perun/messages/channel-messages.js';
import {
  legacyClass,
  LEGACY_PROTOCOL_NAMESPACE,
  PROTOCOL_NAMESPACE,
} from '../../src/protocols/protocol-uris.js';
import { startWorld, type World } from '../ethereum/harness.js';
import * as identity from './identity-harness.js';
import { closeSides, connect, openChannel, side, type Side } from '../agent/lean-support.js';

jest.setTimeout(90_000);

const OLD_PERUN = `${LEGACY_PROTOCOL_NAMESPACE}perun/1.0`;

let world: World;
let alice: Side;
let bob: Side;
let ab: DidCommConnectionRecord;
let ba: DidCommConnectionRecord;
let channel: Hex;
/** Every plaintext each side sent (Credo's pipeline and the lean path) and the @types it processed. */
const sent = new Map<string, Record<string, unknown>[]>();
const processed = new Map<string, string[]>();

function record(name: string, agent: { events: Side['agent']['events'] }): void {
  sent.set(name, []);
  processed.set(name, []);
  agent.events.on<DidCommMessageSentEvent>(
    DidCommEventTypes.DidCommMessageSent,
    (e) =>
      void sent.get(name)!.push(JsonTransformer.toJSON(e.payload.message.message) as Record<string, unknown>),
  );
  agent.events.on<PerunLeanMessageSentEvent>(
    PerunLeanEventTypes.MessageSent,
    (e) => void sent.get(name)!.push(e.payload.plaintext),
  );
  agent.events.on<DidCommMessageProcessedEvent>(
    DidCommEventTypes.DidCommMessageProcessed,
    (e) => void processed.get(name)!.push(e.payload.message.type),
  );
}

/** The @types `name` sent since `from` (an index into its record). */
const sentTypes = (name: string, from = 0) =>
  sent
    .get(name)!
    .slice(from)
    .map((p) => String(p['@type']));

async function send(
  from: { agent: Side['agent'] | identity.Side['agent'] },
  connection: DidCommConnectionRecord,
  m: DidCommMessage,
) {
  await from.agent.dependencyManager
    .resolve(DidCommMessageSender)
    .sendMessage(new DidCommOutboundMessageContext(m, { agentContext: from.agent.context, connection }));
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

beforeAll(async () => {
  world = await startWorld();
  alice = await side(world, 'Alice', 1);
  bob = await side(world, 'Bob', 2);
  record('Alice', alice.agent);
  record('Bob', bob.agent);
  [ab, ba] = await connect(alice, bob);
}, 120_000);

afterAll(async () => {
  await closeSides([alice, bob]);
  await identity.closeSides();
  await world.stop();
});

describe('perun', () => {
  it('opens a channel and pays with every message under the new namespace', async () => {
    channel = await openChannel(world, alice, bob, ab);
    await alice.client.sendPayment(channel, 2n);
    await bob.client.sendPayment(channel, 1n);
    const types = [...sentTypes('Alice'), ...sentTypes('Bob')].filter((t) => t.includes('/perun/'));
    for (const name of [
      'ledger-channel-proposal',
      'ledger-channel-accept',
      'channel-update',
      'channel-update-accept',
    ])
      expect(types).toContain(`${PERUN_PROTOCOL_URI}/${name}`);
    expect(types.filter((t) => !t.startsWith(`${PERUN_PROTOCOL_URI}/`))).toEqual([]);
    expect(PERUN_PROTOCOL_URI).toBe('https://perun-agent.org/protocols/perun/1.0');
  });

  it('a peer that writes under the old URI is processed and answered under it, on the lean path’s transport too', async () => {
    // Alice writes to Bob under the old URI (a report on nothing Bob asked): Bob now addresses her so.
    const OldReport = legacyClass(LEGACY_PERUN_MESSAGES, PerunProblemReportMessage);
    const report = new OldReport({ description: { en: 'nothing', code: 'refused' } });
    expect(report.type).toBe(`${OLD_PERUN}/problem-report`);
    const bobProcessed = processed.get('Bob')!.length;
    await send(alice, ab, report);
    await until(() => processed.get('Bob')!.includes(`${OLD_PERUN}/problem-report`));
    expect(processed.get('Bob')!.length).toBeGreaterThan(bobProcessed);

    // Bob's payment goes out on the lean path under the old URI; Alice's lean path leaves it to
    // Credo's pipeline, which processes it; her accept goes back under the old URI.
    const [aliceFrom, bobFrom] = [sent.get('Alice')!.length, sent.get('Bob')!.length];
    const aliceProcessed = processed.get('Alice')!.length;
    const leanBefore = alice.lean.get('processed channel-update') ?? 0;
    await bob.client.sendPayment(channel, 1n);
    expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
    expect(bob.lean.get('sent channel-update')).toBeGreaterThan(0);
    expect(sentTypes('Bob', bobFrom)).toEqual([`${OLD_PERUN}/channel-update`]);
    expect(processed.get('Alice')!.slice(aliceProcessed)).toEqual([`${OLD_PERUN}/channel-update`]);
    expect(alice.lean.get('processed channel-update') ?? 0).toBe(leanBefore);
    expect(sentTypes('Alice', aliceFrom)).toEqual([`${OLD_PERUN}/channel-update-accept`]);

    // Alice now talks to Bob under the old URI too: her payment and a channel Bob proposes through
    // Credo's pipeline run under it end to end.
    await alice.client.sendPayment(channel, 3n);
    expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
    const [aliceAt, bobAt] = [sent.get('Alice')!.length, sent.get('Bob')!.length];
    const second = await openChannel(world, bob, alice, ba);
    expect(alice.client.channel(second).state).toEqual(bob.client.channel(second).state);
    expect(sentTypes('Bob', bobAt)).toContain(`${OLD_PERUN}/ledger-channel-proposal`);
    expect(sentTypes('Alice', aliceAt)).toContain(`${OLD_PERUN}/ledger-channel-accept`);
    const perunTypes = [...sentTypes('Alice', aliceAt), ...sentTypes('Bob', bobAt)].filter((t) =>
      t.includes('/perun/1.0/'),
    );
    expect(perunTypes.filter((t) => !t.startsWith(`${OLD_PERUN}/`))).toEqual([]);

    // A message under the new URI from Alice: Bob addresses her under it again.
    await send(alice, ab, new PerunProblemReportMessage({ description: { en: 'nothing', code: 'refused' } }));
    await until(() => processed.get('Bob')!.includes(`${PERUN_PROTOCOL_URI}/problem-report`));
    const bobNow = sent.get('Bob')!.length;
    await bob.client.sendPayment(channel, 1n);
    expect(sentTypes('Bob', bobNow)).toEqual([`${PERUN_PROTOCOL_URI}/channel-update`]);
  });

  it('an unknown message type under the new namespace is refused as before; the channel goes on', async () => {
    class UnknownMessage extends Message {
      public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/no-such-message`);
      @IsValidMessageType(UnknownMessage.type)
      public override readonly type = UnknownMessage.type.messageTypeUri;
      public constructor() {
        super();
        this.id = this.generateId();
      }
    }
    const before = structuredClone(alice.client.channel(channel).state);
    const unknown = new UnknownMessage();
    const refusal = () =>
      sent.get('Alice')!.find((p) => (p['~thread'] as { pthid?: string } | undefined)?.pthid === unknown.id);
    await send(bob, ba, unknown);
    await until(() => refusal() !== undefined);
    expect(refusal()).toMatchObject({
      '@type': 'https://didcomm.org/notification/1.0/problem-report',
      description: { en: expect.stringMatching(/not supported/) as unknown },
    });
    expect(alice.client.channel(channel).state).toEqual(before);
    await alice.client.sendPayment(channel, 1n);
    expect(bob.client.channel(channel).state).toEqual(alice.client.channel(channel).state);
  });
});

describe('identity and credential sale', () => {
  let carol: identity.Side;
  let dave: identity.Side;
  let cd: DidCommConnectionRecord;
  let dc: DidCommConnectionRecord;

  beforeAll(async () => {
    carol = await identity.agentSide(world, 'Carol', 3);
    dave = await identity.agentSide(world, 'Dave');
    record('Carol', carol.agent);
    record('Dave', dave.agent);
    [dc, cd] = await identity.connect(dave, carol);
  }, 120_000);

  it('discover-features announces the three protocols under the new namespace only', async () => {
    const { features } = await dave.agent.didcomm.discovery.queryFeatures({
      connectionId: dc.id,
      protocolVersion: 'v2',
      queries: [{ featureType: 'protocol', match: '*' }],
      awaitDisclosures: true,
    });
    const ids = (features ?? []).map((f) => f.id);
    expect(ids).toEqual(
      expect.arrayContaining([PERUN_PROTOCOL_URI, IDENTITY_PROTOCOL_URI, CREDENTIAL_SALE_PROTOCOL_URI]),
    );
    expect(ids.filter((id) => id.includes('perun'))).toHaveLength(3);
    expect(ids.filter((id) => id.includes('perun')).every((id) => id.startsWith(PROTOCOL_NAMESPACE))).toBe(
      true,
    );
  });

  it('an address-proof request goes out under the new URI; one under the old URI is answered under it', async () => {
    const proofs = dave.agent.dependencyManager.resolve(AddressProofService);
    const fresh = proofs.request(dave.agent.context, dc, 'challenge-new');
    const answer = await fresh.answer;
    expect(answer.type).toBe(`${IDENTITY_PROTOCOL_URI}/address-proof`);
    await until(() => processed.get('Carol')!.includes(`${IDENTITY_PROTOCOL_URI}/address-proof-request`));

    const OldRequest = legacyClass(LEGACY_IDENTITY_MESSAGES, AddressProofRequestMessage);
    const request = new OldRequest({ challenge: 'challenge-old' });
    const old = new Promise<AddressProofMessage>((resolve, reject) =>
      proofs.pending.set(request.threadId, { connectionId: dc.id, resolve, reject }),
    );
    await send(dave, dc, request);
    const proof = await old;
    await until(() =>
      processed
        .get('Carol')!
        .includes(`${LEGACY_PROTOCOL_NAMESPACE}perun-identity/1.0/address-proof-request`),
    );
    expect(proof.type).toBe(`${LEGACY_PROTOCOL_NAMESPACE}perun-identity/1.0/address-proof`);
    expect(proof.threadId).toBe(request.id);
    expect(
      recoverAddressProof(
        { verifierDid: cd.theirDid!, holderDid: cd.did!, challenge: 'challenge-old' },
        proof.signature,
      ),
    ).toBe(carol.party!.signer.address);
  });

  it('a sale offer goes out under the new URI; one under the old URI reaches the listeners', async () => {
    const offers: string[] = [];
    const off = carol.agent.modules.credentialSale.onOffer((o) => void offers.push(o.saleId));
    const credential = {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      type: ['VerifiableCredential'],
    };
    const newId = '00000000-0000-4000-8000-000000000001';
    await dave.agent.modules.credentialSale.sendOffer(dc, {
      saleId: newId,
      credential,
      price: parseEther('0.01'),
    });
    await until(() => offers.includes(newId));
    expect(processed.get('Carol')).toContain(`${CREDENTIAL_SALE_PROTOCOL_URI}/offer`);

    const OldOffer = legacyClass(LEGACY_CREDENTIAL_SALE_MESSAGES, CredentialSaleOfferMessage);
    const oldId = '00000000-0000-4000-8000-000000000002';
    await send(dave, dc, new OldOffer({ saleId: oldId, credential, price: '5' }));
    await until(() => offers.includes(oldId));
    expect(processed.get('Carol')).toContain(`${LEGACY_PROTOCOL_NAMESPACE}perun-credential-sale/1.0/offer`);
    off();
  });
});
