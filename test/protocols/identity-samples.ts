// A presentation of the peer credential as Credo hands it to the verifier's policy check, for the
// policy and fuzzing suites: one credential of `issuer` about `holder`, named Mallory.
import { PEER_CREDENTIAL_TYPE, PERUN_CONTEXT_URL } from '../../src/protocols/identity/context.js';

export type Vp = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function peerPresentation(o: {
  issuer: string;
  holder: string;
  address: string;
  spendingLimit: string;
}): Vp {
  return {
    '@context': ['https://www.w3.org/2018/credentials/v1'],
    type: ['VerifiablePresentation'],
    verifiableCredential: [
      {
        '@context': ['https://www.w3.org/2018/credentials/v1', PERUN_CONTEXT_URL],
        type: ['VerifiableCredential', PEER_CREDENTIAL_TYPE],
        issuer: o.issuer,
        issuanceDate: '2026-01-01T00:00:00Z',
        expirationDate: '2099-01-01T00:00:00Z',
        credentialSubject: {
          id: o.holder,
          ethereumAddress: o.address,
          name: 'Mallory',
          spendingLimit: o.spendingLimit,
        },
        proof: { type: 'Ed25519Signature2018', verificationMethod: `${o.issuer}#key-1` },
      },
    ],
    proof: { type: 'Ed25519Signature2018', verificationMethod: `${o.holder}#key-1` },
  };
}
