// Why a peer was refused. Every refusal of the gate is a PeerNotAuthorizedError with one code.

export type PeerRefusalCode =
  /**
   * The peer presented no credential: it declined the presentation request (a present-proof
   * problem report, its text in `details.error`), or answered in a format we do not accept.
   */
  | 'no-credential'
  /**
   * The peer answered the presentation request with a problem report outside present-proof (it
   * does not run present-proof v2, e.g. Credo's "message type is not supported") or with a
   * counter-proposal. `details.problem` holds its code and text.
   */
  | 'presentation-refused'
  /**
   * The peer answered the address-proof request with a problem report: it does not run
   * perun-identity address proofs, or has no key for an address. `details.problem` holds its code and text.
   */
  | 'no-address-proof'
  /** The credential's issuer is not in the policy's trusted list. */
  | 'untrusted-issuer'
  /** The credential does not carry the policy's credential type. */
  | 'wrong-type'
  /** A required claim is absent, malformed or below the policy's minimum. */
  | 'missing-claim'
  /** The credential's expirationDate has passed. */
  | 'expired'
  /** The address proof does not recover to the credential's address, or the channel's address differs. */
  | 'address-mismatch'
  /**
   * The presentation is not signed by the credential's subject (the holder's identity DID), or a
   * channel proposal comes from another peer than the one its connection's credential names.
   */
  | 'subject-mismatch'
  /** Credo did not verify the presentation (bad signature, wrong challenge, PE mismatch). */
  | 'invalid-presentation'
  /** No established DIDComm connection with that peer. */
  | 'no-connection'
  /** The peer did not answer in time. */
  | 'timeout';

export class PeerNotAuthorizedError extends Error {
  constructor(
    readonly code: PeerRefusalCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${code}: ${message}`);
    this.name = 'PeerNotAuthorizedError';
  }
}

/** A problem report a peer sent on one of our requests: its message type, code and text. */
export interface PeerProblem {
  type: string;
  code?: string;
  text?: string;
}

/** A request of ours the peer answered with a problem report. */
export class PeerProblemReportError extends Error {
  constructor(readonly problem: PeerProblem) {
    super(`the peer reported ${problem.code ?? 'a problem'}: ${problem.text ?? ''}`.trim());
    this.name = 'PeerProblemReportError';
  }
}

/** Failures of the issuer API (the offer was refused or timed out). */
export class CredentialIssuanceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CredentialIssuanceError';
  }
}

/** Throws the refusal `code`. */
export function refuse(code: PeerRefusalCode, message: string, details: Record<string, unknown> = {}): never {
  throw new PeerNotAuthorizedError(code, message, details);
}
