// Refusal codes on the wire. The channel core refuses with UPPER_SNAKE codes (STALE_VERSION,
// INVALID_SIGNATURE, ...); over DIDComm a refusal is a problem report whose description code is
// the kebab-case form, with the core's NOT_PARTICIPANT spelled 'not-authorized' (the message came
// on a connection that is not the channel's) and every proposal rejection 'rejected'.
import { MAX_REASON_CHARS } from '../../channels/messages.js';

/** Longest refusal code the channel core's decoder takes. */
const MAX_CODE_CHARS = 64;

export const PROPOSAL_REJECTED = 'rejected';
export const MALFORMED = 'malformed';

export function toProblemCode(coreCode: string | undefined): string {
  if (coreCode === undefined) return 'refused';
  if (coreCode === 'NOT_PARTICIPANT') return 'not-authorized';
  return coreCode.toLowerCase().replaceAll('_', '-');
}

export function fromProblemCode(code: string): string {
  if (code === 'not-authorized') return 'NOT_PARTICIPANT';
  return code.toUpperCase().replaceAll('-', '_');
}

/**
 * The reason and core code of a peer's problem report, whatever its `description` holds (Credo
 * does not validate it): text within the core's limits, 'refused' / REFUSED where it is missing,
 * not a string or too long to be a code.
 */
export function reportedRefusal(description: unknown): { reason: string; code: string } {
  const d = (typeof description === 'object' && description !== null ? description : {}) as {
    en?: unknown;
    code?: unknown;
  };
  const reason = typeof d.en === 'string' ? d.en.slice(0, MAX_REASON_CHARS) : 'refused';
  const code = typeof d.code === 'string' ? fromProblemCode(d.code) : 'REFUSED';
  return { reason, code: code.length <= MAX_CODE_CHARS ? code : 'REFUSED' };
}
