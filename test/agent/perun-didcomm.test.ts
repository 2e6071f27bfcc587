// Perun over DIDComm, in one process: Alice's and Bob's Credo agents (our KMS, our TypeORM
// storage sharing the DataSource with the channel tables, our HTTP transports on 127.0.0.1)
// connect by an out-of-band invitation; their channel clients talk through the Perun protocol
// module, open a funded channel on the embedded chain, pay both ways and settle to the wei.
// Refusals travel as Perun problem reports with a code; a malformed message never reaches the core.
import {
  DidCommEventTypes,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  type DidCommConnectionRecord,
  type DidCommMessageProcessedEvent,
} from '@credo-ts/didcomm';
import { Wallet, parseEther } from 'ethers';
import type { DataSource } from 'typeorm';
import { openAgentStore } from '../../src/agent/datasource.js';
import { createPerunAgent, type PerunAgent } from '../../src/agent/credo/agent.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import { ChannelClient, type ClientEvent } from '../../src/channels/client.js';
import { EthereumAdjudicatorAdapter, ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { ChannelMessage } from '../../src/channels/messages.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import {
  ChannelUpdateMessage,
  PerunProblemReportMessage,
} from '../../src/protocols/perun/messages/channel-messages.js';
import { startWorld, type Party, type World } from '../ethereum/harness.js';
import { ethAllocation } from '../channels/client-harness.js';
import { connect, openChannel } from './lean-support.js';

interface Side {
  name: string;
  party: Party;
  ds: DataSource;
  agent: PerunAgent;
  client: ChannelClient;
  receiver: string;
  events: ClientEvent[];
}

let world: World;
let alice: Side;
let bob: Side;
let ab: DidCommConnectionRecord; // Alice's connection to Bob
let ba: DidCommConnectionRecord;

async function side(name: string, account: number): Promise<Side> {
  const party = world.party(account, name);
  const ds = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${name} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = createPerunAgent({ label: name, dataSource: ds, kms });
  await agent.initialize();
  const receiver = Wallet.createRandom().address;
  const client = new ChannelClient({
    wire: agent.modules.perun.wire,
    signer: party.signer,
    backend: ethereumBackend,
    funder: party.funder,
    adjudicator: new EthereumAdjudicatorAdapter(party.adjudicator, party.signer, receiver),
    store: new TypeOrmChannelStore(ds),
    onProposal: () => ({ accept: true }),
    chainPollMs: 20,
    concludeWaitMs: 3_000,
    responseTimeoutMs: 15_000,
  });
  const events: ClientEvent[] = [];
  client.on('event', (e: ClientEvent) => events.push(e));
  await client.start();
  return { name, party, ds, agent, client, receiver, events };
}

function next<T extends ClientEvent['type']>(
  s: Side,
  type: T,
  match: (e: Extract<ClientEvent, { type: T }>) => boolean,
) {
  return new Promise<Extract<ClientEvent, { type: T }>>((resolve) => {
    const on = (e: ClientEvent) => {
      if (e.type === type && match(e as Extract<ClientEvent, { type: T }>)) {
        s.client.off('event', on);
        resolve(e as Extract<ClientEvent, { type: T }>);
      }
    };
    s.client.on('event', on);
  });
}

beforeAll(async () => {
  world = await startWorld();
  alice = await side('Alice', 1);
  bob = await side('Bob', 2);
  [ab, ba] = await connect(alice, bob);
}, 60_000);

let mallory: Side | undefined;

afterAll(async () => {
  for (const s of [alice, bob, mallory]) {
    if (s === undefined) continue;
    await s.client.close();
    await s.agent.shutdown();
    await s.ds.destroy();
  }
  await world.stop();
});

it('Alice and Bob open a channel over DIDComm, pay both ways and settle to the wei', async () => {
  const channel = alice.client.channel(await openChannel(world, alice, bob, ab));
  expect(channel.peer).toBe(ab.theirDid);
  expect(bob.client.channel(channel.id).peer).toBe(ba.theirDid);

  for (let i = 0; i < 10; i++) {
    await alice.client.sendPayment(channel.id, 3n);
    await bob.client.sendPayment(channel.id, 1n);
  }
  const last = alice.client.channel(channel.id).state!;
  expect(last.version).toBe(20n);
  expect(last.outcome.balances[0]).toEqual([parseEther('1') - 20n, parseEther('1') + 20n]);
  expect(bob.client.channel(channel.id).state).toEqual(last);

  const bobSettled = next(bob, 'settled', (e) => e.channelId === channel.id);
  await alice.client.settle(channel.id);
  await bobSettled;
  const provider = world.chain.provider();
  expect(await provider.getBalance(alice.receiver)).toBe(parseEther('1') - 20n);
  expect(await provider.getBalance(bob.receiver)).toBe(parseEther('1') + 20n);
});

it('refusals come back as problem reports with a code; a malformed message never reaches Bob’s core', async () => {
  const bobOpened = next(bob, 'opened', () => true);
  const channel = await alice.client.proposeChannel({
    peer: ab.theirDid!,
    peerAddress: bob.party.signer.address,
    allocation: ethAllocation(world, 100n, 100n),
    challengeDuration: 60n,
  });
  await bobOpened;
  const replies: ChannelMessage[] = [];
  const got = new Promise<ChannelMessage>((resolve) =>
    alice.agent.modules.perun.wire.onMessage((_, m) => {
      replies.push(m);
      if (m.type === 'channel-update-reject') resolve(m);
    }),
  );

  // An update signed by a stranger: Bob refuses it with invalid-signature.
  const s = structuredClone(alice.client.channel(channel.id).state!);
  s.version += 1n;
  s.outcome.balances[0] = [99n, 101n];
  await alice.agent.modules.perun.wire.send(ab.theirDid!, {
    type: 'channel-update',
    state: s,
    actorIdx: 0,
    sig: EthereumSigner.random().signState(s),
  });
  expect(await got).toMatchObject({
    type: 'channel-update-reject',
    code: 'INVALID_SIGNATURE',
    version: s.version,
  });

  // A malformed update (negative balance) sent as raw DIDComm: refused before the core.
  const before = bob.client.channel(channel.id);
  const bad = new ChannelUpdateMessage({
    state: { channel_id: channel.id, version: '-1' } as never,
    actorIdx: 0,
    sig: '0x00',
  });
  const report = new Promise<PerunProblemReportMessage>((resolve) =>
    alice.agent.events.on<DidCommMessageProcessedEvent>(DidCommEventTypes.DidCommMessageProcessed, (e) => {
      const m = e.payload.message;
      if (m instanceof PerunProblemReportMessage && m.threadId === bad.id) resolve(m);
    }),
  );
  await alice.agent.dependencyManager
    .resolve(DidCommMessageSender)
    .sendMessage(
      new DidCommOutboundMessageContext(bad, { agentContext: alice.agent.context, connection: ab }),
    );
  expect((await report).description.code).toBe('malformed');
  await alice.client.sendPayment(channel.id, 5n);
  expect(bob.client.channel(channel.id).state!.version).toBe(before.state!.version + 1n);
  expect(bob.client.channel(channel.id).state!.outcome.balances[0]).toEqual([95n, 105n]);
});

it('Alice’s valid update replayed by Mallory over Mallory’s own connection to Bob is refused: not-authorized', async () => {
  const bobOpened = next(bob, 'opened', () => true);
  const channel = await alice.client.proposeChannel({
    peer: ab.theirDid!,
    peerAddress: bob.party.signer.address,
    allocation: ethAllocation(world, 50n, 50n),
    challengeDuration: 60n,
  });
  await bobOpened;
  mallory = await side('Mallory', 3);
  const [mb] = await connect(mallory, bob);

  const s = structuredClone(alice.client.channel(channel.id).state!);
  s.version += 1n;
  s.outcome.balances[0] = [40n, 60n];
  const reply = new Promise<ChannelMessage>((resolve) =>
    mallory!.agent.modules.perun.wire.onMessage((_, m) => resolve(m)),
  );
  await mallory.agent.modules.perun.wire.send(mb.theirDid!, {
    type: 'channel-update',
    state: s,
    actorIdx: 0,
    sig: alice.party.signer.signState(s),
  });
  expect(await reply).toMatchObject({
    type: 'channel-update-reject',
    code: 'NOT_PARTICIPANT',
    version: s.version,
  });
  expect(bob.client.channel(channel.id).state!.version).toBe(0n);

  await alice.client.sendPayment(channel.id, 10n);
  expect(bob.client.channel(channel.id).state!.outcome.balances[0]).toEqual([40n, 60n]);
});
