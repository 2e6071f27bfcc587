// Relying on an earlier verification, in one process: Alice and Bob verify each other once on
// their connection and open further channels both ways without another presentation, for the
// re-verification interval, on a clock the test moves. Each side records its verification. What
// ends the reliance: the interval, the credential's expiry, a proposal naming another address, a
// change of the trusted issuers, a proposal the peer rejects, another DID on the connection, and
// forgetVerifiedPeer; in each case the peer is verified again (and refused where it no longer
// passes). A refusal is never relied on. Every decision (verified, reused, refused) is told and
// recorded. A new service on the same storage (a restarted agent) relies on what is recorded.
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { DidCommProofRole } from '@credo-ts/didcomm';
import { parseEther } from 'ethers';
import type { PerunIdentityAgent } from '../../src/agent/credo/agent.js';
import type { Decision, IncomingProposal } from '../../src/channels/client.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import {
  PeerVerificationRepository,
  type PeerCredentialIssuer,
  type PeerDecision,
  type PeerPolicy,
  type PeerRefusalCode,
  type VerifyOptions,
} from '../../src/protocols/identity/index.js';
import { PeerVerifierService } from '../../src/protocols/identity/services/peer-verifier-service.js';
import { VerifiedPeersService } from '../../src/protocols/identity/services/verified-peers-service.js';
import { ethAllocation } from '../channels/client-harness.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { agentSide, closeSides, connect, proposalAtRandomAddress, type Side } from './identity-harness.js';

const INTERVAL = 5 * 60_000;
/** Whole seconds, as credential dates are. */
const t0 = Math.floor(Date.now() / 1000) * 1000;
let clock = t0;
/** Every decision of both sides: who decided, about whom, what. */
const decisions: { by: string; decision: PeerDecision['decision']; code?: string }[] = [];
const reuse: VerifyOptions = {
  reverifyAfterMs: INTERVAL,
  now: () => clock,
  onDecision: (d) =>
    decisions.push({
      by: d.theirDid === alice.did ? 'Bob' : 'Alice',
      decision: d.decision,
      ...(d.code === undefined ? {} : { code: d.code }),
    }),
};

let world: World;
let issuer: PeerCredentialIssuer;
let rogue: PeerCredentialIssuer;
let alice: Side;
let bob: Side;
let ab: DidCommConnectionRecord; // Alice's side
let ba: DidCommConnectionRecord; // Bob's side
const policyOf: Record<'Alice' | 'Bob', PeerPolicy> = {
  Alice: { trustedIssuers: [], requiredClaims: { name: true } },
  Bob: { trustedIssuers: [], requiredClaims: { name: true } },
};
const refusals: { by: string; code: PeerRefusalCode }[] = [];
/** Bob's credential expires here (the clock's time), before the interval of later verifications ends. */
const BOB_EXPIRES = t0 + 1.5 * INTERVAL;

function gate(name: 'Alice' | 'Bob') {
  return (agent: PerunIdentityAgent): ((p: IncomingProposal) => Promise<Decision>) =>
    agent.modules.identity.gatedProposalHandler(policyOf[name], undefined, {
      verify: reuse,
      onRefusal: (_, err) => refusals.push({ by: name, code: err.code }),
    });
}

/** Presentation exchanges `s` asked for (as verifier) so far. */
async function presentations(s: Side): Promise<number> {
  return (await s.agent.didcomm.proofs.getAll()).filter((r) => r.role === DidCommProofRole.Verifier).length;
}

/** Retries `check` until it passes (for what is written behind the caller). */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await check();
    } catch (err) {
      if (i === 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function counts(): Promise<[number, number]> {
  return [await presentations(alice), await presentations(bob)];
}

/** Resolves once `s` has seen `n` more channels opened. */
function opened(s: Side, n: number): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    const on = (e: { type: string }) => {
      if (e.type === 'opened' && --left === 0) {
        s.client!.off('event', on);
        resolve();
      }
    };
    s.client!.on('event', on);
  });
}

/** `from` proposes a channel to the other over their connection, relying on earlier verifications. */
async function propose(from: Side): Promise<void> {
  const [to, connection] = from === alice ? [bob, ab] : [alice, ba];
  const done = opened(to, 1);
  await from.agent.modules.identity.proposeToVerifiedPeer(
    from.client!,
    connection.id,
    policyOf[from.name as 'Alice' | 'Bob'],
    { allocation: ethAllocation(world, 1000n, 0n), challengeDuration: 60n },
    reuse,
  );
  await done;
}

async function replaceCredential(s: Side, expirationDate?: Date, subject = s.did): Promise<void> {
  for (const r of await s.agent.w3cCredentials.getAll()) await s.agent.w3cCredentials.deleteById(r.id);
  const vc = await issuer.sign(
    subject,
    { ethereumAddress: s.party!.signer.address, name: s.name, spendingLimit: parseEther('10') },
    { issuanceDate: new Date(t0 - 3_600_000), ...(expirationDate === undefined ? {} : { expirationDate }) },
  );
  await s.agent.modules.identity.storePeerCredential(vc);
}

beforeAll(async () => {
  world = await startWorld();
  const issuerSide = await agentSide(world, 'Issuer');
  issuer = await issuerSide.agent.modules.identity.createIssuer();
  rogue = await issuerSide.agent.modules.identity.createIssuer();
  for (const p of Object.values(policyOf)) p.trustedIssuers = [issuer.did];
  alice = await agentSide(world, 'Alice', 1, gate('Alice'));
  bob = await agentSide(world, 'Bob', 2, gate('Bob'));
  [ba, ab] = await connect(bob, alice);
  ba = await bob.agent.modules.identity.adoptIdentityDid(ba.id, bob.did);
  ab = await alice.agent.didcomm.connections.getById(ab.id);
  await replaceCredential(alice);
  await replaceCredential(bob, new Date(BOB_EXPIRES));
}, 60_000);

afterAll(async () => {
  await closeSides();
  await world?.stop();
});

it('a second channel on the same connection, and one the other way, open without another presentation; both sides record the verification', async () => {
  await propose(alice);
  expect(await counts()).toEqual([1, 1]);
  await propose(alice);
  await propose(bob);
  expect(await counts()).toEqual([1, 1]);

  const [mine] = await alice.agent.modules.identity.peerVerifications(ab.id);
  expect(mine).toMatchObject({
    connectionId: ab.id,
    theirDid: bob.did,
    ourDid: alice.did,
    outcome: 'verified',
    address: bob.party!.signer.address,
    issuer: issuer.did,
    credentialId: expect.stringMatching(/^urn:sha256:[0-9a-f]{64}$/),
    verifiedAt: new Date(t0).toISOString(),
    validUntil: new Date(t0 + INTERVAL).toISOString(),
  });
  expect(await alice.agent.modules.identity.peerVerifications(ab.id)).toHaveLength(1);
  const theirs = await bob.agent.modules.identity.peerVerifications(ba.id);
  expect(theirs).toHaveLength(1);
  expect(theirs[0]).toMatchObject({
    theirDid: alice.did,
    outcome: 'verified',
    address: alice.party!.signer.address,
    validUntil: new Date(t0 + INTERVAL).toISOString(),
  });
  expect(refusals).toEqual([]);
  expect(decisions.splice(0)).toEqual([
    { by: 'Alice', decision: 'verified' },
    { by: 'Bob', decision: 'verified' },
    { by: 'Alice', decision: 'reused' },
    { by: 'Bob', decision: 'reused' },
    { by: 'Bob', decision: 'reused' },
    { by: 'Alice', decision: 'reused' },
  ]);
  // The count of reliances is written behind the openings.
  await eventually(async () =>
    expect((await alice.agent.modules.identity.peerVerifications(ab.id))[0]).toMatchObject({
      reuses: 2,
      lastReusedAt: new Date(t0).toISOString(),
    }),
  );
});

it('the verification serves until the interval ends; then channels proposed at once share one new verification', async () => {
  clock = t0 + INTERVAL - 1;
  await propose(alice);
  expect(await counts()).toEqual([1, 1]);
  clock = t0 + INTERVAL;
  await Promise.all([propose(alice), propose(alice), propose(alice)]);
  expect(await counts()).toEqual([2, 2]);
  expect(await alice.agent.modules.identity.peerVerifications(ab.id)).toHaveLength(2);
  expect(await bob.agent.modules.identity.peerVerifications(ba.id)).toHaveLength(2);
});

it('a restarted agent relies on its recorded verification while it holds', async () => {
  const restarted = new VerifiedPeersService(
    alice.agent.dependencyManager.resolve(PeerVerifierService),
    alice.agent.dependencyManager.resolve(PeerVerificationRepository),
  );
  const peer = await restarted.verify(alice.agent.context, ab.id, policyOf.Alice, reuse);
  expect(peer).toMatchObject({
    connectionId: ab.id,
    did: bob.did,
    address: bob.party!.signer.address,
    spendingLimit: parseEther('10'),
    addressProven: true,
  });
  expect(await counts()).toEqual([2, 2]);
  const later = { ...reuse, now: () => t0 + 2 * INTERVAL };
  await restarted.verify(alice.agent.context, ab.id, policyOf.Alice, later);
  expect(await counts()).toEqual([3, 2]);
});

it('a credential that expired is verified again and refused, every time, until the peer has a valid one', async () => {
  // The verification at t0 + INTERVAL would serve until t0 + 2 INTERVAL; Bob's credential ends first.
  clock = BOB_EXPIRES - 1;
  await replaceCredential(bob, new Date(Date.now() - 1_000));
  await propose(alice);
  expect(await counts()).toEqual([3, 2]);
  clock = BOB_EXPIRES;
  for (const more of [4, 5]) {
    await expect(propose(alice)).rejects.toMatchObject({ code: 'expired' });
    expect(await counts()).toEqual([more, 2]);
  }
  expect((await alice.agent.modules.identity.peerVerifications(ab.id))[0]).toMatchObject({
    outcome: 'expired',
    theirDid: bob.did,
    reason: expect.stringContaining('expired'),
  });
  await replaceCredential(bob);
  await propose(alice);
  expect(await counts()).toEqual([6, 2]);
});

it('a proposal that names another address is verified again; a peer whose key changed is refused, and the rejected proposer verifies again', async () => {
  const original = alice.party!.signer;
  alice.holder!.stop();
  alice.holder = alice.agent.modules.identity.enablePeerHolder({ signer: EthereumSigner.random() });
  const decide = bob.agent.modules.identity.gatedProposalHandler(policyOf.Bob, undefined, { verify: reuse });
  const decision = await decide(proposalAtRandomAddress(world, alice, bob, '22', 0n));
  expect(decision).toEqual({
    accept: false,
    reason: expect.stringContaining('not-authorized: address-mismatch'),
  });
  // The presentation's address proof recovers to another address than the credential's.
  expect(decisions.slice(-1)).toEqual([{ by: 'Bob', decision: 'refused', code: 'address-mismatch' }]);
  expect(await counts()).toEqual([6, 3]);
  // Alice's proposal at her channel address: Bob's last verification of her was a refusal.
  await expect(propose(alice)).rejects.toMatchObject({ code: 'PROPOSAL_REJECTED' });
  expect(await counts()).toEqual([6, 4]);
  expect(refusals.slice(-1)).toEqual([{ by: 'Bob', code: 'address-mismatch' }]);
  alice.holder.stop();
  alice.holder = alice.agent.modules.identity.enablePeerHolder({ signer: original });
  // Alice's reliance on Bob ended with the rejection: both verify again.
  await propose(alice);
  expect(await counts()).toEqual([7, 5]);
});

it('trusted issuers that no longer include the credential’s: verified again and refused, every time, until trusted again', async () => {
  const before = refusals.length;
  policyOf.Bob.trustedIssuers = [rogue.did];
  await expect(propose(alice)).rejects.toMatchObject({ code: 'PROPOSAL_REJECTED' });
  await expect(propose(alice)).rejects.toMatchObject({ code: 'PROPOSAL_REJECTED' });
  // Each rejection ended Alice's reliance on Bob: her second proposal verified him again.
  expect(await counts()).toEqual([8, 7]);
  expect(refusals.slice(before)).toEqual([
    { by: 'Bob', code: 'untrusted-issuer' },
    { by: 'Bob', code: 'untrusted-issuer' },
  ]);
  policyOf.Bob.trustedIssuers = [issuer.did];
  await propose(alice);
  expect(await counts()).toEqual([9, 8]);
  await propose(alice);
  expect(await counts()).toEqual([9, 8]);
});

it('another DID on the connection is verified again: refused until the peer holds a credential about it', async () => {
  const verify = () => alice.agent.modules.identity.verifyPeer(ab.id, policyOf.Alice, reuse);
  const newDid = await bob.agent.modules.identity.createIdentityDid();
  await bob.agent.modules.identity.adoptIdentityDid(ba.id, newDid);
  await expect(verify()).rejects.toMatchObject({ code: 'no-credential' });
  expect(await counts()).toEqual([10, 8]);
  await replaceCredential(bob, undefined, newDid);
  await expect(verify()).resolves.toMatchObject({ did: newDid });
  expect(await counts()).toEqual([11, 8]);
});

it('forgetVerifiedPeer ends our reliance on the peer; so does another DID of ours on the connection', async () => {
  await alice.agent.modules.identity.forgetVerifiedPeer(ab.id);
  expect((await alice.agent.modules.identity.peerVerifications(ab.id))[0]).toMatchObject({
    outcome: 'verified',
    endedAt: expect.any(String),
  });
  // Bob's verification of Alice was bound to the DID he has just replaced.
  await propose(alice);
  expect(await counts()).toEqual([12, 9]);
});

it('a proposal naming another address than the verified one: verified anew, refused, and the refusal recorded ends reliance', async () => {
  const decide = bob.agent.modules.identity.gatedProposalHandler(policyOf.Bob, undefined, { verify: reuse });
  const decision = await decide(proposalAtRandomAddress(world, alice, bob, '33', 0n));
  expect(decision).toEqual({ accept: false, reason: expect.stringContaining('not the verified address') });
  expect(await counts()).toEqual([12, 10]);
  expect(decisions.slice(-2)).toEqual([
    { by: 'Bob', decision: 'verified' },
    { by: 'Bob', decision: 'refused', code: 'address-mismatch' },
  ]);
  expect((await bob.agent.modules.identity.peerVerifications(ba.id)).slice(0, 2)).toMatchObject([
    { outcome: 'address-mismatch', reason: expect.stringContaining('not the verified address') },
    { outcome: 'verified', address: alice.party!.signer.address },
  ]);
  // Bob verifies Alice again for her next proposal; Alice still relies on her verification of Bob.
  await propose(alice);
  expect(await counts()).toEqual([12, 11]);
  await propose(alice);
  expect(await counts()).toEqual([12, 11]);
});
