// The issuer: a did:key (Ed25519) that signs peer credentials, JSON-LD with Ed25519Signature2018,
// delivered over issue-credential v2 (the holder's agent accepts offers made out to its identity
// DID or its DID on the connection, see ./peer-holder-service.ts). The subject is the holder's
// identity DID where the caller names it (the holder names it in its request and its address
// proof), else the holder's DID on the connection the credential travels over. A
// PeerCredentialIssuer is one issuer DID of the agent.
import {
  ClaimFormat,
  DidsApi,
  EventEmitter,
  JsonTransformer,
  W3cCredential,
  W3cCredentialsApi,
  W3cJsonLdVerifiableCredential,
  injectable,
  type AgentContext,
} from '@credo-ts/core';
import {
  DidCommAutoAcceptCredential,
  DidCommConnectionsApi,
  DidCommCredentialEventTypes,
  DidCommCredentialState,
  type DidCommCredentialStateChangedEvent,
} from '@credo-ts/didcomm';
import { CredentialIssuanceError } from '../errors.js';
import { collectEvents } from '../events.js';
import { credentialsApi } from '../exchange-protocols.js';
import { PROOF_TYPE, peerCredentialJson, type CredentialDates, type PeerClaims } from '../peer-credential.js';

/** An issuer DID of the agent and its verification method. */
export interface IssuerKey {
  /** The issuer DID (did:key), what verifiers list as trusted. */
  readonly did: string;
  /** Its verification method (did:key#fingerprint). */
  readonly verificationMethod: string;
}

export interface IssueOptions extends CredentialDates {
  /** The holder's identity DID; default: its DID on the connection. */
  subject?: string;
  /** How long to wait for the holder; default 20 s. */
  timeoutMs?: number;
}

@injectable()
export class PeerIssuerService {
  public constructor(private readonly events: EventEmitter) {}

  /** A new did:key issuer, or the issuer `did` (a did:key of this agent). */
  public async issuerKey(agentContext: AgentContext, did?: string): Promise<IssuerKey> {
    const dids = agentContext.resolve(DidsApi);
    if (did === undefined) {
      const result = await dids.create({
        method: 'key',
        options: { createKey: { type: { kty: 'OKP', crv: 'Ed25519' } } },
      });
      if (result.didState.state !== 'finished') {
        throw new CredentialIssuanceError(`issuer DID not created: ${JSON.stringify(result.didState)}`);
      }
      did = result.didState.did;
    }
    const doc = await dids.resolveDidDocument(did);
    const vm = doc.assertionMethod?.[0];
    const verificationMethod = typeof vm === 'string' ? vm : vm?.id;
    if (verificationMethod === undefined) throw new CredentialIssuanceError(`${did} has no assertion method`);
    return {
      did,
      verificationMethod: verificationMethod.startsWith('#') ? did + verificationMethod : verificationMethod,
    };
  }

  /**
   * Offers a peer credential from `issuer` to the holder on `connectionId` (issue-credential v2,
   * JSON-LD format) and waits until the holder has stored it and acknowledged. Returns the signed
   * credential.
   */
  public async issue(
    agentContext: AgentContext,
    issuer: IssuerKey,
    connectionId: string,
    claims: PeerClaims,
    options: IssueOptions = {},
  ): Promise<W3cJsonLdVerifiableCredential> {
    const connection = await agentContext.resolve(DidCommConnectionsApi).getById(connectionId);
    connection.assertReady();
    const credentials = credentialsApi(agentContext);
    const { subject, timeoutMs, ...dates } = options;
    const credential = peerCredentialJson(issuer.did, subject ?? connection.theirDid!, claims, dates);
    const events = collectEvents<DidCommCredentialStateChangedEvent>(
      this.events,
      DidCommCredentialEventTypes.DidCommCredentialStateChanged,
    );
    try {
      const record = await credentials.offerCredential({
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
        timeoutMs ?? 20_000,
        () => new CredentialIssuanceError('the holder did not complete the credential exchange in time'),
      );
      const final = done.payload.credentialExchangeRecord;
      if (final.state !== DidCommCredentialState.Done) {
        throw new CredentialIssuanceError(
          `the holder refused the credential (${final.state}): ${final.errorMessage ?? 'no reason given'}`,
        );
      }
      const issued = (await credentials.getFormatData(record.id)).credential?.jsonld;
      if (issued === undefined) throw new CredentialIssuanceError('the exchange holds no credential');
      return JsonTransformer.fromJSON(issued, W3cJsonLdVerifiableCredential);
    } finally {
      events.stop();
    }
  }

  /** Signs a peer credential from `issuer` for `subject` without sending it. */
  public async sign(
    agentContext: AgentContext,
    issuer: IssuerKey,
    subject: string,
    claims: PeerClaims,
    dates: CredentialDates = {},
  ): Promise<W3cJsonLdVerifiableCredential> {
    const vc = await agentContext.resolve(W3cCredentialsApi).signCredential({
      format: ClaimFormat.LdpVc,
      credential: JsonTransformer.fromJSON(
        peerCredentialJson(issuer.did, subject, claims, dates),
        W3cCredential,
      ),
      proofType: PROOF_TYPE,
      verificationMethod: issuer.verificationMethod,
    });
    if (!(vc instanceof W3cJsonLdVerifiableCredential))
      throw new CredentialIssuanceError('not a JSON-LD credential');
    return vc;
  }
}

/** One issuer DID of the agent: issues and signs peer credentials (IdentityApi.createIssuer). */
export class PeerCredentialIssuer implements IssuerKey {
  public constructor(
    private readonly agentContext: AgentContext,
    private readonly service: PeerIssuerService,
    /** The issuer DID (did:key), what verifiers list as trusted. */
    public readonly did: string,
    /** Its verification method (did:key#fingerprint). */
    public readonly verificationMethod: string,
  ) {}

  /**
   * Offers a peer credential to the holder on `connectionId` (issue-credential v2, JSON-LD format)
   * and waits until the holder has stored it and acknowledged. Returns the signed credential.
   */
  public issue(
    connectionId: string,
    claims: PeerClaims,
    options: IssueOptions = {},
  ): Promise<W3cJsonLdVerifiableCredential> {
    return this.service.issue(this.agentContext, this, connectionId, claims, options);
  }

  /** Signs a peer credential for `subject` without sending it (for holders that import it). */
  public sign(
    subject: string,
    claims: PeerClaims,
    dates: CredentialDates = {},
  ): Promise<W3cJsonLdVerifiableCredential> {
    return this.service.sign(this.agentContext, this, subject, claims, dates);
  }
}
