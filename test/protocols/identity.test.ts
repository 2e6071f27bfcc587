// Credential-gated channels, in one process: an Issuer, Alice, Bob and Mallory run Credo agents
// with credentials and proofs (our KMS, our TypeORM storage, our HTTP transports on 127.0.0.1).
// The Issuer's did:key issues JSON-LD peer credentials (Ed25519Signature2018) over
// issue-credential v2; Bob's channel client admits a proposal only after present-proof v2 (DIF PE)
// and an EIP-191 address proof satisfy his policy. Alice opens a funded channel on the embedded
// chain and pays; Mallory is refused for each reason, Bob stores nothing of hers and goes on
// serving Alice.
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { parseEther } from 'ethers';
import type { PerunIdentityAgent } from '../../src/agent/credo/agent.js';
import type { Decision, IncomingProposal } from '../../src/channels/client.js';
import { ChannelClientError } from '../../src/channels/errors.js';
import { fundingId } from '../../src/channels/ethereum/encoding.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import {
  PEER_CREDENTIAL_TYPE,
  PeerCredentialIssuer,
  PeerNotAuthorizedError,
  recoverAddressProof,
  signAddressProof,
  type PeerPolicy,
  type PeerRefusalCode,
} from '../../src/protocols/identity/index.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { ethAllocation } from '../channels/client-harness.js';
import {
  agentSide as startSide,
  closeSides,
  connect,
  nextEvent,
  proposalAtRandomAddress,
  type Side,
} from './identity-harness.js';

let world: World;
let issuerSide: Side;
let alice: Side;
let bob: Side;
let mallory: Side;
let issuer: PeerCredentialIssuer;
let rogue: PeerCredentialIssuer; // a did:key nobody trusts
let toAlice: DidCommConnectionRecord; // Issuer → Alice
let toBob: DidCommConnectionRecord;
let toMallory: DidCommConnectionRecord;
let ab: DidCommConnectionRecord; // Alice → Bob
let ba: DidCommConnectionRecord; // Bob → Alice
let ma: DidCommConnectionRecord; // Mallory → Bob
let bm: DidCommConnectionRecord; // Bob → Mallory
let policy: PeerPolicy;
const refusals: { peer: string; code: PeerRefusalCode }[] = [];

const agentSide = (
  name: string,
  account?: number,
  gate?: (agent: PerunIdentityAgent) => (p: IncomingProposal) => Promise<Decision>,
) => startSide(world, name, account, gate);

const proposal = () => ({ allocation: ethAllocation(world, 1000n, 1000n), challengeDuration: 60n });

beforeAll(async () => {
  world = await startWorld();
  issuerSide = await agentSide('Issuer');
  issuer = await issuerSide.agent.modules.identity.createIssuer();
  rogue = await issuerSide.agent.modules.identity.createIssuer();
  policy = {
    trustedIssuers: [issuer.did],
    credentialType: PEER_CREDENTIAL_TYPE,
    requiredClaims: { name: true, minSpendingLimit: parseEther('1') },
    requireAddressProof: true,
  };
  const gate = (agent: PerunIdentityAgent) =>
    agent.modules.identity.gatedProposalHandler(policy, undefined, {
      onRefusal: (p, err) => refusals.push({ peer: p.peer, code: err.code }),
    });
  alice = await agentSide('Alice', 1, gate);
  bob = await agentSide('Bob', 2, gate);
  mallory = await agentSide('Mallory', 3);
  [toAlice] = await connect(issuerSide, alice);
  [toBob] = await connect(issuerSide, bob);
  [toMallory] = await connect(issuerSide, mallory);
  // Bob invites; Alice answers with her identity DID, Bob rotates his DID on it to his.
  [ba, ab] = await connect(bob, alice);
  ba = await bob.agent.modules.identity.adoptIdentityDid(ba.id, bob.did);
  ab = await alice.agent.didcomm.connections.getById(ab.id);
  [bm, ma] = await connect(bob, mallory);
}, 60_000);

afterAll(async () => {
  await closeSides();
  await world?.stop();
});

it('issues peer credentials over issue-credential v2: JSON-LD, Ed25519Signature2018, did:key issuer, subject = the holder’s DID', async () => {
  const claims = (s: Side, name: string) => ({
    ethereumAddress: s.party!.signer.address,
    name,
    spendingLimit: parseEther('10'),
  });
  const [a, b] = await Promise.all([
    issuer.issue(toAlice.id, claims(alice, 'Alice')),
    issuer.issue(toBob.id, claims(bob, 'Bob')),
  ]);
  expect(issuer.did).toMatch(/^did:key:z6Mk/);
  expect(a.issuerId).toBe(issuer.did);
  expect(a.credentialSubjectIds).toEqual([alice.did]);
  expect(b.credentialSubjectIds).toEqual([bob.did]);
  expect(a.proof).toMatchObject({ type: 'Ed25519Signature2018' });
  const [stored] = await alice.agent.w3cCredentials.getAll();
  expect(stored!.firstCredential.type).toContain(PEER_CREDENTIAL_TYPE);
  expect(ab.did).toBe(alice.did);
  expect(ab.theirDid).toBe(bob.did);
  expect(ba.theirDid).toBe(alice.did);
});

it('a gated proposal opens a funded channel and a payment goes through', async () => {
  const bobOpened = nextEvent(bob, 'opened');
  const { channel, peer } = await alice.agent.modules.identity.proposeToVerifiedPeer(
    alice.client!,
    ab.id,
    policy,
    proposal(),
  );
  expect(peer).toMatchObject({
    did: bob.did,
    issuer: issuer.did,
    address: bob.party!.signer.address,
    name: 'Bob',
    spendingLimit: parseEther('10'),
    addressProven: true,
  });
  await bobOpened;
  expect(bob.client!.channel(channel.id).peer).toBe(alice.did);
  await alice.client!.sendPayment(channel.id, 7n);
  expect(bob.client!.channel(channel.id).state!.outcome.balances[0]).toEqual([993n, 1007n]);
  const holding = (a: string) =>
    world.ethHolder.getFunction('holdings').staticCall(fundingId(channel.id, a)) as Promise<bigint>;
  expect(await holding(alice.party!.signer.address)).toBe(1000n);
  expect(await holding(bob.party!.signer.address)).toBe(1000n);
  expect(refusals).toEqual([]);
});

describe('refusals', () => {
  const clearCredentials = async (s: Side) => {
    for (const r of await s.agent.w3cCredentials.getAll()) await s.agent.w3cCredentials.deleteById(r.id);
  };

  /** Mallory proposes to Bob; Bob refuses with `code`, stores nothing and moves no funds. */
  async function malloryIsRefused(code: PeerRefusalCode) {
    const before = refusals.length;
    const attempt = mallory.client!.proposeChannel({
      peer: ma.theirDid!,
      peerAddress: bob.party!.signer.address,
      ...proposal(),
    });
    await expect(attempt).rejects.toBeInstanceOf(ChannelClientError);
    await expect(attempt).rejects.toThrow(`not-authorized: ${code}`);
    expect(refusals.slice(before)).toEqual([{ peer: mallory.did, code }]);
    expect(await bob.store!.listChannels({ peer: mallory.did })).toEqual([]);
    expect(bob.client!.channels().filter((c) => c.peer === mallory.did)).toEqual([]);
    expect(mallory.client!.channels()).toEqual([]);
  }

  const malloryClaims = (address = mallory.party!.signer.address) => ({
    ethereumAddress: address,
    name: 'Mallory',
    spendingLimit: parseEther('10'),
  });

  it('Mallory without a credential: no-credential', async () => {
    expect(bm.theirDid).toBe(mallory.did);
    await malloryIsRefused('no-credential');
  });

  it('Mallory with a credential from an untrusted issuer: untrusted-issuer', async () => {
    await rogue.issue(toMallory.id, malloryClaims());
    await malloryIsRefused('untrusted-issuer');
    await clearCredentials(mallory);
  });

  it('Mallory with a trusted credential for an address that is not hers: address-mismatch', async () => {
    // The credential names Alice's address; Mallory's channel key (and address proof) is her own.
    await issuer.issue(toMallory.id, malloryClaims(alice.party!.signer.address));
    await expect(bob.agent.modules.identity.verifyPeer(bm.id, policy)).rejects.toMatchObject({
      code: 'address-mismatch',
    });
    await malloryIsRefused('address-mismatch');
    await clearCredentials(mallory);
  });

  it('Mallory with an expired credential: expired', async () => {
    // Credo's holder refuses to store an expired credential sent over issue-credential, so the
    // issuer signs one that ran out yesterday and Mallory imports it (as a holder whose
    // credential expired after issuance would still have it).
    const day = 24 * 3600 * 1000;
    const vc = await issuer.sign(mallory.did, malloryClaims(), {
      issuanceDate: new Date(Date.now() - 2 * day),
      expirationDate: new Date(Date.now() - day),
    });
    await mallory.agent.modules.identity.storePeerCredential(vc);
    await malloryIsRefused('expired');
    await clearCredentials(mallory);
  });

  it('a proposal whose participant is not the verified address: address-mismatch', async () => {
    const decide = bob.agent.modules.identity.gatedProposalHandler(policy);
    const decision = await decide(proposalAtRandomAddress(world, alice, bob, '11'));
    expect(decision).toEqual({
      accept: false,
      reason: expect.stringContaining('not-authorized: address-mismatch'),
    });
  });

  it('Bob keeps serving Alice: another gated channel opens and pays', async () => {
    const bobOpened = nextEvent(bob, 'opened');
    const { channel } = await alice.agent.modules.identity.proposeToVerifiedPeer(
      alice.client!,
      ab.id,
      policy,
      proposal(),
    );
    await bobOpened;
    await bob.client!.sendPayment(channel.id, 5n);
    expect(alice.client!.channel(channel.id).state!.outcome.balances[0]).toEqual([1005n, 995n]);
    expect(refusals.every((r) => r.peer === mallory.did)).toBe(true);
  });
});

it('an address proof is bound to both DIDs of the connection and to the challenge', () => {
  const signer = EthereumSigner.random();
  const binding = { verifierDid: 'did:peer:2.Vbob', holderDid: 'did:peer:2.Valice', challenge: 'c1' };
  const sig = signAddressProof(signer, binding);
  expect(recoverAddressProof(binding, sig)).toBe(signer.address);
  // Relayed to another connection, or answered for another challenge, it names someone else.
  expect(recoverAddressProof({ ...binding, verifierDid: 'did:peer:2.Vmallory' }, sig)).not.toBe(
    signer.address,
  );
  expect(recoverAddressProof({ ...binding, holderDid: 'did:peer:2.Vmallory' }, sig)).not.toBe(signer.address);
  expect(recoverAddressProof({ ...binding, challenge: 'c2' }, sig)).not.toBe(signer.address);
  expect(recoverAddressProof(binding, '0x1234')).toBeUndefined();
  expect(new PeerNotAuthorizedError('expired', 'x').code).toBe('expired');
});
