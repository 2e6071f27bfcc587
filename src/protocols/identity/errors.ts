// Why a peer was refused. Every refusal of the gate is a PeerNotAuthorizedError with one code.

export type PeerRefusalCode =
  /** The peer presented no credential (it declined the request, or sent nothing usable). */
  | 'no-credential'
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
  /** The credential's subject (or the presentation's signer) is not the peer's DID on this connection. */
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
