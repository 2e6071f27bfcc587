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

// ---------------------------------------------------------------------------------------------
// Channel core: validation, machine, messages, wire. One class per kind of refusal; `code`
// tells the reason apart within a class (for example InvalidTransitionError 'STALE_VERSION').

/** Why a Params, State or Allocation is refused; shared by the validation error classes. */
export type ValidationCode =
  // Params
  | 'INVALID_PARAMS'
  | 'TOO_FEW_PARTICIPANTS'
  | 'TOO_MANY_PARTICIPANTS'
  | 'DUPLICATE_PARTICIPANT'
  | 'INVALID_CHALLENGE_DURATION'
  // Allocation
  | 'MALFORMED'
  | 'NO_ASSETS'
  | 'TOO_MANY_ASSETS'
  | 'BACKENDS_MISMATCH'
  | 'BALANCES_MISMATCH'
  | 'PARTICIPANTS_MISMATCH'
  | 'NEGATIVE_BALANCE'
  | 'VALUE_TOO_LARGE'
  | 'TOO_MANY_SUBALLOCS'
  | 'SUBALLOC_MISMATCH'
  | 'DUPLICATE_SUBALLOC'
  | 'INVALID_INDEX_MAP'
  // State
  | 'CHANNEL_MISMATCH'
  | 'VERSION_OUT_OF_RANGE'
  | 'INVALID_APP_DATA'
  | 'FINAL_WITH_LOCKED'
  // Transition
  | 'STALE_VERSION'
  | 'VERSION_USED'
  | 'VERSION_GAP'
  | 'FINAL_STATE'
  | 'ASSET_MISMATCH'
  | 'NOT_CONSERVED'
  | 'INVALID_ACTOR'
  | 'LOCKED_CHANGED'
  | 'APP_RULE';

/** Base of every refusal by src/channels/validation.ts. */
export class ValidationError extends PerunError {
  declare readonly code: ValidationCode;
  constructor(
    code: ValidationCode,
    message: string,
    details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }
}

/** Params are malformed or outside the limits (participants, challenge duration). */
export class InvalidParamsError extends ValidationError {}

/** An allocation is not rectangular, has a negative or too large value, or a bad sub-allocation. */
export class InvalidAllocationError extends ValidationError {}

/** A state does not fit its channel (ID, version range, app data, final with locked funds). */
export class InvalidStateError extends ValidationError {}

/**
 * A proposed next state is not a valid successor of the current one (docs/protocol.md §3.2).
 * If the next state was itself invalid, `cause` holds the InvalidStateError/InvalidAllocationError
 * and `code` repeats its code.
 */
export class InvalidTransitionError extends ValidationError {}

/** The channel machine was asked to move between two phases its transition table does not link. */
export class IllegalTransitionError extends PerunError {
  readonly from: string;
  readonly to: string;
  constructor(from: string, to: string, details: ErrorDetails = {}) {
    super('ILLEGAL_TRANSITION', `illegal phase transition ${from} -> ${to}`, { from, to, ...details });
    this.from = from;
    this.to = to;
  }
}

export type MachineCode =
  | 'NOT_INITIALIZED'
  | 'ALREADY_INITIALIZED'
  | 'NO_STAGED_STATE'
  | 'ALREADY_STAGED'
  | 'MISSING_SIGNATURES'
  | 'INVALID_INDEX'
  | 'NOT_NEWER';

/** A channel machine operation that does not fit the machine's data (nothing staged, signatures missing, ...). */
export class ChannelMachineError extends PerunError {
  declare readonly code: MachineCode;
  constructor(code: MachineCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/** A machine snapshot cannot be restored (malformed, or a signature in it does not verify). */
export class InvalidSnapshotError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('INVALID_SNAPSHOT', message, details, options);
  }
}

/** A channel message from the wire has the wrong shape; `details.path` names the offending field. */
export class MalformedMessageError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('MALFORMED_MESSAGE', message, details, options);
  }
}

/** A peer is not connected to the wire (unknown, disconnected or closed). */
export class PeerUnreachableError extends PerunError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('PEER_UNREACHABLE', message, details, options);
  }
}

export type ClientCode =
  | 'UNKNOWN_CHANNEL'
  | 'NOT_PARTICIPANT'
  | 'PROPOSAL_REJECTED'
  | 'UPDATE_REJECTED'
  | 'PEER_TIMEOUT'
  | 'CHANNEL_BUSY'
  | 'CHANNEL_CLOSED'
  | 'INVALID_REQUEST'
  | 'SUBCHANNELS_OPEN'
  | 'INVALID_PAYMENTS'
  | 'INSUFFICIENT_BALANCE'
  | 'CLIENT_CLOSED';

/**
 * A channel client operation failed for a reason the caller can act on: the peer rejected a
 * proposal or an update (`details.reason`, and `details.peerCode` when the peer gave one), did not
 * answer in time, the channel is unknown, closed or busy, or the request itself is invalid.
 */
export class ChannelClientError extends PerunError {
  declare readonly code: ClientCode;
  constructor(code: ClientCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Watcher

export type WatcherCode =
  | 'ALREADY_WATCHING'
  | 'CLOSED'
  | 'REENTRANT'
  | 'CHANNEL_MISMATCH'
  | 'NOT_FULLY_SIGNED'
  | 'HANDLER_FAILED'
  | 'REFUTATION_FAILED';

/**
 * A watcher refusal (watching a channel twice, using a closed watcher, waiting for a scan from
 * inside an event handler, publishing a state of another channel or one missing signatures), or
 * a failure it reports through `onError` (an event handler threw, a refutation could not be sent
 * and will be retried); `cause` holds the underlying error.
 */
export class WatcherError extends PerunError {
  declare readonly code: WatcherCode;
  constructor(code: WatcherCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
