// Typed errors of the channel store. Every one extends PerunError, so callers can switch on `code`.

import { PerunError, type ErrorDetails } from '../errors.js';

/** Base class of every error a ChannelStore throws on purpose. */
export class StoreError extends PerunError {
  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/**
 * A state would roll the channel back: a fully signed state older than the stored one, the same
 * version with different content, or a staged state that is not newer than the signed one.
 * `details` holds channelId, storedVersion and givenVersion (decimal strings).
 */
export class StaleStateError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('STALE_STATE', message, details, options);
  }
}

/** createChannel for an ID that is already stored. */
export class ChannelExistsError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('CHANNEL_EXISTS', message, details, options);
  }
}

/**
 * A payment ID the channel's payment log already holds; the write carrying it changed nothing.
 * `details` holds channelId and paymentId.
 */
export class PaymentExistsError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('PAYMENT_EXISTS', message, details, options);
  }
}

/** A write for a channel the store does not hold. */
export class ChannelNotStoredError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('CHANNEL_NOT_STORED', message, details, options);
  }
}

/** A record handed to the store has the wrong shape (ID mismatch, signature count, non-hex...). */
export class InvalidRecordError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('INVALID_RECORD', message, details, options);
  }
}

/** A stored row cannot be decoded: the database was altered outside the store. */
export class CorruptRecordError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('CORRUPT_RECORD', message, details, options);
  }
}

/** The store was used wrongly: re-entered from inside its own transaction, or used after close(). */
export class StoreUsageError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super('STORE_USAGE', message, details, options);
  }
}
