// The verifier's policy on a presentation Credo has already verified, one field changed at a
// time: each change is refused with its code, and the untouched presentation passes.
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { PeerNotAuthorizedError, type PeerRefusalCode } from '../../src/protocols/identity/errors.js';
import { checkPresentation, type PeerPolicy } from '../../src/protocols/identity/policy.js';
import { peerPresentation, type Vp } from './identity-samples.js';

const ISSUER = 'did:key:z6MkIssuer';
const PEER = 'did:peer:2.Ez6LSmallory';
const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const connection = { id: 'conn-1', theirDid: PEER, did: 'did:peer:2.Ez6LSbob' } as DidCommConnectionRecord;
const policy: PeerPolicy = {
  trustedIssuers: [ISSUER],
  requiredClaims: { name: true, minSpendingLimit: 10n ** 18n },
};

const presentation = (): Vp =>
  peerPresentation({ issuer: ISSUER, holder: PEER, address: ADDRESS, spendingLimit: '5000000000000000000' });

const vc = (vp: Vp) => vp.verifiableCredential[0];

it('accepts the presentation as it is and returns the verified claims', () => {
  expect(checkPresentation(presentation(), connection, policy)).toMatchObject({
    did: PEER,
    issuer: ISSUER,
    address: ADDRESS,
    name: 'Mallory',
    spendingLimit: 5n * 10n ** 18n,
  });
});

it.each<[string, PeerRefusalCode, (vp: Vp) => void]>([
  ['no credential', 'no-credential', (vp) => (vp.verifiableCredential = [])],
  ['two credentials', 'no-credential', (vp) => vp.verifiableCredential.push(vc(vp))],
  [
    'another credential type',
    'wrong-type',
    (vp) => (vc(vp).type = ['VerifiableCredential', 'DriverLicense']),
  ],
  [
    'without the project’s context',
    'wrong-type',
    (vp) => (vc(vp)['@context'] = ['https://www.w3.org/2018/credentials/v1']),
  ],
  ['an issuer not trusted', 'untrusted-issuer', (vp) => (vc(vp).issuer = 'did:key:z6MkRogue')],
  ['an issuer object not trusted', 'untrusted-issuer', (vp) => (vc(vp).issuer = { id: 'did:key:z6MkRogue' })],
  ['an expiration in the past', 'expired', (vp) => (vc(vp).expirationDate = '2020-01-01T00:00:00Z')],
  [
    'a subject that is another DID',
    'subject-mismatch',
    (vp) => (vc(vp).credentialSubject.id = 'did:peer:2.Ez6LSalice'),
  ],
  [
    'a presentation signed by another DID',
    'subject-mismatch',
    (vp) => (vp.proof.verificationMethod = 'did:peer:2.Ez6LSalice#key-1'),
  ],
  ['an unsigned presentation', 'subject-mismatch', (vp) => delete vp.proof],
  ['no address', 'missing-claim', (vp) => delete vc(vp).credentialSubject.ethereumAddress],
  [
    'an address that is not one',
    'missing-claim',
    (vp) => (vc(vp).credentialSubject.ethereumAddress = '0x1234'),
  ],
  ['no name', 'missing-claim', (vp) => delete vc(vp).credentialSubject.name],
  [
    'a spending limit below the minimum',
    'missing-claim',
    (vp) => (vc(vp).credentialSubject.spendingLimit = '1'),
  ],
  [
    'a spending limit that is no number',
    'missing-claim',
    (vp) => (vc(vp).credentialSubject.spendingLimit = '1e30'),
  ],
])('refuses %s with %s', (_, code, change) => {
  const vp = presentation();
  change(vp);
  let err: unknown;
  try {
    checkPresentation(vp, connection, policy);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PeerNotAuthorizedError);
  expect((err as PeerNotAuthorizedError).code).toBe(code);
});
