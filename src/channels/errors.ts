// Typed errors of the channel layer: a short message, a machine-readable code, details for
// the caller and a cause chain (the viem / ethers v6 way).

export type ErrorDetails = Record<string, unknown>;

export class PerunError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** A value cannot be encoded or decoded as a Perun tuple. */
export class EncodingError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('ENCODING', message, details, options);
  }
}

/** A signature is malformed or was not made by the expected signer. */
export class SignatureError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('INVALID_SIGNATURE', message, details, options);
  }
}

/** A transaction or call on the chain failed; `details.reason` holds the revert reason if any. */
export class ChainError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('CHAIN', message, details, options);
  }
}

/** Not every participant funded the channel before the funding timeout. */
export class FundingTimeoutError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('FUNDING_TIMEOUT', message, details, options);
  }
}
