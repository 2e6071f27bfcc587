// Errors as the agent's users see them (REST responses, CLI output): `{ category, code, message,
// details }`, perun-node's taxonomy. The category says whose move it is: `client` (the request
// is wrong: fix it), `peer` (the other agent refused, is unreachable or not authorized),
// `protocol` (a message or signature broke the rules), `chain` (the blockchain or its
// configuration), `internal` (a fault of this agent; its details are not shown). Each maps to
// an HTTP status.
import {
  ChainError,
  ChannelClientError,
  EncodingError,
  FundingTimeoutError,
  IllegalTransitionError,
  MalformedMessageError,
  PeerUnreachableError,
  PerunError,
  SignatureError,
  ValidationError,
} from '../../channels/errors.js';
import { CredentialIssuanceError, PeerNotAuthorizedError } from '../../protocols/identity/errors.js';
import { WrongPassphraseError } from '../kms/errors.js';

export type ApiErrorCategory = 'client' | 'peer' | 'protocol' | 'chain' | 'internal';

export interface ApiError {
  category: ApiErrorCategory;
  /** Machine-readable, UPPER_SNAKE. */
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** A request the API refuses before doing anything (bad JSON body, unknown route, no token). */
export class ApiRequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Seconds to wait before asking again (the response's Retry-After), for a refusal that passes. */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

const PEER_CLIENT_CODES = new Set(['PROPOSAL_REJECTED', 'UPDATE_REJECTED', 'PEER_TIMEOUT']);
const NOT_FOUND_CODES = new Set(['UNKNOWN_CHANNEL']);
const CONFLICT_CODES = new Set(['CHANNEL_BUSY', 'CHANNEL_CLOSED', 'SUBCHANNELS_OPEN']);

/** Details as JSON-safe values (bigints as decimal strings); nothing that is not data. */
function jsonSafe(details: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(details, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  ) as Record<string, unknown>;
}

const kebabToSnake = (code: string) => code.toUpperCase().replaceAll('-', '_');

/** The user-facing form of any error the agent can raise. */
export function toApiError(err: unknown): { status: number; body: ApiError } {
  const make = (status: number, category: ApiErrorCategory, code: string, message: string, details = {}) => ({
    status,
    body: { category, code, message, details: jsonSafe(details) },
  });
  if (err instanceof ApiRequestError) return make(err.status, 'client', err.code, err.message, err.details);
  if (err instanceof ChannelClientError) {
    if (PEER_CLIENT_CODES.has(err.code)) {
      return make(err.code === 'PEER_TIMEOUT' ? 504 : 502, 'peer', err.code, err.message, err.details);
    }
    if (NOT_FOUND_CODES.has(err.code)) return make(404, 'client', err.code, err.message, err.details);
    if (CONFLICT_CODES.has(err.code)) return make(409, 'client', err.code, err.message, err.details);
    if (err.code === 'CLIENT_CLOSED') return make(503, 'internal', err.code, 'the agent is shutting down');
    return make(400, 'client', err.code, err.message, err.details);
  }
  if (err instanceof PeerNotAuthorizedError) {
    return make(403, 'peer', `PEER_${kebabToSnake(err.code)}`, err.message, err.details);
  }
  if (err instanceof CredentialIssuanceError && err.message.startsWith('the holder')) {
    return make(502, 'peer', 'CREDENTIAL_NOT_ACCEPTED', err.message);
  }
  if (err instanceof PeerUnreachableError) return make(502, 'peer', err.code, err.message, err.details);
  if (err instanceof ValidationError || err instanceof IllegalTransitionError) {
    return make(400, 'client', err.code, err.message, err.details);
  }
  if (err instanceof MalformedMessageError || err instanceof SignatureError || err instanceof EncodingError) {
    return make(422, 'protocol', err.code, err.message, err.details);
  }
  if (err instanceof FundingTimeoutError || err instanceof ChainError) {
    return make(502, 'chain', err.code, err.message, err.details);
  }
  if (err instanceof PerunError && (err.code === 'CONFIG' || err.name === 'EmbeddedChainError')) {
    return make(502, 'chain', err.code, err.message, err.details);
  }
  if (err instanceof PerunError && err.code === 'MEDIATION_FAILED')
    return make(502, 'peer', err.code, err.message, err.details);
  if (err instanceof WrongPassphraseError) return make(401, 'client', 'WRONG_PASSPHRASE', err.message);
  // Anything else is our fault: say so without leaking internals.
  return make(500, 'internal', 'INTERNAL', 'internal error');
}
