// Both sides of the identity protocol's address proofs (https://perun-agent.org/protocols/perun-identity/1.0).
// The holder answers a request with a proof signed by its address key (EIP-191, or Ed25519 for a TON address), or with a problem
// report `no-address-key` when it has none; the verifier sends requests and settles each with the
// answer that comes back on its thread and connection. A problem report of any protocol threaded
// to a request (its thread, or its parent thread: what Credo sends for a message type it does not
// support) settles it too, and so ends a verification at once; the verifier also watches the
// threads of its presentation requests for such reports. A request refused that way as an
// unsupported type goes again under the old URI, which an agent of before the new namespace
// answers (docs/protocols/README.md). Holds the agent's address key, the
// verifier's outstanding requests and watched threads, and the last few reports that arrived
// before their thread was watched.
import { injectable, type AgentContext } from '@credo-ts/core';
import {
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  DidCommProblemReportMessage,
  type DidCommConnectionRecord,
  type DidCommMessage,
} from '@credo-ts/didcomm';
import { isUnsupportedTypeReport } from '../../generic-problem-reports.js';
import { legacyClass } from '../../protocol-uris.js';
import { backendOfSigner, signAddressProof, type AddressProofSigner } from '../address-proof.js';
import { PeerProblemReportError, type PeerProblem } from '../errors.js';
import {
  AddressProofMessage,
  AddressProofRequestMessage,
  IdentityProblemReportMessage,
  LEGACY_IDENTITY_MESSAGES,
} from '../messages/identity-messages.js';

export const NO_ADDRESS_KEY = 'no-address-key';

/** Problem reports kept for a thread not watched yet (a peer may answer before we start watching). */
export const EARLY_REPORTS_KEPT = 32;

export interface PendingProof {
  connectionId: string;
  resolve: (m: AddressProofMessage) => void;
  reject: (e: Error) => void;
}

/** An address-proof request in flight: its answer, and the cancel that stops waiting for it. */
export interface AddressProofRequest {
  answer: Promise<AddressProofMessage>;
  cancel(): void;
}

/** A watched thread: `report` resolves with the first problem report threaded to it. */
export interface WatchedThread {
  report: Promise<PeerProblem>;
  cancel(): void;
}

interface Watcher {
  connectionId: string;
  resolve: (p: PeerProblem) => void;
}

interface EarlyReport {
  connectionId: string;
  threads: string[];
  problem: PeerProblem;
}

function problemOf(report: DidCommProblemReportMessage): PeerProblem {
  return {
    type: report.type,
    ...(report.description?.code === undefined ? {} : { code: report.description.code }),
    ...(report.description?.en === undefined ? {} : { text: report.description.en }),
  };
}

@injectable()
export class AddressProofService {
  /** The holder's address key; without one, address-proof requests get a problem report. */
  public signer: AddressProofSigner | undefined;
  /** The holder's identity DID, named in its proofs. */
  public identityDid: string | undefined;
  /** Verifier side: thread ID of an address-proof request → who waits for its answer. */
  public readonly pending = new Map<string, PendingProof>();
  /** Verifier side: thread ID of a presentation request → who waits for a problem report on it. */
  readonly #watched = new Map<string, Watcher>();
  readonly #early: EarlyReport[] = [];

  public constructor(private readonly messageSender: DidCommMessageSender) {}

  /** The holder's answer to `request` on `connection`: a proof, or a problem report without a key. */
  public answer(connection: DidCommConnectionRecord, request: AddressProofRequestMessage): DidCommMessage {
    const signer = this.signer;
    if (signer === undefined || connection.did === undefined || connection.theirDid === undefined) {
      const report = new IdentityProblemReportMessage({
        description: { en: 'this agent proves no Ethereum address', code: NO_ADDRESS_KEY },
      });
      report.setThread({ threadId: request.threadId });
      return report;
    }
    const identityDid = this.identityDid;
    const signature = signAddressProof(signer, {
      verifierDid: connection.theirDid,
      holderDid: connection.did,
      challenge: request.challenge,
      ...(identityDid === undefined ? {} : { identityDid }),
    });
    return new AddressProofMessage({
      address: signer.address,
      signature,
      threadId: request.threadId,
      ...(identityDid === undefined ? {} : { identityDid }),
      ...(backendOfSigner(signer) === 'ton' ? { backend: 'ton' as const } : {}),
    });
  }

  /**
   * Settles the request waiting on the answer's thread, if it went out on `connection`; a problem
   * report also settles by its parent thread, and a watched thread, or is kept for one.
   */
  public settle(
    connection: DidCommConnectionRecord,
    answer: AddressProofMessage | DidCommProblemReportMessage,
  ): void {
    if (answer instanceof AddressProofMessage) {
      const waiting = this.#take(connection, answer.threadId);
      waiting?.resolve(answer);
      return;
    }
    const threads = [answer.threadId, answer.thread?.parentThreadId].filter((t) => t !== undefined);
    const problem = problemOf(answer);
    for (const thread of threads) {
      const waiting = this.#take(connection, thread);
      if (waiting !== undefined) return waiting.reject(new PeerProblemReportError(problem));
      const watcher = this.#watched.get(thread);
      if (watcher !== undefined && watcher.connectionId === connection.id) return watcher.resolve(problem);
    }
    this.#early.push({ connectionId: connection.id, threads, problem });
    if (this.#early.length > EARLY_REPORTS_KEPT) this.#early.shift();
  }

  /**
   * Watches `threads` (a request's thread and its message ID: Credo threads a report on a message
   * of another protocol to its ID) on `connectionId` for a problem report, also one that came already.
   */
  public watch(connectionId: string, threads: string[]): WatchedThread {
    const early = this.#early.findIndex(
      (r) => r.connectionId === connectionId && r.threads.some((t) => threads.includes(t)),
    );
    if (early >= 0) {
      const [{ problem }] = this.#early.splice(early, 1) as [EarlyReport];
      return { report: Promise.resolve(problem), cancel: () => undefined };
    }
    const report = new Promise<PeerProblem>((resolve) => {
      for (const t of threads) this.#watched.set(t, { connectionId, resolve });
    });
    return { report, cancel: () => threads.forEach((t) => this.#watched.delete(t)) };
  }

  #take(connection: DidCommConnectionRecord, threadId: string): PendingProof | undefined {
    const waiting = this.pending.get(threadId);
    if (waiting === undefined || waiting.connectionId !== connection.id) return undefined;
    this.pending.delete(threadId);
    return waiting;
  }

  /**
   * Sends an address-proof request with `challenge`; the answer settles with the peer's reply. A
   * peer that does not support the request's type gets it again under the old URI.
   */
  public request(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    challenge: string,
  ): AddressProofRequest {
    let current = this.#send(agentContext, connection, new AddressProofRequestMessage({ challenge }));
    const answer = current.answer.catch((err: unknown) => {
      if (!isUnsupportedType(err)) throw err;
      const OldRequest = legacyClass(LEGACY_IDENTITY_MESSAGES, AddressProofRequestMessage);
      current = this.#send(agentContext, connection, new OldRequest({ challenge }));
      return current.answer;
    });
    answer.catch(() => undefined);
    return { answer, cancel: () => current.cancel() };
  }

  #send(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    request: AddressProofRequestMessage,
  ): AddressProofRequest {
    const answer = new Promise<AddressProofMessage>((resolve, reject) => {
      this.pending.set(request.threadId, { connectionId: connection.id, resolve, reject });
    });
    answer.catch(() => undefined);
    void this.messageSender
      .sendMessage(new DidCommOutboundMessageContext(request, { agentContext, connection }))
      .catch((err: unknown) => this.pending.get(request.threadId)?.reject(err as Error));
    return { answer, cancel: () => this.pending.delete(request.threadId) };
  }
}

/** Credo's generic report of a message type the peer has no handler for. */
function isUnsupportedType(err: unknown): boolean {
  return err instanceof PeerProblemReportError && isUnsupportedTypeReport(err.problem);
}
