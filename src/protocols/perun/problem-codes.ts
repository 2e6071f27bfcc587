// Refusal codes on the wire. The channel core refuses with UPPER_SNAKE codes (STALE_VERSION,
// INVALID_SIGNATURE, ...); over DIDComm a refusal is a problem report whose description code is
// the kebab-case form, with the core's NOT_PARTICIPANT spelled 'not-authorized' (the message came
// on a connection that is not the channel's) and every proposal rejection 'rejected'.
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
