// Fuzzing what the identity protocol reads from peers: its DIDComm messages (address-proof
// request, address proof, problem report; generated and mutated plaintexts through Credo's
// receiver, class validation and dispatcher into the identity handlers), the address-proof
// signature check, and the verifier's policy check of a presented credential. A request is
// answered with a proof that verifies; an answer reaches only the verifier waiting on its thread
// and connection, with an address and signature of the right form; the policy check returns
// claims that satisfy the policy or refuses with PeerNotAuthorizedError; nothing else is thrown.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { JsonTransformer } from '@credo-ts/core';
import type { DidCommMessageSender } from '@credo-ts/didcomm';
import { getAddress, hexlify } from 'ethers';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import {
  addressProofDigest,
  recoverAddressProof,
  signAddressProof,
  type AddressProofBinding,
} from '../../src/protocols/identity/address-proof.js';
import { PeerNotAuthorizedError } from '../../src/protocols/identity/errors.js';
import {
  AddressProofMessage,
  AddressProofRequestMessage,
  IdentityProblemReportMessage,
} from '../../src/protocols/identity/messages/identity-messages.js';
import { identityMessageHandlers } from '../../src/protocols/identity/identity-module.js';
import { checkPresentation, type PeerPolicy } from '../../src/protocols/identity/policy.js';
import { AddressProofService } from '../../src/protocols/identity/services/address-proof-service.js';
import { peerPresentation } from './identity-samples.js';
import {
  OUR_DID,
  THEIR_DID,
  applyEdits,
  credoPipeline,
  edit,
  mutatedPlaintext,
  prototypeKeys,
  readyConnection,
  toText,
  typeVariants,
} from './didcomm-fuzz-support.js';

const holderKey = EthereumSigner.random();
const PROTO = prototypeKeys();

// The identity handlers as the module registers them on an agent; the answers they return go to
// the pipeline's outbox, so the service sends nothing itself here.
const state = new AddressProofService({} as DidCommMessageSender);
state.signer = holderKey;
const pipeline = credoPipeline(identityMessageHandlers(state));

const json = (m: object) => JSON.parse(JSON.stringify(JsonTransformer.toJSON(m))) as Record<string, unknown>;
const PENDING_THREAD = randomUUID();
const request = () => json(new AddressProofRequestMessage({ challenge: 'Zm9vYmFy-challenge' }));
const proof = () =>
  json(
    new AddressProofMessage({
      address: holderKey.address,
      signature: signAddressProof(holderKey, { verifierDid: OUR_DID, holderDid: THEIR_DID, challenge: 'c' }),
      threadId: PENDING_THREAD,
    }),
  );
const report = () => {
  const r = new IdentityProblemReportMessage({ description: { en: 'no key', code: 'no-address-key' } });
  r.setThread({ threadId: PENDING_THREAD });
  return json(r);
};

type Settled = { resolved?: AddressProofMessage; rejected?: unknown };

/** Delivers `text` with a verifier waiting on PENDING_THREAD; checks what followed and returns it. */
async function deliver(text: string): Promise<{ settled: Settled; error: unknown }> {
  pipeline.reset();
  const settled: Settled = {};
  state.pending.clear();
  state.pending.set(PENDING_THREAD, {
    connectionId: pipeline.connection.id,
    resolve: (m) => (settled.resolved = m),
    reject: (e) => (settled.rejected = e),
  });
  let error: unknown;
  const plaintext = JSON.parse(text) as unknown;
  await pipeline.receive(plaintext).catch((err: unknown) => (error = err));
  expect(prototypeKeys()).toEqual(PROTO);
  expect(pipeline.handlerErrors).toEqual([]);
  if (error !== undefined) {
    expect(settled).toEqual({});
    expect(pipeline.processed).toHaveLength(0);
    return { settled, error };
  }
  expect(pipeline.processed).toHaveLength(1);

  const m = (pipeline.processed[0] as { message: unknown }).message;
  if (m instanceof AddressProofRequestMessage) {
    // Answered with a proof over this connection's DIDs and the request's challenge.
    expect(pipeline.outbox).toHaveLength(1);
    const answer = pipeline.outbox[0]!.message;
    expect(answer).toBeInstanceOf(AddressProofMessage);
    const back = answer as AddressProofMessage;
    expect(back.threadId).toBe(m.threadId);
    expect(back.address).toBe(holderKey.address);
    expect(
      recoverAddressProof(
        { verifierDid: THEIR_DID, holderDid: OUR_DID, challenge: m.challenge },
        back.signature,
      ),
    ).toBe(holderKey.address);
  } else if (m instanceof AddressProofMessage) {
    expect(pipeline.outbox).toHaveLength(0);
    if (m.threadId === PENDING_THREAD) {
      expect(settled.resolved).toBe(m);
      // In its backend's form: a 20-byte address and 65-byte signature, or TON's 32 and 64 bytes.
      const ton = m.backend === 'ton';
      expect(m.address).toMatch(ton ? /^0x[0-9a-fA-F]{64}$/ : /^0x[0-9a-fA-F]{40}$/);
      expect(m.signature).toMatch(ton ? /^0x[0-9a-fA-F]{128}$/ : /^0x[0-9a-fA-F]{130}$/);
    } else expect(settled).toEqual({});
  } else {
    expect(pipeline.outbox.length).toBeLessThanOrEqual(1);
    if (m instanceof IdentityProblemReportMessage && m.threadId === PENDING_THREAD)
      expect(settled.rejected).toBeInstanceOf(Error);
    else expect(settled).toEqual({});
  }
  return { settled, error };
}

describe('identity messages under fuzzing', () => {
  it('answers a valid request, and settles the waiting verifier with a valid answer or report', async () => {
    await deliver(JSON.stringify(request()));
    expect(pipeline.outbox).toHaveLength(1);
    expect((await deliver(JSON.stringify(proof()))).settled.resolved).toBeInstanceOf(AddressProofMessage);
    expect((await deliver(JSON.stringify(report()))).settled.rejected).toBeInstanceOf(Error);
  });

  it('handles thousands of mutated requests, proofs and reports without a handler error', async () => {
    const base = fc.constantFrom(request, proof, report).map((make) => make());
    await fc.assert(
      fc.asyncProperty(mutatedPlaintext(base), async (text) => void (await deliver(text))),
      { numRuns: 2_000 },
    );
  });

  it('handles @type URIs near the identity ones', async () => {
    const variant = fc.constantFrom(request, proof, report).chain((make) => {
      const j = make();
      return typeVariants(j['@type'] as string).map((t) => JSON.stringify({ ...j, '@type': t }));
    });
    await fc.assert(
      fc.asyncProperty(variant, async (text) => void (await deliver(text))),
      { numRuns: 1_000 },
    );
  });

  it('an answer on another connection does not settle the verifier', async () => {
    pipeline.reset();
    let settled = false;
    state.pending.set(PENDING_THREAD, {
      connectionId: 'another-connection',
      resolve: () => (settled = true),
      reject: () => (settled = true),
    });
    await pipeline.receive(proof());
    expect(settled).toBe(false);
    expect(state.pending.has(PENDING_THREAD)).toBe(true);
  });
});

describe('address proofs under fuzzing', () => {
  const binding: fc.Arbitrary<AddressProofBinding> = fc.record({
    verifierDid: fc.string({ maxLength: 80 }),
    holderDid: fc.string({ maxLength: 80 }),
    challenge: fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 })),
  });

  // Signing and recovery cost a few milliseconds each: fewer runs here than for the decoders.
  const signer = EthereumSigner.random();

  it('recovers the signer only for the binding it signed', () => {
    fc.assert(
      fc.property(binding, binding, (signed, asked) => {
        const sig = signAddressProof(signer, signed);
        expect(recoverAddressProof(signed, sig)).toBe(signer.address);
        if (Buffer.compare(addressProofDigest(asked), addressProofDigest(signed)) !== 0)
          expect(recoverAddressProof(asked, sig)).not.toBe(signer.address);
      }),
      { numRuns: 300 },
    );
  });

  it('reads any other signature as an address or undefined, never a throw', () => {
    const valid = signAddressProof(signer, { verifierDid: OUR_DID, holderDid: THEIR_DID, challenge: 'c' });
    const signature = fc.oneof(
      fc.uint8Array({ minLength: 65, maxLength: 65 }).map((b) => hexlify(b)),
      fc.string({ maxLength: 140 }),
      fc.tuple(fc.nat(64), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
        const bytes = Buffer.from(valid.slice(2), 'hex');
        bytes[at] = v;
        return '0x' + bytes.toString('hex');
      }),
    );
    fc.assert(
      fc.property(binding, signature, (asked, sig) => {
        const recovered = recoverAddressProof(asked, sig as `0x${string}`);
        if (recovered !== undefined) expect(recovered).toBe(getAddress(recovered));
      }),
      { numRuns: 1_500 },
    );
  });
});

describe('the verifier’s policy check under fuzzing', () => {
  const ISSUER = 'did:key:z6MkIssuer';
  const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
  const connection = readyConnection();
  const policy: PeerPolicy = {
    trustedIssuers: [ISSUER],
    requiredClaims: { name: true, minSpendingLimit: 10n },
  };
  const presentation = () =>
    peerPresentation({ issuer: ISSUER, holder: THEIR_DID, address: ADDRESS, spendingLimit: '50' });

  /** The claims satisfy the policy, or the check refused with PeerNotAuthorizedError. */
  function checksOrRefuses(vp: unknown): 'accepted' | 'refused' {
    let peer;
    try {
      peer = checkPresentation(vp as Record<string, unknown>, connection, policy);
    } catch (err) {
      expect(err).toBeInstanceOf(PeerNotAuthorizedError);
      return 'refused';
    }
    expect(peer.did).toBe(THEIR_DID);
    expect(policy.trustedIssuers).toContain(peer.issuer);
    expect(peer.address).toBe(getAddress(peer.address));
    expect(peer.name).toEqual(expect.any(String));
    expect(peer.spendingLimit! >= 10n).toBe(true);
    return 'accepted';
  }

  it('accepts the untouched presentation', () => {
    expect(checksOrRefuses(presentation())).toBe('accepted');
  });

  it('refuses a presentation whose proof list holds null (found by fuzzing: it threw a TypeError)', () => {
    expect(() => checkPresentation({ ...presentation(), proof: [null] }, connection, policy)).toThrow(
      PeerNotAuthorizedError,
    );
  });

  it('accepts mutated presentations only when they still satisfy the policy, refuses the rest typed', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const vp = JSON.parse(toText(applyEdits(presentation(), edits))) as unknown;
        outcomes.add(checksOrRefuses(vp));
      }),
      { numRuns: 3_000 },
    );
    expect([...outcomes].sort()).toEqual(['accepted', 'refused']);
  });

  it('refuses arbitrary values with PeerNotAuthorizedError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => void checksOrRefuses(v)),
      { numRuns: 2_000 },
    );
  });
});
