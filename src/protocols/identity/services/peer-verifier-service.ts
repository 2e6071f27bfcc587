// The verifier side. verifyPeer runs present-proof v2 (DIF presentation exchange) with the peer on
// a connection and, in parallel, asks it for proof of control of its channel address (Ethereum or TON)
// (../address-proof.ts) over the same challenge; then checks the policy (../policy.ts). The
// request's challenge is fresh and its domain is our DID on the connection (a pairwise DID, ours
// on no other connection): Credo verifies the presentation against both, so a presentation made
// on another connection does not verify here. The presentation's signer, the credential's
// subject, is the peer's identity DID; an address proof that names an identity must name it. The first problem report threaded to either request, or a
// counter-proposal, ends the verification with a refusal naming what the peer lacks.
// provenAddress asks for the address proof alone: what an issuer certifies.
import { randomBytes } from 'node:crypto';
import {
  EventEmitter,
  injectable,
  type AgentContext,
  type DifPresentationExchangeDefinitionV1,
} from '@credo-ts/core';
import {
  DidCommConnectionsApi,
  DidCommProofEventTypes,
  DidCommProofState,
  type DidCommConnectionRecord,
  type DidCommProofStateChangedEvent,
} from '@credo-ts/didcomm';
import { provenAddress, type AddressBackend, type AddressProofBinding } from '../address-proof.js';
import {
  PeerNotAuthorizedError,
  PeerProblemReportError,
  refuse,
  type PeerProblem,
  type PeerRefusalCode,
} from '../errors.js';
import { collectEvents } from '../events.js';
import { proofsApi } from '../exchange-protocols.js';
import type { AddressProofMessage } from '../messages/identity-messages.js';
import {
  checkPresentation,
  credentialsOf,
  isExpired,
  isObject,
  peerPresentationDefinition,
  type PeerPolicy,
  type VerifiedPeer,
} from '../policy.js';
import {
  AddressProofService,
  type AddressProofRequest,
  type WatchedThread,
} from './address-proof-service.js';

export interface VerifyOptions {
  /** How long to wait for the presentation and the address proof; default 20 s. */
  timeoutMs?: number;
  /**
   * How long a successful verification of the peer on a connection serves new channels on it, in
   * ms (./verified-peers-service.ts); 0, the default, verifies every time. Only the gate and the
   * API's verifyPeer rely on earlier verifications; this service always asks.
   */
  reverifyAfterMs?: number;
  /** The clock that reliance is measured by, ms since the epoch; default Date.now. */
  now?: () => number;
  /** Told every decision of ./verified-peers-service.ts: verified anew, relied on, or refused. */
  onDecision?: (decision: PeerDecision) => void;
}

/** One decision about the peer on a connection, as recorded in its PeerVerificationRecord. */
export interface PeerDecision {
  connectionId: string;
  theirDid: string;
  /** `reused`: an earlier verification (`verifiedAt`) served, with no exchange with the peer. */
  decision: 'verified' | 'reused' | 'refused';
  /** The refusal's code and message. */
  code?: PeerRefusalCode;
  reason?: string;
  address?: string;
  /** ISO 8601: when the deciding verification ran. */
  verifiedAt: string;
  /** ISO 8601: until when new channels may rely on it (a success). */
  validUntil?: string;
  /** The PeerVerificationRecord holding it. */
  recordId: string;
}

/** The refusal for an address-proof request that failed with `err`. */
function addressProofRefusal(err: unknown): PeerNotAuthorizedError {
  if (err instanceof PeerProblemReportError)
    return new PeerNotAuthorizedError(
      'no-address-proof',
      'the peer answered the address-proof request with a problem report: it proves no Ethereum address over perun-identity/1.0',
      { problem: err.problem },
    );
  return new PeerNotAuthorizedError('address-mismatch', 'the peer did not prove control of the address', {
    error: err instanceof Error ? err.message : String(err),
  });
}

/** The refusal for a problem report threaded to our presentation request. */
function presentationRefusal(problem: PeerProblem): PeerNotAuthorizedError {
  return new PeerNotAuthorizedError(
    'presentation-refused',
    'the peer answered the presentation request with a problem report: it does not present a peer credential over present-proof v2 with DIF presentation exchange',
    { problem },
  );
}

/** The peer's address proof, or a refusal when it fails or does not come within `timeoutMs`. */
async function proofWithin(proof: AddressProofRequest, timeoutMs: number): Promise<AddressProofMessage> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    proof.answer.catch((err: unknown) => {
      throw addressProofRefusal(err);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PeerNotAuthorizedError('timeout', 'the peer sent no address proof in time')),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What an address proof on `connection` for `challenge` was signed over, as the verifier sees it. */
function bindingOf(
  connection: { did: string; theirDid: string },
  challenge: string,
  answer: AddressProofMessage,
): AddressProofBinding {
  return {
    verifierDid: connection.did,
    holderDid: connection.theirDid,
    challenge,
    ...(answer.identityDid === undefined ? {} : { identityDid: answer.identityDid }),
  };
}

const FINAL_STATES: string[] = [
  DidCommProofState.PresentationReceived,
  DidCommProofState.ProposalReceived,
  DidCommProofState.Done,
  DidCommProofState.Abandoned,
  DidCommProofState.Declined,
];

/** Our established connection `connectionId` with both DIDs, or a refusal. */
export async function readyConnection(
  agentContext: AgentContext,
  connectionId: string,
): Promise<DidCommConnectionRecord & { did: string; theirDid: string }> {
  return readyRecord(await agentContext.resolve(DidCommConnectionsApi).findById(connectionId), connectionId);
}

/** `connection` (the record of `connectionId`, read by the caller) if established with both DIDs, else a refusal. */
export function readyRecord(
  connection: DidCommConnectionRecord | null,
  connectionId: string,
): DidCommConnectionRecord & { did: string; theirDid: string } {
  if (
    connection === null ||
    !connection.isReady ||
    connection.theirDid === undefined ||
    connection.did === undefined
  )
    return refuse('no-connection', 'no established connection', { connectionId });
  return connection as DidCommConnectionRecord & { did: string; theirDid: string };
}

@injectable()
export class PeerVerifierService {
  public constructor(
    private readonly events: EventEmitter,
    private readonly addressProofs: AddressProofService,
  ) {}

  /**
   * Runs present-proof v2 (DIF PE) with the peer on `connectionId` and checks `policy`; returns the
   * verified claims or throws PeerNotAuthorizedError with the reason.
   */
  public async verifyPeer(
    agentContext: AgentContext,
    connectionId: string,
    policy: PeerPolicy,
    options: VerifyOptions = {},
  ): Promise<VerifiedPeer> {
    const connection = await readyConnection(agentContext, connectionId);
    const proofs = proofsApi(agentContext);
    const timeoutMs = options.timeoutMs ?? 20_000;
    const challenge = randomBytes(32).toString('base64url');
    const events = collectEvents<DidCommProofStateChangedEvent>(
      this.events,
      DidCommProofEventTypes.ProofStateChanged,
    );
    let addressProof: AddressProofRequest | undefined;
    let watched: WatchedThread | undefined;
    let recordId: string | undefined;
    let fail: (err: PeerNotAuthorizedError) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => undefined);
    try {
      const record = await proofs.requestProof({
        connectionId,
        protocolVersion: 'v2',
        proofFormats: {
          presentationExchange: {
            // Credo 0.6 types the request as PE v1, its service handles v1 and v2 alike (it detects
            // the version); v2 needs no `schema`, which JSON-LD credentials would have to match.
            presentationDefinition:
              peerPresentationDefinition() as unknown as DifPresentationExchangeDefinitionV1,
            options: { challenge, domain: connection.did },
          },
        },
      });
      recordId = record.id;
      const requestId = (await proofs.findRequestMessage(record.id))?.id;
      watched = this.addressProofs.watch(
        connectionId,
        requestId === undefined ? [record.threadId] : [record.threadId, requestId],
      );
      watched.report.then((problem) => fail(presentationRefusal(problem))).catch(() => undefined);

      if (policy.requireAddressProof !== false) {
        addressProof = this.addressProofs.request(agentContext, connection, challenge);
        addressProof.answer.catch((err: unknown) => fail(addressProofRefusal(err)));
      }
      const final = (
        await Promise.race([
          events.until(
            (e) =>
              e.payload.proofRecord.id === record.id && FINAL_STATES.includes(e.payload.proofRecord.state),
            timeoutMs,
            () => new PeerNotAuthorizedError('timeout', 'the peer did not present in time'),
          ),
          failed,
        ])
      ).payload.proofRecord;
      if (final.state === DidCommProofState.ProposalReceived)
        refuse('presentation-refused', 'the peer proposed another presentation instead of presenting', {
          problem: { type: 'propose-presentation' },
        });
      const vp = (await proofs.getFormatData(record.id)).presentation?.presentationExchange as unknown;
      if (!final.isVerified || !isObject(vp)) {
        if (!isObject(vp))
          refuse('no-credential', 'the peer presented no credential', { error: final.errorMessage });
        const vc = credentialsOf(vp)[0];
        if (vc !== undefined && isExpired(vc))
          refuse('expired', 'the credential has expired', { expirationDate: vc.expirationDate });
        refuse('invalid-presentation', 'the presentation did not verify', { error: final.errorMessage });
      }
      const checked = checkPresentation(vp as Record<string, unknown>, connection, policy);
      let addressProven = false;
      if (addressProof !== undefined) {
        const answer = await proofWithin(addressProof, timeoutMs);
        if (answer.identityDid !== undefined && answer.identityDid !== checked.did)
          refuse('subject-mismatch', 'the address proof names another identity than the presentation', {
            named: answer.identityDid,
            subject: checked.did,
          });
        const proven = provenAddress(bindingOf(connection, challenge, answer), answer);
        const backend = checked.backend ?? 'ethereum';
        if (proven === undefined || proven.backend !== backend || proven.address !== checked.address)
          refuse('address-mismatch', 'the address proof was not made by the credential’s address', {
            credentialAddress: checked.address,
            credentialBackend: backend,
            claimed: answer.address,
            proofBackend: answer.backend ?? 'ethereum',
            verified: proven !== undefined,
          });
        addressProven = true;
      }
      if (final.state === DidCommProofState.PresentationReceived) {
        await proofs.acceptPresentation({ proofExchangeRecordId: record.id }).catch(() => undefined);
      }
      return { ...checked, addressProven };
    } catch (err) {
      if (err instanceof PeerNotAuthorizedError && recordId !== undefined) {
        // Tell the holder why (best effort); a record Credo abandoned already sent its own report.
        const r = await proofs.findById(recordId);
        if (r?.state === DidCommProofState.PresentationReceived) {
          await proofs
            .sendProblemReport({ proofExchangeRecordId: recordId, description: err.code })
            .catch(() => undefined);
        }
      }
      throw err;
    } finally {
      events.stop();
      watched?.cancel();
      addressProof?.cancel();
    }
  }

  /**
   * Asks the peer on `connectionId` to prove control of its channel address (an EIP-191 signature
   * over both DIDs and a fresh challenge) and returns the address that signed. What an issuer uses
   * to learn the address it certifies.
   */
  public async provenAddress(
    agentContext: AgentContext,
    connectionId: string,
    options: VerifyOptions = {},
  ): Promise<string> {
    return (await this.provenHolder(agentContext, connectionId, options)).address;
  }

  /**
   * provenAddress, with the identity DID the holder names in its proof (if it names one): what an
   * issuer makes a credential out to.
   */
  public async provenHolder(
    agentContext: AgentContext,
    connectionId: string,
    options: VerifyOptions = {},
  ): Promise<{ address: string; identityDid?: string; backend?: AddressBackend }> {
    const connection = await readyConnection(agentContext, connectionId);
    const challenge = randomBytes(32).toString('base64url');
    const proof = this.addressProofs.request(agentContext, connection, challenge);
    try {
      const answer = await proofWithin(proof, options.timeoutMs ?? 20_000);
      const proven = provenAddress(bindingOf(connection, challenge, answer), answer);
      if (proven === undefined)
        refuse('address-mismatch', 'the address proof does not verify', {
          claimed: answer.address,
          backend: answer.backend ?? 'ethereum',
        });
      return {
        address: proven.address,
        ...(answer.identityDid === undefined ? {} : { identityDid: answer.identityDid }),
        ...(proven.backend === 'ton' ? { backend: proven.backend } : {}),
      };
    } finally {
      proof.cancel();
    }
  }
}
