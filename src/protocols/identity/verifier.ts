// The verifier side and the gate. verifyPeer runs present-proof v2 (DIF presentation exchange)
// with the peer on a connection and, in parallel, asks it for proof of control of its Ethereum
// address (./address-proof.ts) over the same challenge; then checks the policy. The gate wraps
// it for the channel client: a proposal is accepted only from a verified peer whose proposal
// names the verified address as participant 0.
import { randomBytes } from 'node:crypto';
import type {
  DifPresentationExchangeDefinitionV1,
  DifPresentationExchangeDefinitionV2,
} from '@credo-ts/core';
import {
  DidCommConnectionService,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  DidCommProofEventTypes,
  DidCommProofState,
  type DidCommConnectionRecord,
  type DidCommProofStateChangedEvent,
} from '@credo-ts/didcomm';
import { getAddress, isAddress } from 'ethers';
import type { PerunIdentityAgent } from '../../agent/credo/agent.js';
import type {
  ChannelClient,
  ChannelInfo,
  Decision,
  IncomingProposal,
  ProposeRequest,
} from '../../channels/client.js';
import { recoverAddressProof } from './address-proof.js';
import { PEER_CREDENTIAL_TYPE, PERUN_CONTEXT_URL } from './context.js';
import { PeerNotAuthorizedError, type PeerRefusalCode } from './errors.js';
import { collectEvents } from './events.js';
import { PROOF_TYPE } from './issuer.js';
import { AddressProofRequestMessage, type AddressProofMessage } from './messages.js';
import { identityState } from './protocol.js';

export interface RequiredClaims {
  /** A non-empty `name`. */
  name?: boolean;
  /** `spendingLimit` (wei) at least this much. */
  minSpendingLimit?: bigint;
}

export interface PeerPolicy {
  /** Issuer DIDs whose peer credentials we accept. */
  trustedIssuers: string[];
  /** Default PerunPeerCredential. */
  credentialType?: string;
  requiredClaims?: RequiredClaims;
  /** Ask for an EIP-191 proof of control of the credential's address (default true). */
  requireAddressProof?: boolean;
}

export interface VerifiedPeer {
  connectionId: string;
  /** The peer's DID on the connection: the credential's subject. */
  did: string;
  issuer: string;
  /** EIP-55. */
  address: string;
  name: string | undefined;
  spendingLimit: bigint | undefined;
  expirationDate: string | undefined;
  addressProven: boolean;
  /** The verified credential as presented. */
  credential: Record<string, unknown>;
}

export interface VerifyOptions {
  /** How long to wait for the presentation and the address proof; default 20 s. */
  timeoutMs?: number;
}

const DESCRIPTOR_ID = 'perun-peer-credential';

/** The presentation definition: one credential that names an Ethereum address, JSON-LD, Ed25519Signature2018. */
export function peerPresentationDefinition(): DifPresentationExchangeDefinitionV2 {
  return {
    id: 'perun-peer',
    purpose: 'A Perun channel peer shows the credential that binds its DID to its channel address',
    format: { ldp_vc: { proof_type: [PROOF_TYPE] }, ldp_vp: { proof_type: [PROOF_TYPE] } },
    input_descriptors: [
      {
        id: DESCRIPTOR_ID,
        constraints: { fields: [{ path: ['$.credentialSubject.ethereumAddress'] }] },
      },
    ],
  };
}

type Json = Record<string, unknown>;

const refuse = (code: PeerRefusalCode, message: string, details: Json = {}): never => {
  throw new PeerNotAuthorizedError(code, message, details);
};

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const didOf = (s: string) => s.split('#')[0]!;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function credentialsOf(vp: unknown): Json[] {
  if (!isObject(vp)) return [];
  return asArray(vp.verifiableCredential as Json | Json[] | undefined).filter(isObject);
}

function isExpired(vc: Json, now = Date.now()): boolean {
  const exp = vc.expirationDate;
  return typeof exp === 'string' && !(Date.parse(exp) > now);
}

/** The policy checks on a presentation Credo verified (signatures, challenge, PE match). */
export function checkPresentation(
  vp: Json,
  connection: DidCommConnectionRecord,
  policy: PeerPolicy,
): Omit<VerifiedPeer, 'addressProven'> {
  const theirDid = connection.theirDid!;
  const vcs = credentialsOf(vp);
  if (vcs.length !== 1) refuse('no-credential', 'the presentation does not hold exactly one credential');
  const vc = vcs[0]!;
  const type = policy.credentialType ?? PEER_CREDENTIAL_TYPE;
  const types = asArray(vc.type as string | string[] | undefined);
  const contexts = asArray(vc['@context'] as unknown);
  if (!types.includes(type) || !contexts.includes(PERUN_CONTEXT_URL))
    refuse('wrong-type', `the credential is not a ${type}`, { types });
  const issuer = isObject(vc.issuer) ? vc.issuer.id : vc.issuer;
  if (typeof issuer !== 'string' || !policy.trustedIssuers.includes(issuer))
    refuse('untrusted-issuer', 'the credential was issued by an issuer we do not trust', { issuer });
  if (isExpired(vc)) refuse('expired', 'the credential has expired', { expirationDate: vc.expirationDate });
  const subject = vc.credentialSubject;
  if (!isObject(subject)) return refuse('subject-mismatch', 'the credential must have one subject');
  if (subject.id !== theirDid)
    refuse('subject-mismatch', 'the credential is not about the peer’s DID on this connection', {
      subject: subject.id,
      peer: theirDid,
    });
  const signers = asArray(vp.proof as unknown).map((p) => (isObject(p) ? p.verificationMethod : undefined));
  if (signers.length === 0 || signers.some((vm) => typeof vm !== 'string' || didOf(vm) !== theirDid))
    refuse('subject-mismatch', 'the presentation is not signed by the peer’s DID on this connection', {
      signers,
    });
  const address = subject.ethereumAddress;
  if (typeof address !== 'string' || !isAddress(address))
    refuse('missing-claim', 'the credential names no valid ethereumAddress', { claim: 'ethereumAddress' });
  const name = typeof subject.name === 'string' && subject.name !== '' ? subject.name : undefined;
  if (policy.requiredClaims?.name === true && name === undefined)
    refuse('missing-claim', 'the credential has no name', { claim: 'name' });
  const limitText = subject.spendingLimit;
  const spendingLimit =
    typeof limitText === 'string' && /^(0|[1-9]\d{0,77})$/.test(limitText) ? BigInt(limitText) : undefined;
  const min = policy.requiredClaims?.minSpendingLimit;
  if (min !== undefined && (spendingLimit === undefined || spendingLimit < min))
    refuse('missing-claim', `the credential's spendingLimit is not at least ${min}`, {
      claim: 'spendingLimit',
      value: limitText,
    });
  return {
    connectionId: connection.id,
    did: theirDid,
    issuer: issuer as string,
    address: getAddress(address as string),
    name,
    spendingLimit,
    expirationDate: typeof vc.expirationDate === 'string' ? vc.expirationDate : undefined,
    credential: vc,
  };
}

/** Sends an address-proof request with `challenge`; the promise settles with the answer. */
function requestAddressProof(
  agent: PerunIdentityAgent,
  connection: DidCommConnectionRecord,
  challenge: string,
): { answer: Promise<AddressProofMessage>; cancel(): void } {
  const state = identityState(agent);
  const request = new AddressProofRequestMessage({ challenge });
  const answer = new Promise<AddressProofMessage>((resolve, reject) => {
    state.pending.set(request.threadId, { connectionId: connection.id, resolve, reject });
  });
  answer.catch(() => undefined);
  void agent.dependencyManager
    .resolve(DidCommMessageSender)
    .sendMessage(new DidCommOutboundMessageContext(request, { agentContext: agent.context, connection }))
    .catch((err: unknown) => state.pending.get(request.threadId)?.reject(err as Error));
  return { answer, cancel: () => state.pending.delete(request.threadId) };
}

/** The peer's address proof, or a refusal when it fails or does not come within `timeoutMs`. */
async function proofWithin(
  proof: ReturnType<typeof requestAddressProof>,
  timeoutMs: number,
): Promise<AddressProofMessage> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    proof.answer.catch((err: unknown) =>
      refuse('address-mismatch', 'the peer did not prove control of the address', {
        error: err instanceof Error ? err.message : String(err),
      }),
    ),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PeerNotAuthorizedError('timeout', 'the peer sent no address proof in time')),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

const FINAL_STATES: string[] = [
  DidCommProofState.PresentationReceived,
  DidCommProofState.Done,
  DidCommProofState.Abandoned,
  DidCommProofState.Declined,
];

/**
 * Runs present-proof v2 (DIF PE) with the peer on `connectionId` and checks `policy`; returns the
 * verified claims or throws PeerNotAuthorizedError with the reason.
 */
export async function verifyPeer(
  agent: PerunIdentityAgent,
  connectionId: string,
  policy: PeerPolicy,
  options: VerifyOptions = {},
): Promise<VerifiedPeer> {
  const connection = await agent.didcomm.connections.findById(connectionId);
  if (
    connection === null ||
    !connection.isReady ||
    connection.theirDid === undefined ||
    connection.did === undefined
  )
    return refuse('no-connection', 'no established connection', { connectionId });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const challenge = randomBytes(32).toString('base64url');
  const events = collectEvents<DidCommProofStateChangedEvent>(
    agent,
    DidCommProofEventTypes.ProofStateChanged,
  );
  let addressProof: ReturnType<typeof requestAddressProof> | undefined;
  let recordId: string | undefined;
  try {
    const record = await agent.didcomm.proofs.requestProof({
      connectionId,
      protocolVersion: 'v2',
      proofFormats: {
        presentationExchange: {
          // Credo 0.6 types the request as PE v1, its service handles v1 and v2 alike (it detects
          // the version); v2 needs no `schema`, which JSON-LD credentials would have to match.
          presentationDefinition:
            peerPresentationDefinition() as unknown as DifPresentationExchangeDefinitionV1,
          options: { challenge },
        },
      },
    });
    recordId = record.id;

    if (policy.requireAddressProof !== false)
      addressProof = requestAddressProof(agent, connection, challenge);
    const final = (
      await events.until(
        (e) => e.payload.proofRecord.id === record.id && FINAL_STATES.includes(e.payload.proofRecord.state),
        timeoutMs,
        () => new PeerNotAuthorizedError('timeout', 'the peer did not present in time'),
      )
    ).payload.proofRecord;
    const vp = (await agent.didcomm.proofs.getFormatData(record.id)).presentation
      ?.presentationExchange as unknown;
    if (!final.isVerified || !isObject(vp)) {
      if (!isObject(vp))
        refuse('no-credential', 'the peer presented no credential', { error: final.errorMessage });
      const vc = credentialsOf(vp)[0];
      if (vc !== undefined && isExpired(vc))
        refuse('expired', 'the credential has expired', { expirationDate: vc.expirationDate });
      refuse('invalid-presentation', 'the presentation did not verify', { error: final.errorMessage });
    }
    const checked = checkPresentation(vp as Json, connection, policy);
    let addressProven = false;
    if (addressProof !== undefined) {
      const answer = await proofWithin(addressProof, timeoutMs);
      const signer = recoverAddressProof(
        { verifierDid: connection.did, holderDid: connection.theirDid, challenge },
        answer.signature,
      );
      if (signer === undefined || signer !== checked.address)
        refuse('address-mismatch', 'the address proof was not made by the credential’s address', {
          credentialAddress: checked.address,
          signer,
        });
      addressProven = true;
    }
    if (final.state === DidCommProofState.PresentationReceived) {
      await agent.didcomm.proofs
        .acceptPresentation({ proofExchangeRecordId: record.id })
        .catch(() => undefined);
    }
    return { ...checked, addressProven };
  } catch (err) {
    if (err instanceof PeerNotAuthorizedError && recordId !== undefined) {
      // Tell the holder why (best effort); a record Credo abandoned already sent its own report.
      const r = await agent.didcomm.proofs.findById(recordId);
      if (r?.state === DidCommProofState.PresentationReceived) {
        await agent.didcomm.proofs
          .sendProblemReport({ proofExchangeRecordId: recordId, description: err.code })
          .catch(() => undefined);
      }
    }
    throw err;
  } finally {
    events.stop();
    addressProof?.cancel();
  }
}

export interface GateOptions {
  /** Called with every refusal (for logs and metrics). */
  onRefusal?: (proposal: IncomingProposal, error: PeerNotAuthorizedError) => void;
  verify?: VerifyOptions;
}

/**
 * An `onProposal` for ChannelClient: verifies the proposing peer (its DID → our connection with
 * it → verifyPeer) and accepts only if the proposal's participant 0 is the verified address and
 * `inner` (if given) accepts. Any failure is a refusal; the client then stores nothing.
 */
export function gatedProposalHandler(
  agent: PerunIdentityAgent,
  policy: PeerPolicy,
  inner?: (p: IncomingProposal, peer: VerifiedPeer) => Decision | Promise<Decision>,
  options: GateOptions = {},
): (p: IncomingProposal) => Promise<Decision> {
  return async (p) => {
    try {
      const connection = await agent.dependencyManager
        .resolve(DidCommConnectionService)
        .findByTheirDid(agent.context, p.peer);
      if (connection === null || !connection.isReady)
        return refuse('no-connection', 'no established connection with the proposer', { peer: p.peer });
      const peer = await verifyPeer(agent, connection.id, policy, options.verify);
      const proposer = p.participants[p.proposerIdx ?? 0];
      if (proposer === undefined || !isAddress(proposer) || getAddress(proposer) !== peer.address)
        refuse('address-mismatch', 'the proposal’s participant is not the verified address', {
          proposed: proposer,
          verified: peer.address,
        });
      return inner === undefined ? { accept: true } : await inner(p, peer);
    } catch (err) {
      if (err instanceof PeerNotAuthorizedError) {
        options.onRefusal?.(p, err);
        return { accept: false, reason: `not-authorized: ${err.message}` };
      }
      return { accept: false, reason: 'the peer could not be verified' };
    }
  };
}

/**
 * The proposer's side of the gate: verifies the peer on `connectionId`, then proposes the channel
 * to its DID with the verified address as the peer's participant address.
 */
export async function proposeToVerifiedPeer(
  agent: PerunIdentityAgent,
  client: ChannelClient,
  connectionId: string,
  policy: PeerPolicy,
  request: Omit<ProposeRequest, 'peer' | 'peerAddress'>,
  options: VerifyOptions = {},
): Promise<{ channel: ChannelInfo; peer: VerifiedPeer }> {
  const peer = await verifyPeer(agent, connectionId, policy, options);
  const channel = await client.proposeChannel({ ...request, peer: peer.did, peerAddress: peer.address });
  return { channel, peer };
}

/**
 * Asks the peer on `connectionId` to prove control of its channel address (an EIP-191 signature
 * over both DIDs and a fresh challenge) and returns the address that signed. What an issuer uses
 * to learn the address it certifies.
 */
export async function provenAddress(
  agent: PerunIdentityAgent,
  connectionId: string,
  options: VerifyOptions = {},
): Promise<string> {
  const connection = await agent.didcomm.connections.findById(connectionId);
  if (connection?.isReady !== true || connection.theirDid === undefined || connection.did === undefined)
    return refuse('no-connection', 'no established connection', { connectionId });
  const challenge = randomBytes(32).toString('base64url');
  const proof = requestAddressProof(agent, connection, challenge);
  try {
    const answer = await proofWithin(proof, options.timeoutMs ?? 20_000);
    const signer = recoverAddressProof(
      { verifierDid: connection.did, holderDid: connection.theirDid, challenge },
      answer.signature,
    );
    // Recovery yields some address for any signature: only the address the peer names counts.
    if (signer === undefined || !isAddress(answer.address) || signer !== getAddress(answer.address))
      refuse('address-mismatch', 'the address proof does not verify', {
        claimed: answer.address,
        recovered: signer,
      });
    return signer!;
  } finally {
    proof.cancel();
  }
}
