// Both sides of the identity protocol's address proofs (https://didcomm.org/perun-identity/1.0).
// The holder answers a request with an EIP-191 proof signed by its address key, or with a problem
// report `no-address-key` when it has none; the verifier sends requests and settles each with the
// answer that comes back on its thread and connection. Holds the agent's address key and the
// verifier's outstanding requests.
import { injectable, type AgentContext } from '@credo-ts/core';
import {
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  type DidCommConnectionRecord,
  type DidCommMessage,
} from '@credo-ts/didcomm';
import type { EthereumSigner } from '../../../channels/ethereum/signer.js';
import { signAddressProof } from '../address-proof.js';
import {
  AddressProofMessage,
  AddressProofRequestMessage,
  IdentityProblemReportMessage,
} from '../messages/identity-messages.js';

export const NO_ADDRESS_KEY = 'no-address-key';

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

@injectable()
export class AddressProofService {
  /** The holder's address key; without one, address-proof requests get a problem report. */
  public signer: EthereumSigner | undefined;
  /** Verifier side: thread ID of an address-proof request → who waits for its answer. */
  public readonly pending = new Map<string, PendingProof>();

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
    const signature = signAddressProof(signer, {
      verifierDid: connection.theirDid,
      holderDid: connection.did,
      challenge: request.challenge,
    });
    return new AddressProofMessage({ address: signer.address, signature, threadId: request.threadId });
  }

  /** Settles the request waiting on the answer's thread, if it went out on `connection`. */
  public settle(
    connection: DidCommConnectionRecord,
    answer: AddressProofMessage | IdentityProblemReportMessage,
  ): void {
    const waiting = this.pending.get(answer.threadId);
    if (waiting === undefined || waiting.connectionId !== connection.id) return;
    this.pending.delete(answer.threadId);
    if (answer instanceof AddressProofMessage) waiting.resolve(answer);
    else waiting.reject(new Error(answer.description?.code ?? 'refused'));
  }

  /** Sends an address-proof request with `challenge`; the answer settles with the peer's reply. */
  public request(
    agentContext: AgentContext,
    connection: DidCommConnectionRecord,
    challenge: string,
  ): AddressProofRequest {
    const request = new AddressProofRequestMessage({ challenge });
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
