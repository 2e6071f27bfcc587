// The issuer: a did:key (Ed25519) that signs peer credentials, JSON-LD with Ed25519Signature2018,
// delivered over issue-credential v2 (the holder's agent accepts offers made out to its DID on
// the connection, see ./holder.ts). The subject is always the holder's DID on the connection the
// credential travels over.
import { ClaimFormat, JsonTransformer, W3cCredential, W3cJsonLdVerifiableCredential } from '@credo-ts/core';
import {
  DidCommAutoAcceptCredential,
  DidCommCredentialEventTypes,
  DidCommCredentialState,
  type DidCommCredentialStateChangedEvent,
} from '@credo-ts/didcomm';
import { getAddress } from 'ethers';
import type { PerunIdentityAgent } from '../../agent/credo/agent.js';
import { CREDENTIALS_V1_URL, PEER_CREDENTIAL_TYPE, PERUN_CONTEXT_URL } from './context.js';
import { CredentialIssuanceError } from './errors.js';
import { collectEvents } from './events.js';

export const PROOF_TYPE = 'Ed25519Signature2018';

/** The claims of a peer credential besides its subject. */
export interface PeerClaims {
  /** The address that signs the holder's channel states. */
  ethereumAddress: string;
  name: string;
  /** Wei. */
  spendingLimit: bigint;
}

export interface CredentialDates {
  /** Default: now. */
  issuanceDate?: Date;
  /** Default: none (the credential does not expire). */
  expirationDate?: Date;
}

/** The credential as JSON, unsigned: what the issuer offers and later signs. */
export function peerCredentialJson(
  issuer: string,
  subject: string,
  claims: PeerClaims,
  dates: CredentialDates = {},
) {
  if (claims.spendingLimit < 0n) throw new RangeError('spendingLimit must not be negative');
  const date = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    '@context': [CREDENTIALS_V1_URL, PERUN_CONTEXT_URL],
    type: ['VerifiableCredential', PEER_CREDENTIAL_TYPE],
    issuer,
    issuanceDate: date(dates.issuanceDate ?? new Date()),
    ...(dates.expirationDate === undefined ? {} : { expirationDate: date(dates.expirationDate) }),
    credentialSubject: {
      id: subject,
      ethereumAddress: getAddress(claims.ethereumAddress),
      name: claims.name,
      spendingLimit: claims.spendingLimit.toString(),
    },
  };
}

export class PeerCredentialIssuer {
  private constructor(
    readonly agent: PerunIdentityAgent,
    /** The issuer DID (did:key), what verifiers list as trusted. */
    readonly did: string,
    /** Its verification method (did:key#fingerprint). */
    readonly verificationMethod: string,
  ) {}

  /** An issuer with a new did:key, or with an existing did:key of this agent. */
  static async create(agent: PerunIdentityAgent, did?: string): Promise<PeerCredentialIssuer> {
    if (did === undefined) {
      const result = await agent.dids.create({
        method: 'key',
        options: { createKey: { type: { kty: 'OKP', crv: 'Ed25519' } } },
      });
      if (result.didState.state !== 'finished') {
        throw new CredentialIssuanceError(`issuer DID not created: ${JSON.stringify(result.didState)}`);
      }
      did = result.didState.did;
    }
    const doc = await agent.dids.resolveDidDocument(did);
    const vm = doc.assertionMethod?.[0];
    const verificationMethod = typeof vm === 'string' ? vm : vm?.id;
    if (verificationMethod === undefined) throw new CredentialIssuanceError(`${did} has no assertion method`);
    return new PeerCredentialIssuer(
      agent,
      did,
      verificationMethod.startsWith('#') ? did + verificationMethod : verificationMethod,
    );
  }

  /**
   * Offers a peer credential to the holder on `connectionId` (issue-credential v2, JSON-LD format)
   * and waits until the holder has stored it and acknowledged. Returns the signed credential.
   */
  async issue(
    connectionId: string,
    claims: PeerClaims,
    options: CredentialDates & { timeoutMs?: number } = {},
  ): Promise<W3cJsonLdVerifiableCredential> {
    const connection = await this.agent.didcomm.connections.getById(connectionId);
    connection.assertReady();
    const credential = peerCredentialJson(this.did, connection.theirDid!, claims, options);
    const events = collectEvents<DidCommCredentialStateChangedEvent>(
      this.agent,
      DidCommCredentialEventTypes.DidCommCredentialStateChanged,
    );
    try {
      const record = await this.agent.didcomm.credentials.offerCredential({
        connectionId,
        protocolVersion: 'v2',
        credentialFormats: {
          jsonld: { credential, options: { proofType: PROOF_TYPE, proofPurpose: 'assertionMethod' } },
        },
        autoAcceptCredential: DidCommAutoAcceptCredential.Always,
      });
      const done = await events.until(
        (e) =>
          e.payload.credentialExchangeRecord.id === record.id &&
          [
            DidCommCredentialState.Done,
            DidCommCredentialState.Abandoned,
            DidCommCredentialState.Declined,
          ].includes(e.payload.credentialExchangeRecord.state),
        options.timeoutMs ?? 20_000,
        () => new CredentialIssuanceError('the holder did not complete the credential exchange in time'),
      );
      const final = done.payload.credentialExchangeRecord;
      if (final.state !== DidCommCredentialState.Done) {
        throw new CredentialIssuanceError(
          `the holder refused the credential (${final.state}): ${final.errorMessage ?? 'no reason given'}`,
        );
      }
      const issued = (await this.agent.didcomm.credentials.getFormatData(record.id)).credential?.jsonld;
      if (issued === undefined) throw new CredentialIssuanceError('the exchange holds no credential');
      return JsonTransformer.fromJSON(issued, W3cJsonLdVerifiableCredential);
    } finally {
      events.stop();
    }
  }

  /** Signs a peer credential for `subject` without sending it (for holders that import it). */
  async sign(
    subject: string,
    claims: PeerClaims,
    dates: CredentialDates = {},
  ): Promise<W3cJsonLdVerifiableCredential> {
    const vc = await this.agent.w3cCredentials.signCredential({
      format: ClaimFormat.LdpVc,
      credential: JsonTransformer.fromJSON(
        peerCredentialJson(this.did, subject, claims, dates),
        W3cCredential,
      ),
      proofType: PROOF_TYPE,
      verificationMethod: this.verificationMethod,
    });
    if (!(vc instanceof W3cJsonLdVerifiableCredential))
      throw new CredentialIssuanceError('not a JSON-LD credential');
    return vc;
  }
}
