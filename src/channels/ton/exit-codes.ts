// The exit codes the Perun contract refuses a call with, by name, from the schema it was compiled
// with; a refused call is a ChainError whose details.exitCode is one of them.
import { PerunError } from '../errors.js';
import { tonArtifact } from './artifact.js';

export type TonRefusal =
  | 'UNKNOWN_OP'
  | 'VALUE'
  | 'NOT_LEDGER'
  | 'APP'
  | 'CHANNEL_ID'
  | 'SIGNATURE'
  | 'ASSET'
  | 'CONCLUDED'
  | 'STALE_VERSION'
  | 'TIMEOUT_PASSED'
  | 'NOT_REGISTERED'
  | 'STATE_MISMATCH'
  | 'TIMEOUT_PENDING'
  | 'NOT_FINAL'
  | 'NOT_CONCLUDED'
  | 'HOLDINGS'
  | 'PARTICIPANT';

export function exitCode(name: TonRefusal): number {
  const code = (tonArtifact().schema.errors ?? {})[name];
  if (code === undefined) throw new PerunError('ARTIFACTS', 'the TON schema lacks an exit code', { name });
  return code;
}
