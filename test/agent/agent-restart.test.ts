// Bob's agent is one SQLite file: his connections, DIDs and keys (encrypted under his
// passphrase) and his channels. It is shut down in the middle of a channel with Alice and
// started again from the file on the same port: the connection, the keys and the channel are
// all there, the clients sync over DIDComm, the payments go on and the channel settles.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, parseEther } from 'ethers';
import type { DataSource } from 'typeorm';
import { createPerunAgent, type PerunAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { freePort } from '../../src/agent/node/free-port.js';
import { PerunKeyManagementService, TypeOrmKmsKeyStorage } from '../../src/agent/kms/index.js';
import { ChannelClient, type ClientEvent } from '../../src/channels/client.js';
import { EthereumAdjudicatorAdapter, ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { ethAllocation } from '../channels/client-harness.js';
import { startWorld, type Party, type World } from '../ethereum/harness.js';

interface Side {
  ds: DataSource;
  agent: PerunAgent;
  client: ChannelClient;
}

let world: World;
let dir: string;
const receivers = { alice: Wallet.createRandom().address, bob: Wallet.createRandom().address };

async function start(name: 'alice' | 'bob', party: Party, port: number): Promise<Side> {
  const ds = await openAgentStore(join(dir, `${name}.sqlite`));
  const kms = await PerunKeyManagementService.open({
    storage: new TypeOrmKmsKeyStorage(ds),
    passphrase: `${name} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = createPerunAgent({ label: name, dataSource: ds, kms, http: { port } });
  await agent.initialize();
  const client = new ChannelClient({
    wire: agent.modules.perun.wire,
    signer: party.signer,
    backend: ethereumBackend,
    funder: party.funder,
    adjudicator: new EthereumAdjudicatorAdapter(party.adjudicator, party.signer, receivers[name]),
    store: new TypeOrmChannelStore(ds),
    onProposal: () => ({ accept: true }),
    chainPollMs: 20,
    concludeWaitMs: 3_000,
  });
  return { ds, agent, client };
}

async function stop(s: Side): Promise<void> {
  await s.client.close();
  await s.agent.shutdown();
  await s.ds.destroy();
}

function next(s: Side, type: ClientEvent['type'], match: (e: ClientEvent) => boolean = () => true) {
  return new Promise<ClientEvent>((resolve) => {
    const on = (e: ClientEvent) => {
      if (e.type === type && match(e)) {
        s.client.off('event', on);
        resolve(e);
      }
    };
    s.client.on('event', on);
  });
}

beforeAll(async () => {
  world = await startWorld();
  dir = mkdtempSync(join(tmpdir(), 'perun-agent-restart-'));
});
afterAll(async () => {
  await world.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('Bob’s agent restarts from its SQLite file mid-channel; the connection, keys and channel resume', async () => {
  const alicePort = await freePort();
  const bobPort = await freePort();
  const aliceParty = world.party(1, 'Alice');
  const bobParty = world.party(2, 'Bob');
  const alice = await start('alice', aliceParty, alicePort);
  let bob = await start('bob', bobParty, bobPort);
  await alice.client.start();
  await bob.client.start();

  const oob = await alice.agent.didcomm.oob.createInvitation({ label: 'alice' });
  const { connectionRecord } = await bob.agent.didcomm.oob.receiveInvitationFromUrl(
    oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' }),
    { label: 'bob' },
  );
  const ba = await bob.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, {
    timeoutMs: 20_000,
  });
  const [pending] = await alice.agent.didcomm.connections.findAllByOutOfBandId(oob.id);
  const ab = await alice.agent.didcomm.connections.returnWhenIsConnected(pending!.id, { timeoutMs: 20_000 });

  const bobOpened = next(bob, 'opened');
  const { id } = await alice.client.proposeChannel({
    peer: ab.theirDid!,
    peerAddress: bobParty.signer.address,
    allocation: ethAllocation(world, parseEther('1'), parseEther('1')),
    challengeDuration: 60n,
  });
  await bobOpened;
  for (let i = 0; i < 3; i++) await alice.client.sendPayment(id, 100n);

  await stop(bob);
  bob = await start('bob', bobParty, bobPort);
  const [restored] = await bob.agent.didcomm.connections.getAll();
  expect(restored?.id).toBe(ba.id);
  expect(restored?.theirDid).toBe(ba.theirDid);
  await bob.client.start();
  expect(bob.client.channel(id)).toMatchObject({ phase: 'Acting', peer: ba.theirDid });
  expect(bob.client.channel(id).state).toEqual(alice.client.channel(id).state);

  await bob.client.sendPayment(id, 50n);
  await alice.client.sendPayment(id, 1n);
  const last = alice.client.channel(id).state!;
  expect(last.version).toBe(5n);
  expect(bob.client.channel(id).state).toEqual(last);

  const bobSettled = next(bob, 'settled', (e) => 'channelId' in e && e.channelId === id);
  await alice.client.settle(id);
  await bobSettled;
  const provider = world.chain.provider();
  expect(await provider.getBalance(receivers.alice)).toBe(parseEther('1') - 251n);
  expect(await provider.getBalance(receivers.bob)).toBe(parseEther('1') + 251n);

  await stop(alice);
  await stop(bob);
}, 60_000);
