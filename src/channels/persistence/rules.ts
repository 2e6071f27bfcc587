// The rules every ChannelStore implementation applies, as pure functions over encoded rows, so the
// in-memory store and the TypeORM store cannot drift apart: shape checks on the way in, the
// version rules, and decoding rows back into ChannelRecords on the way out.

import type { ChannelRecord, NewChannelRecord, OwnSignedState, SignedState, StagedState } from '../store.js';
import type { Hex } from '../types.js';
import {
  paramsFromJson,
  paramsToJson,
  sigsFromJson,
  sigsToJson,
  stateFromJson,
  stateToJson,
  stringsFromJson,
} from './codec.js';
import { CorruptRecordError, InvalidRecordError, StaleStateError } from './errors.js';
import { stagedPaymentsFromJson, stagedPaymentsJson } from './payment-rules.js';

/** A channel row as both stores keep it (params already canonical JSON). */
export interface ChannelRow {
  id: Hex;
  paramsJson: string;
  participantCount: number;
  ourIndex: number;
  peersJson: string;
  parentId: Hex | null;
  phase: string;
  /** The highest used-up version; null if none. */
  usedVersion: bigint | null;
  /** Our signed state at usedVersion as JSON {state, sig}; null if not recorded. */
  usedStateJson: string | null;
  updatedAt: number;
}

/** A signed or staged state row. */
export interface StateRow {
  version: bigint;
  stateJson: string;
  sigsJson: string;
  /** A staged state's payments as canonical JSON (payment-rules.ts); null when it carries none. */
  paymentsJson?: string | null;
}

/** The key of the global watcher cursor (per-channel cursors use the channel ID). */
export const GLOBAL_CURSOR = '*';

export function cursorKey(channelId?: Hex): string {
  if (channelId === undefined) return GLOBAL_CURSOR;
  checkId(channelId, 'channelId');
  return channelId;
}

/** The key of one chain's watcher cursor: no channel ID (a hex string) can take it. */
export function chainCursorKey(chainId: bigint): string {
  if (typeof chainId !== 'bigint' || chainId < 0n) {
    throw new InvalidRecordError('a chain ID must be a non-negative bigint', { chainId: String(chainId) });
  }
  return `chain:${chainId}`;
}

export function checkId(id: unknown, what = 'id'): asserts id is Hex {
  if (typeof id !== 'string' || id.length === 0 || id === GLOBAL_CURSOR) {
    throw new InvalidRecordError(`${what} must be a non-empty string`, { [what]: id });
  }
}

export function checkBlock(block: unknown): asserts block is bigint {
  if (typeof block !== 'bigint' || block < 0n) {
    throw new InvalidRecordError('a block number must be a non-negative bigint', { block: String(block) });
  }
}

export function checkPhase(phase: unknown): asserts phase is string {
  if (typeof phase !== 'string' || phase.length === 0) {
    throw new InvalidRecordError('a phase must be a non-empty string', { phase });
  }
}

export function newChannelRow(ch: NewChannelRecord, now: number): ChannelRow {
  if (typeof ch !== 'object' || ch === null) throw new InvalidRecordError('channel record must be an object');
  checkId(ch.id);
  checkPhase(ch.phase);
  const paramsJson = paramsToJson(ch.params);
  const n = ch.params.participants.length;
  if (n < 1) throw new InvalidRecordError('params must name at least one participant', { channelId: ch.id });
  if (!Number.isSafeInteger(ch.ourIndex) || ch.ourIndex < 0 || ch.ourIndex >= n) {
    throw new InvalidRecordError(`ourIndex must be an index into ${n} participants`, {
      channelId: ch.id,
      ourIndex: ch.ourIndex,
    });
  }
  if (
    !Array.isArray(ch.peers) ||
    ch.peers.length !== n ||
    ch.peers.some((p) => typeof p !== 'string' || !p)
  ) {
    throw new InvalidRecordError(`peers must hold one non-empty wire identity per participant (${n})`, {
      channelId: ch.id,
    });
  }
  const parentId = ch.parentId ?? null;
  if (parentId !== null) checkId(parentId, 'parentId');
  return {
    id: ch.id,
    paramsJson,
    participantCount: n,
    ourIndex: ch.ourIndex,
    peersJson: JSON.stringify(ch.peers),
    parentId,
    phase: ch.phase,
    usedVersion: null,
    usedStateJson: null,
    updatedAt: now,
  };
}

/**
 * The used-up version and state after recording `version` with our signed `state` at it: the
 * version only ever rises, and a lower one keeps the stored state too.
 */
export function raisedUsed(
  row: Pick<ChannelRow, 'id' | 'usedVersion' | 'usedStateJson'>,
  version: unknown,
  state?: OwnSignedState,
): Pick<ChannelRow, 'usedVersion' | 'usedStateJson'> {
  if (typeof version !== 'bigint' || version < 0n) {
    throw new InvalidRecordError('a used-up version must be a non-negative bigint', {
      version: String(version),
    });
  }
  if (row.usedVersion !== null && row.usedVersion > version) {
    return { usedVersion: row.usedVersion, usedStateJson: row.usedStateJson };
  }
  if (state === undefined) {
    const keep = row.usedVersion === version ? row.usedStateJson : null;
    return { usedVersion: version, usedStateJson: keep };
  }
  if (typeof state !== 'object' || state === null || state.state?.version !== version) {
    throw new InvalidRecordError('the used state must have the used-up version', {
      version: String(version),
    });
  }
  if (state.state.channelID !== row.id) {
    throw new InvalidRecordError(
      `the used state belongs to channel ${state.state.channelID}, not ${row.id}`,
      {
        channelId: row.id,
      },
    );
  }
  const sigs = sigsToJson([state.sig], false);
  return { usedVersion: version, usedStateJson: `{"state":${stateToJson(state.state)},"sigs":${sigs}}` };
}

function decodeUsedState(json: string, row: ChannelRow): OwnSignedState {
  let o: { state?: unknown; sigs?: unknown };
  try {
    o = JSON.parse(json) as { state?: unknown; sigs?: unknown };
  } catch (err) {
    throw new CorruptRecordError('stored used state is not JSON', { channelId: row.id }, { cause: err });
  }
  const state = stateFromJson(JSON.stringify(o.state));
  const [sig] = sigsFromJson(JSON.stringify(o.sigs), false);
  if (state.version !== row.usedVersion || state.channelID !== row.id || sig === undefined || sig === null) {
    throw new CorruptRecordError('stored used state does not match its channel', { channelId: row.id });
  }
  return { state, sig };
}

function stateRow(
  channelId: Hex,
  participantCount: number,
  value: SignedState | StagedState,
  allowMissing: boolean,
): StateRow {
  const kind = allowMissing ? 'staged state' : 'signed state';
  if (typeof value !== 'object' || value === null) throw new InvalidRecordError(`${kind} must be an object`);
  const stateJson = stateToJson(value.state);
  if (value.state.channelID !== channelId) {
    throw new InvalidRecordError(`${kind} belongs to channel ${value.state.channelID}, not ${channelId}`, {
      channelId,
      stateChannelId: value.state.channelID,
    });
  }
  if (!Array.isArray(value.sigs) || value.sigs.length !== participantCount) {
    throw new InvalidRecordError(`${kind} needs one signature slot per participant (${participantCount})`, {
      channelId,
      sigs: Array.isArray(value.sigs) ? value.sigs.length : typeof value.sigs,
    });
  }
  return { version: value.state.version, stateJson, sigsJson: sigsToJson(value.sigs, allowMissing) };
}

export function signedRow(channelId: Hex, participantCount: number, signed: SignedState): StateRow {
  return stateRow(channelId, participantCount, signed, false);
}

export function stagedRow(channelId: Hex, participantCount: number, staged: StagedState): StateRow {
  const row = stateRow(channelId, participantCount, staged, true);
  return {
    ...row,
    paymentsJson: stagedPaymentsJson(channelId, participantCount, staged.state, staged.payments),
  };
}

/** Refuses a signed state that would roll `current` back or contradict it. */
export function checkSignedVersion(
  channelId: Hex,
  stored: Pick<StateRow, 'version' | 'stateJson'> | null,
  next: StateRow,
): void {
  if (stored === null) return;
  const details = {
    channelId,
    storedVersion: stored.version.toString(),
    givenVersion: next.version.toString(),
  };
  if (next.version < stored.version) {
    throw new StaleStateError(
      `refusing signed state version ${next.version}: version ${stored.version} is already stored`,
      details,
    );
  }
  if (next.version === stored.version && next.stateJson !== stored.stateJson) {
    throw new StaleStateError(
      `refusing signed state version ${next.version}: a different state with that version is stored`,
      details,
    );
  }
}

/** Refuses a staged state that is not newer than the fully signed one. */
export function checkStagedVersion(
  channelId: Hex,
  current: Pick<StateRow, 'version'> | null,
  next: StateRow,
): void {
  if (current !== null && next.version <= current.version) {
    throw new StaleStateError(
      `refusing staged state version ${next.version}: signed version ${current.version} is already stored`,
      { channelId, storedVersion: current.version.toString(), givenVersion: next.version.toString() },
    );
  }
}

/** Whether a staged state is made obsolete by a newly saved signed state. */
export function stagedObsoleteBy(staged: Pick<StateRow, 'version'> | null, current: StateRow): boolean {
  return staged !== null && staged.version <= current.version;
}

function decodeStateRow(row: StateRow, channelId: Hex, allowMissing: boolean) {
  const state = stateFromJson(row.stateJson);
  if (state.version !== row.version || state.channelID !== channelId) {
    throw new CorruptRecordError('stored state does not match its row (version or channel ID)', {
      channelId,
      rowVersion: row.version.toString(),
    });
  }
  return { state, sigs: allowMissing ? sigsFromJson(row.sigsJson, true) : sigsFromJson(row.sigsJson, false) };
}

function decodeStaged(row: StateRow, channelId: Hex): StagedState {
  const staged: StagedState = decodeStateRow(row, channelId, true);
  const payments = row.paymentsJson ?? null;
  if (payments !== null) staged.payments = stagedPaymentsFromJson(payments, channelId);
  return staged;
}

export function toRecord(row: ChannelRow, current: StateRow | null, staged: StateRow | null): ChannelRecord {
  return {
    id: row.id,
    params: paramsFromJson(row.paramsJson),
    ourIndex: row.ourIndex,
    peers: stringsFromJson(row.peersJson, 'peers'),
    parentId: row.parentId,
    phase: row.phase,
    current: current === null ? null : (decodeStateRow(current, row.id, false) as SignedState),
    staged: staged === null ? null : decodeStaged(staged, row.id),
    usedVersion: row.usedVersion,
    usedState: row.usedStateJson === null ? null : decodeUsedState(row.usedStateJson, row),
    updatedAt: row.updatedAt,
  };
}

/** Parses the participant count of a stored channel (for the signature-slot check). */
/** Participant counts by stored params text: every write of an update reads the channel's params. */
const participantCounts = new Map<string, number>();
const PARTICIPANT_COUNTS = 1024;

export function participantCountOf(paramsJson: string): number {
  let n = participantCounts.get(paramsJson);
  if (n === undefined) {
    n = paramsFromJson(paramsJson).participants.length;
    if (participantCounts.size >= PARTICIPANT_COUNTS) participantCounts.clear();
    participantCounts.set(paramsJson, n);
  }
  return n;
}
