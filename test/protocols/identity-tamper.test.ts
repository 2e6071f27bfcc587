// The gate against a malicious holder, in one process: Mallory presents, over present-proof v2,
// credentials and presentations whose proofs fail (a credential signed by a key that is not the
// trusted issuer's but names it, a credential whose subject was changed after signing, a
// presentation with a tampered proof, one signed for another challenge or domain, her own made to
// Alice on their connection and replayed to Bob). Each is refused with its code; Bob records
// the refusal, verifies nothing, stores no channel and accepts no proposal. Every case passes
// every other check, so only Credo's verification result (`isVerified`) refuses it. A relay of
// Alice's presentation ends at Alice: her holder declines a request whose domain is not the
// verifier's DID on that connection.
import { randomBytes } from 'node:crypto';
import {
  DidCommProofEventTypes,
  DidCommProofState,
  type DidCommConnectionRecord,
  type DidCommProofStateChangedEvent,
} from '@credo-ts/didcomm';
import { ClaimFormat, JsonTransformer, W3cCredential, W3cJsonLdVerifiableCredential } from '@credo-ts/core';
import { parseEther } from 'ethers';
import type { PerunIdentityAgent } from '../../src/agent/credo/agent.js';
import { ChannelClientError } from '../../src/channels/errors.js';
import {
  PEER_CREDENTIAL_TYPE,
  PROOF_TYPE,
  WRONG_DOMAIN_DESCRIPTION,
  peerCredentialJson,
  peerPresentationDefinition,
  type PeerClaims,
  type PeerCredentialIssuer,
  type PeerPolicy,
  type PeerRefusalCode,
} from '../../src/protocols/identity/index.js';
import { ethAllocation } from '../channels/client-harness.js';
import { startWorld, type World } from '../ethereum/harness.js';
import {
  answerPresentationRequests,
  honest,
  presentationFrom,
  signedPresentation,
  type Craft,
  type Json,
} from './identity-forger.js';
import { agentSide, closeSides, connect, type Side } from './identity-harness.js';

let world: World;
let issuerSide: Side;
let issuer: PeerCredentialIssuer;
let rogue: PeerCredentialIssuer; // a did:key nobody trusts
let alice: Side;
let bob: Side;
let mallory: Side;
let toMallory: DidCommConnectionRecord; // Issuer → Mallory
let bm: DidCommConnectionRecord; // Bob → Mallory
let ma: DidCommConnectionRecord; // Mallory → Bob
let malloryToAlice: DidCommConnectionRecord; // Mallory (as verifier) → Alice
let aliceToMallory: DidCommConnectionRecord;
let policy: PeerPolicy;
let craft: Craft;
const refusals: { peer: string; code: PeerRefusalCode }[] = [];

const claims = (over: Partial<PeerClaims> = {}): PeerClaims => ({
  ethereumAddress: mallory.party!.signer.address,
  name: 'Mallory',
  spendingLimit: parseEther('10'),
  ...over,
});

beforeAll(async () => {
  world = await startWorld();
  issuerSide = await agentSide(world, 'Issuer');
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
  alice = await agentSide(world, 'Alice', 1);
  bob = await agentSide(world, 'Bob', 2, gate);
  mallory = await agentSide(world, 'Mallory', 3);
  // Mallory's holder still proves her address; her presentations are the forger's.
  mallory.holder!.stop();
  mallory.holder = mallory.agent.modules.identity.enablePeerHolder({
    signer: mallory.party!.signer,
    answerRequests: false,
  });
  answerPresentationRequests(mallory.agent, () => craft);
  const [toAlice] = await connect(issuerSide, alice);
  [toMallory] = await connect(issuerSide, mallory);
  [bm, ma] = await connect(bob, mallory);
  [malloryToAlice, aliceToMallory] = await connect(mallory, alice);
  await issuer.issue(toAlice.id, {
    ...claims(),
    ethereumAddress: alice.party!.signer.address,
    name: 'Alice',
  });
}, 60_000);

afterAll(async () => {
  await closeSides();
  await world?.stop();
});

beforeEach(async () => {
  for (const r of await mallory.agent.w3cCredentials.getAll())
    await mallory.agent.w3cCredentials.deleteById(r.id);
  craft = honest(mallory.agent);
});

/**
 * Mallory proposes to Bob; Bob refuses with `code`: recorded as the one new verification of the
 * connection, no channel on either side.
 */
async function malloryIsRefused(code: PeerRefusalCode) {
  const before = refusals.length;
  const recorded = (await bob.agent.modules.identity.peerVerifications(bm.id)).length;
  const attempt = mallory.client!.proposeChannel({
    peer: ma.theirDid!,
    peerAddress: bob.party!.signer.address,
    allocation: ethAllocation(world, 1000n, 1000n),
    challengeDuration: 60n,
  });
  await expect(attempt).rejects.toBeInstanceOf(ChannelClientError);
  await expect(attempt).rejects.toThrow(`not-authorized: ${code}`);
  expect(refusals.slice(before)).toEqual([{ peer: mallory.did, code }]);
  const history = await bob.agent.modules.identity.peerVerifications(bm.id);
  expect(history.slice(0, history.length - recorded).map((r) => r.outcome)).toEqual([code]);
  expect(await bob.store!.listChannels({ peer: mallory.did })).toEqual([]);
  expect(bob.client!.channels().filter((c) => c.peer === mallory.did)).toEqual([]);
  expect(mallory.client!.channels()).toEqual([]);
}

/** A peer credential of `issuerDid` for Mallory, signed with the key of `signer` (an issuer of the Issuer's agent). */
async function signedBy(signer: PeerCredentialIssuer, issuerDid: string, c = claims()): Promise<Json> {
  const vc = await issuerSide.agent.w3cCredentials.signCredential({
    format: ClaimFormat.LdpVc,
    credential: JsonTransformer.fromJSON(peerCredentialJson(issuerDid, mallory.did, c), W3cCredential),
    proofType: PROOF_TYPE,
    verificationMethod: signer.verificationMethod,
  });
  return JsonTransformer.toJSON(vc) as Json;
}

const store = (vc: Json) =>
  mallory.agent.modules.identity.storePeerCredential(
    JsonTransformer.fromJSON(vc, W3cJsonLdVerifiableCredential),
  );

it('the forger presents honestly when nothing is tampered: Bob verifies Mallory', async () => {
  await issuer.issue(toMallory.id, claims());
  const peer = await bob.agent.modules.identity.verifyPeer(bm.id, policy);
  expect(peer).toMatchObject({ did: mallory.did, issuer: issuer.did, addressProven: true });
  await bob.agent.modules.identity.forgetVerifiedPeer(bm.id);
});

describe('a credential signed by a key that is not the trusted issuer’s: invalid-presentation', () => {
  it('naming the trusted issuer, signed by the rogue key with its own verification method', async () => {
    await store(await signedBy(rogue, issuer.did));
    await malloryIsRefused('invalid-presentation');
  });

  it('naming the trusted issuer and its verification method, signed by the rogue key', async () => {
    const vc = await signedBy(rogue, issuer.did);
    vc.proof.verificationMethod = issuer.verificationMethod;
    await store(vc);
    await malloryIsRefused('invalid-presentation');
  });
});

describe('a credential whose subject was changed after signing: invalid-presentation', () => {
  it('the address: signed for Alice’s, changed to Mallory’s (whose key proves it)', async () => {
    const vc = await signedBy(issuer, issuer.did, claims({ ethereumAddress: alice.party!.signer.address }));
    vc.credentialSubject.ethereumAddress = mallory.party!.signer.address;
    await store(vc);
    await malloryIsRefused('invalid-presentation');
  });

  it('the name: signed without one (the policy requires it), a name added', async () => {
    const vc = await signedBy(issuer, issuer.did, claims({ name: '' }));
    vc.credentialSubject.name = 'Mallory';
    await store(vc);
    await malloryIsRefused('invalid-presentation');
  });

  it('the spending limit: signed for 0.5 ETH (below the policy’s 1 ETH), raised to 100 ETH', async () => {
    const vc = await signedBy(issuer, issuer.did, claims({ spendingLimit: parseEther('0.5') }));
    vc.credentialSubject.spendingLimit = parseEther('100').toString();
    await store(vc);
    await malloryIsRefused('invalid-presentation');
  });
});

it('a presentation with a tampered proof: invalid-presentation', async () => {
  await issuer.issue(toMallory.id, claims());
  craft = async (request) => {
    const vp = await honest(mallory.agent)(request);
    const [header, , sig] = (vp.proof.jws as string).split('.') as [string, string, string];
    vp.proof.jws = `${header}..${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`;
    return vp;
  };
  await malloryIsRefused('invalid-presentation');
});

describe('a presentation signed for another challenge or domain: invalid-presentation', () => {
  it('another challenge', async () => {
    await issuer.issue(toMallory.id, claims());
    craft = (r) =>
      signedPresentation(mallory.agent, r.definition, randomBytes(32).toString('base64url'), r.domain);
    await malloryIsRefused('invalid-presentation');
  });

  it('another domain (the request names Bob’s DID on the connection)', async () => {
    await issuer.issue(toMallory.id, claims());
    let asked: string | undefined;
    craft = (r) => {
      asked = r.domain;
      return signedPresentation(mallory.agent, r.definition, r.challenge, 'did:example:another-verifier');
    };
    await malloryIsRefused('invalid-presentation');
    expect(asked).toBe(bm.did);
  });
});

describe('a presentation replayed from another connection', () => {
  it('Mallory’s own, made to Alice on their connection: invalid-presentation', async () => {
    await issuer.issue(toMallory.id, claims());
    let made: Json | undefined;
    craft = async (r) => (made = await honest(mallory.agent)(r));
    // Alice asks Mallory (who uses another DID with her than with Bob: Alice verifies her identity DID).
    await expect(alice.agent.modules.identity.verifyPeer(aliceToMallory.id, policy)).resolves.toMatchObject({
      did: mallory.did,
    });
    expect(made!.proof).toMatchObject({ domain: aliceToMallory.did });
    craft = async () => made!;
    await malloryIsRefused('invalid-presentation');
  });

  it('Alice’s, relayed: Alice declines Mallory’s request that names Bob’s domain (wrong-domain)', async () => {
    const declined = new Promise<string | undefined>((resolve) => {
      const on = (e: DidCommProofStateChangedEvent) => {
        const r = e.payload.proofRecord;
        if (r.connectionId !== malloryToAlice.id || r.state !== DidCommProofState.Abandoned) return;
        mallory.agent.events.off(DidCommProofEventTypes.ProofStateChanged, on);
        resolve(r.errorMessage);
      };
      mallory.agent.events.on(DidCommProofEventTypes.ProofStateChanged, on);
    });
    const relayed = presentationFrom(
      mallory.agent,
      malloryToAlice.id,
      peerPresentationDefinition(),
      randomBytes(32).toString('base64url'),
      bm.did,
    );
    relayed.catch(() => undefined);
    expect(await declined).toContain(WRONG_DOMAIN_DESCRIPTION);
    const presented = await mallory.agent.didcomm.proofs.findAllByQuery({ connectionId: malloryToAlice.id });
    expect(presented.filter((r) => r.state === DidCommProofState.PresentationReceived)).toEqual([]);
  });
});
