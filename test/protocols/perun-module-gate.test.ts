// PerunModule({ channels, gate }) in Credo agents that also run IdentityModule: the module puts the
// identity gate in front of incoming proposals and `agent.modules.perun.openChannel` verifies the
// peer first, opening at the address its credential names. Alice and Bob hold credentials from a
// trusted issuer: they open (no peerAddress given), pay and close through `agent.modules.perun`.
// Mallory holds none: Bob's gate refuses her proposal with `no-credential` and stores nothing.
import { parseEther } from 'ethers';
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { createPerunAgent, type PerunIdentityAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import type { ClientEvent } from '../../src/channels/client.js';
import { ChannelClientError } from '../../src/channels/errors.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import type { PeerPolicy, PeerRefusalCode } from '../../src/protocols/identity/index.js';
import { ethAllocation } from '../channels/client-harness.js';
import { startWorld, type Party, type World } from '../ethereum/harness.js';
import { channelEnvironment, connect, type Side } from './identity-harness.js';

let world: World;
const sides: Side[] = [];
let policy: PeerPolicy;
const refusals: { peer: string; code: PeerRefusalCode }[] = [];

/** A Credo agent with identity, and (given a party) the Perun module running its client behind the gate. */
async function side(name: string, party?: Party, gate = true): Promise<Side> {
  const ds = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${name} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const store = party === undefined ? undefined : new TypeOrmChannelStore(ds);
  const channels = party === undefined ? undefined : channelEnvironment(party, store!);
  const perun =
    channels === undefined
      ? {}
      : gate
        ? {
            channels,
            gate: {
              policy,
              onRefusal: (p: { peer: string }, err: { code: PeerRefusalCode }) =>
                refusals.push({ peer: p.peer, code: err.code }),
            },
          }
        : { channels };
  const agent: PerunIdentityAgent = createPerunAgent({
    label: name,
    dataSource: ds,
    kms,
    identity: true,
    perun,
  });
  await agent.initialize();
  const s: Side = { name, ds, agent, did: await agent.modules.identity.createIdentityDid() };
  if (party !== undefined) {
    s.party = party;
    s.store = store!;
    s.holder = agent.modules.identity.enablePeerHolder({ signer: party.signer });
  }
  sides.push(s);
  return s;
}

let alice: Side;
let bob: Side;
let mallory: Side;
let ab: DidCommConnectionRecord; // Alice → Bob
let ma: DidCommConnectionRecord; // Mallory → Bob

const perun = (s: Side) => s.agent.modules.perun;

beforeAll(async () => {
  world = await startWorld();
  const issuerSide = await side('Issuer');
  const issuer = await issuerSide.agent.modules.identity.createIssuer();
  policy = { trustedIssuers: [issuer.did], requiredClaims: { name: true } };
  alice = await side('Alice', world.party(1, 'Alice'));
  bob = await side('Bob', world.party(2, 'Bob'));
  mallory = await side('Mallory', world.party(3, 'Mallory'), false);
  const [toAlice] = await connect(issuerSide, alice);
  const [toBob] = await connect(issuerSide, bob);
  const claims = (s: Side) => ({
    ethereumAddress: s.party!.signer.address,
    name: s.name,
    spendingLimit: parseEther('10'),
  });
  await issuer.issue(toAlice.id, claims(alice));
  await issuer.issue(toBob.id, claims(bob));
  let ba: DidCommConnectionRecord;
  [ba, ab] = await connect(bob, alice);
  await bob.agent.modules.identity.adoptIdentityDid(ba.id, bob.did);
  ab = await alice.agent.didcomm.connections.getById(ab.id);
  [, ma] = await connect(bob, mallory);
}, 90_000);

afterAll(async () => {
  for (const s of sides.reverse()) {
    await s.agent.shutdown();
    await s.ds.destroy();
  }
  await world?.stop();
});

it('the credentialed pair opens at the credential’s address, pays and closes through agent.modules.perun', async () => {
  const bobOpened = new Promise<ClientEvent>((resolve) =>
    perun(bob).client!.on('event', (e: ClientEvent) => e.type === 'opened' && resolve(e)),
  );
  const channel = await perun(alice).openChannel({
    connectionId: ab.id,
    allocation: ethAllocation(world, 1000n, 1000n),
    challengeDuration: 60n,
  });
  expect(channel.params.participants.map((p) => p.ethAddress)).toEqual([
    alice.party!.signer.address,
    bob.party!.signer.address,
  ]);
  await bobOpened;
  await perun(alice).pay(channel.id, 300n);
  await perun(bob).pay(channel.id, 100n);
  const withdrawn = await perun(alice).close(channel.id);
  expect(withdrawn[0]!.amount).toBe(800n);
  expect(refusals).toEqual([]);
}, 60_000);

it('a proposal from a peer without a credential is refused by the gate: no-credential', async () => {
  const attempt = perun(mallory).openChannel({
    connectionId: ma.id,
    peerAddress: bob.party!.signer.address,
    allocation: ethAllocation(world, 1000n, 1000n),
    challengeDuration: 60n,
  });
  await expect(attempt).rejects.toBeInstanceOf(ChannelClientError);
  await expect(attempt).rejects.toThrow('not-authorized: no-credential');
  expect(refusals).toEqual([{ peer: mallory.did, code: 'no-credential' }]);
  expect(await bob.store!.listChannels({ peer: mallory.did })).toEqual([]);
  expect(perun(mallory).client!.channels()).toEqual([]);
}, 60_000);

it('without a gate openChannel needs the peer’s address', async () => {
  const refused = await perun(mallory)
    .openChannel({ connectionId: ma.id, allocation: ethAllocation(world, 1n, 1n), challengeDuration: 60n })
    .catch((e: unknown) => e);
  expect(refused).toMatchObject({ code: 'NO_PEER_ADDRESS' });
});
