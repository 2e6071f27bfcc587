// The holder side: an identity DID (the subject of our peer credentials; each connection has its
// own pairwise DID), automatic acceptance of peer-credential offers made out to it (or to our DID
// on that connection), automatic answers to presentation requests (the peer credential whose
// subject is our identity DID, signed by it, or a problem report when there is none; a request
// whose domain is not the verifier's DID on that connection is declined, so a presentation asked
// for on one connection cannot be relayed to another), and address proofs signed with the
// channel key that name the identity DID (both go to the AddressProofService).
import {
  ClaimFormat,
  DidsApi,
  EventEmitter,
  PeerDidNumAlgo,
  W3cCredentialRecord,
  W3cCredentialsApi,
  createPeerDidDocumentFromServices,
  injectable,
  type AgentContext,
  type PeerDidNumAlgo2CreateOptions,
  type W3cJsonLdVerifiableCredential,
} from '@credo-ts/core';
import {
  DidCommAutoAcceptCredential,
  DidCommConnectionEventTypes,
  DidCommConnectionsApi,
  DidCommCredentialEventTypes,
  DidCommCredentialRole,
  DidCommCredentialState,
  DidCommProofEventTypes,
  DidCommProofRole,
  DidCommProofState,
  DidCommRoutingService,
  type DidCommConnectionDidRotatedEvent,
  type DidCommConnectionRecord,
  type DidCommCredentialStateChangedEvent,
  type DidCommProofStateChangedEvent,
} from '@credo-ts/didcomm';
import type { AddressProofSigner } from '../address-proof.js';
import { PEER_CREDENTIAL_TYPE } from '../context.js';
import { credentialsApi, proofsApi } from '../exchange-protocols.js';
import { AddressProofService } from './address-proof-service.js';

/** Problem-report description a holder sends when it has no peer credential for the request. */
export const NO_CREDENTIAL_DESCRIPTION = 'no-credential';
/** Problem-report description a holder sends for a request whose domain is not the verifier's DID on the connection. */
export const WRONG_DOMAIN_DESCRIPTION = 'wrong-domain';

export interface PeerHolderOptions {
  /** The key of the address the peer credential names (the channel key); signs address proofs. */
  signer?: AddressProofSigner;
  /** Accept peer-credential offers automatically (default true). */
  acceptOffers?: boolean;
  /** Answer presentation requests automatically (default true). */
  answerRequests?: boolean;
  /** The subject of our peer credentials; default: our DID on each connection. */
  identityDid?: string;
}

export interface PeerHolder {
  /** Stops answering offers and requests (address-proof requests then get a problem report). */
  stop(): void;
}

type Credential = W3cJsonLdVerifiableCredential;

function isPeerCredential(vc: Credential): boolean {
  return vc.type.includes(PEER_CREDENTIAL_TYPE);
}

@injectable()
export class PeerHolderService {
  public constructor(
    private readonly events: EventEmitter,
    private readonly addressProofs: AddressProofService,
  ) {}

  /**
   * Creates the agent's identity DID: a did:peer:2 with the agent's DIDComm endpoint, resolvable
   * from the DID alone. Use it as `ourDid` when accepting invitations and as the subject of the
   * agent's peer credential.
   */
  public async createIdentityDid(agentContext: AgentContext): Promise<string> {
    const routing = await agentContext.resolve(DidCommRoutingService).getRouting(agentContext, {});
    const { didDocument, keys } = createPeerDidDocumentFromServices(
      routing.endpoints.map((endpoint, i) => ({
        id: `#didcomm-${i}`,
        serviceEndpoint: endpoint,
        recipientKeys: [routing.recipientKey],
        routingKeys: routing.routingKeys,
      })),
      true,
    );
    const result = await agentContext.resolve(DidsApi).create<PeerDidNumAlgo2CreateOptions>({
      method: 'peer',
      didDocument,
      options: { numAlgo: PeerDidNumAlgo.MultipleInceptionKeyWithoutDoc, keys },
    });
    if (result.didState.state !== 'finished') {
      throw new Error(`identity DID not created: ${JSON.stringify(result.didState)}`);
    }
    return result.didState.did;
  }

  /**
   * Makes `did` our DID on a connection we did not open with it (we were the inviter): DID rotate,
   * then waits for the peer's acknowledgement.
   */
  public async adoptIdentityDid(
    agentContext: AgentContext,
    connectionId: string,
    did: string,
    timeoutMs = 20_000,
  ): Promise<DidCommConnectionRecord> {
    const connections = agentContext.resolve(DidCommConnectionsApi);
    const current = await connections.getById(connectionId);
    if (current.did === did) return current;
    let listener: ((e: DidCommConnectionDidRotatedEvent) => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const rotated = new Promise<DidCommConnectionRecord>((resolve, reject) => {
      listener = (e) => {
        const c = e.payload.connectionRecord;
        if (c.id === connectionId && c.did === did) resolve(c);
      };
      this.events.on(DidCommConnectionEventTypes.DidCommConnectionDidRotated, listener);
      timer = setTimeout(() => reject(new Error('the peer did not acknowledge the DID rotation')), timeoutMs);
    });
    try {
      await connections.rotate({ connectionId, toDid: did });
      return await rotated;
    } finally {
      clearTimeout(timer);
      this.events.off(DidCommConnectionEventTypes.DidCommConnectionDidRotated, listener!);
    }
  }

  /** Turns the agent into a holder of peer credentials (see the file comment). */
  public enable(agentContext: AgentContext, options: PeerHolderOptions = {}): PeerHolder {
    const { addressProofs, events } = this;
    addressProofs.signer = options.signer;
    addressProofs.identityDid = options.identityDid;
    const ourSubject = (connection: DidCommConnectionRecord) => options.identityDid ?? connection.did;
    const connections = agentContext.resolve(DidCommConnectionsApi);
    const credentials = credentialsApi(agentContext);
    const proofs = proofsApi(agentContext);
    const log = (context: string, err: unknown) =>
      agentContext.config.logger.warn(`peer holder: ${context}`, {
        error: err instanceof Error ? err.message : err,
      });

    const onCredential = (e: DidCommCredentialStateChangedEvent) => {
      const r = e.payload.credentialExchangeRecord;
      if (r.role !== DidCommCredentialRole.Holder || r.state !== DidCommCredentialState.OfferReceived) return;
      void (async () => {
        const connection = await connections.getById(r.connectionId!);
        const offer = (await credentials.getFormatData(r.id)).offer?.jsonld?.credential;
        const subject = offer?.credentialSubject;
        const subjectId = Array.isArray(subject) ? undefined : (subject as { id?: string } | undefined)?.id;
        const types = offer?.type ?? [];
        if (
          subjectId === undefined ||
          (subjectId !== options.identityDid && subjectId !== connection.did) ||
          !types.includes(PEER_CREDENTIAL_TYPE)
        ) {
          await credentials.declineOffer({
            credentialExchangeRecordId: r.id,
            sendProblemReport: true,
            problemReportDescription: 'not a peer credential for our identity DID',
          });
          return;
        }
        await credentials.acceptOffer({
          credentialExchangeRecordId: r.id,
          autoAcceptCredential: DidCommAutoAcceptCredential.Always,
        });
      })().catch((err: unknown) => log('credential offer', err));
    };

    const onProof = (e: DidCommProofStateChangedEvent) => {
      const r = e.payload.proofRecord;
      if (r.role !== DidCommProofRole.Prover || r.state !== DidCommProofState.RequestReceived) return;
      void (async () => {
        const connection = await connections.getById(r.connectionId!);
        const request = (await proofs.getFormatData(r.id)).request?.presentationExchange;
        const descriptor = request?.presentation_definition.input_descriptors[0]?.id;
        if (request?.options?.domain !== connection.theirDid) {
          await proofs.declineRequest({
            proofExchangeRecordId: r.id,
            sendProblemReport: true,
            problemReportDescription: WRONG_DOMAIN_DESCRIPTION,
          });
          return;
        }
        const subject = ourSubject(connection);
        const [record] = subject === undefined ? [] : await this.#peerCredentialsFor(agentContext, subject);
        if (descriptor === undefined || record === undefined) {
          await proofs.declineRequest({
            proofExchangeRecordId: r.id,
            sendProblemReport: true,
            problemReportDescription: NO_CREDENTIAL_DESCRIPTION,
          });
          return;
        }
        await proofs.acceptRequest({
          proofExchangeRecordId: r.id,
          proofFormats: {
            presentationExchange: {
              credentials: { [descriptor]: [{ claimFormat: ClaimFormat.LdpVc, credentialRecord: record }] },
            },
          },
        });
      })().catch((err: unknown) => log('presentation request', err));
    };

    if (options.acceptOffers !== false)
      events.on(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onCredential);
    if (options.answerRequests !== false) events.on(DidCommProofEventTypes.ProofStateChanged, onProof);
    return {
      stop() {
        events.off(DidCommCredentialEventTypes.DidCommCredentialStateChanged, onCredential);
        events.off(DidCommProofEventTypes.ProofStateChanged, onProof);
        if (addressProofs.signer === options.signer) addressProofs.signer = undefined;
      },
    };
  }

  /** Stores a signed peer credential directly (one obtained outside issue-credential). */
  public async storePeerCredential(agentContext: AgentContext, vc: Credential): Promise<W3cCredentialRecord> {
    return agentContext.resolve(W3cCredentialsApi).store({ record: W3cCredentialRecord.fromCredential(vc) });
  }

  /** Our peer credentials made out to `ourDid`, unexpired ones first, newest first. */
  async #peerCredentialsFor(agentContext: AgentContext, ourDid: string): Promise<W3cCredentialRecord[]> {
    const now = Date.now();
    const records = (await agentContext.resolve(W3cCredentialsApi).getAll()).filter((r) => {
      const vc = r.firstCredential;
      return (
        vc.claimFormat === ClaimFormat.LdpVc &&
        isPeerCredential(vc) &&
        vc.credentialSubjectIds.includes(ourDid)
      );
    });
    const expired = (r: W3cCredentialRecord) => {
      const exp = (r.firstCredential as Credential).expirationDate;
      return exp !== undefined && Date.parse(exp) < now;
    };
    return records.sort(
      (a, b) => Number(expired(a)) - Number(expired(b)) || b.createdAt.getTime() - a.createdAt.getTime(),
    );
  }
}
