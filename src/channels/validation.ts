// Pure validity rules of the channel data model: which Params, Allocation and State are
// well-formed, and which next state is a valid off-chain successor of the current one
// (docs/protocol.md §1.3, §1.8, §3.2). No I/O, no chain encoding: the channel ID is compared, not
// computed (the backend computes it). Every refusal throws a ValidationError subclass whose
// `code` names the rule and whose `details` name the offending field.
import {
  InvalidAllocationError,
  InvalidParamsError,
  InvalidStateError,
  InvalidTransitionError,
  ValidationError,
  type ValidationCode,
} from './errors.js';
import type { Allocation, Asset, Params, State } from './types.js';

export const MAX_UINT256 = (1n << 256n) - 1n;
export const MAX_UINT64 = (1n << 64n) - 1n;
/** Limits of the go-perun data model (MaxNumAssets, MaxNumParts, MaxNumSubAllocations). */
export const MAX_NUM_ASSETS = 1024;
export const MAX_NUM_PARTS = 1024;
export const MAX_NUM_SUBALLOCS = 1024;
/**
 * The largest version step one update may take. Versions may skip: a participant never signs two
 * different states with one version, so a version it signed for an update that did not go through
 * (rejected, lost, or beaten by a concurrent update) is used up, and its next state takes a higher
 * one. The bound keeps a peer from spending the 64-bit version space in a few updates.
 */
export const MAX_VERSION_STEP = 1n << 32n;
/** uint16 indices, as the contracts encode index maps and actor indices. */
export const MAX_INDEX = 0xffff;

export const ZERO_APP = '0x0000000000000000000000000000000000000000';

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const PARTICIPANT_ADDRESS_RE = /^0x(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/;
const BYTES_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

export const isAddress = (v: unknown): v is string => typeof v === 'string' && ADDRESS_RE.test(v);
/**
 * A participant's address on its channel's backend: 20 bytes (an Ethereum address) or 32 bytes
 * (an Ed25519 public key, as on TON). The backend's channelId refuses the lengths it cannot encode.
 */
export const isParticipantAddress = (v: unknown): v is string =>
  typeof v === 'string' && PARTICIPANT_ADDRESS_RE.test(v);
export const isBytes32 = (v: unknown): v is string => typeof v === 'string' && BYTES32_RE.test(v);
export const isBytes = (v: unknown): v is string => typeof v === 'string' && BYTES_RE.test(v);

/** Hex comparison that ignores letter case (checksummed and lower-case addresses are equal). */
export const sameHex = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** An app-specific transition rule (go-perun App.ValidTransition); throws to refuse. */
export type AppRule = (params: Params, from: State, to: State, actor: number) => void;

// ---------------------------------------------------------------------------------------------
// Params

/** Refuses Params outside the data model: 2..1024 distinct participants, 0 < challengeDuration < 2^64, nonce < 2^256. */
export function validateParams(params: Params): void {
  const fail = (code: ValidationCode, message: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidParamsError(code, message, details);
  };
  if (!Array.isArray(params.participants)) fail('INVALID_PARAMS', 'participants is not a list');
  const n = params.participants.length;
  if (n < 2) fail('TOO_FEW_PARTICIPANTS', 'a channel needs at least two participants', { numParts: n });
  if (n > MAX_NUM_PARTS) fail('TOO_MANY_PARTICIPANTS', 'too many participants', { numParts: n });
  const seen = new Set<string>();
  params.participants.forEach((p, i) => {
    if (!isParticipantAddress(p.ethAddress) || !isBytes(p.ccAddress)) {
      fail('INVALID_PARAMS', 'participant address is malformed', { field: `participants[${i}]` });
    }
    const key = p.ethAddress.toLowerCase();
    if (seen.has(key)) fail('DUPLICATE_PARTICIPANT', 'participant appears twice', { index: i });
    seen.add(key);
  });
  if (typeof params.challengeDuration !== 'bigint' || params.challengeDuration <= 0n) {
    fail('INVALID_CHALLENGE_DURATION', 'challenge duration must be positive');
  }
  if (params.challengeDuration > MAX_UINT64) {
    fail('INVALID_CHALLENGE_DURATION', 'challenge duration must fit in 64 bits');
  }
  if (typeof params.nonce !== 'bigint' || params.nonce < 0n || params.nonce > MAX_UINT256) {
    fail('INVALID_PARAMS', 'nonce must be a uint256', { field: 'nonce' });
  }
  if (!isAddress(params.app)) fail('INVALID_PARAMS', 'app is not an address', { field: 'app' });
  if (typeof params.ledgerChannel !== 'boolean' || typeof params.virtualChannel !== 'boolean') {
    fail('INVALID_PARAMS', 'channel kind flags must be booleans');
  }
  if (params.ledgerChannel && params.virtualChannel) {
    fail('INVALID_PARAMS', 'a channel cannot be both ledger and virtual');
  }
}

// ---------------------------------------------------------------------------------------------
// Allocation

function checkValue(v: unknown, field: string): void {
  if (typeof v !== 'bigint') {
    throw new InvalidAllocationError('MALFORMED', 'value is not a bigint', { field });
  }
  if (v < 0n)
    throw new InvalidAllocationError('NEGATIVE_BALANCE', 'negative value', { field, value: String(v) });
  if (v > MAX_UINT256) {
    throw new InvalidAllocationError('VALUE_TOO_LARGE', 'value does not fit in 256 bits', { field });
  }
}

/**
 * Refuses an allocation that is not well-formed for `numParts` participants: at least one and at
 * most 1024 assets, one backend per asset, one balance row per asset with one balance per
 * participant, at most 1024 sub-allocations with distinct 32-byte IDs, one total per asset each,
 * index maps empty or a list of distinct participant indices (< numParts), and every value in
 * [0, 2^256).
 */
export function validateAllocation(alloc: Allocation, numParts: number): void {
  const { assets, backends, balances, locked } = alloc;
  if (
    !Array.isArray(assets) ||
    !Array.isArray(backends) ||
    !Array.isArray(balances) ||
    !Array.isArray(locked)
  ) {
    throw new InvalidAllocationError('MALFORMED', 'allocation fields must be lists');
  }
  const numAssets = assets.length;
  if (numAssets === 0)
    throw new InvalidAllocationError('NO_ASSETS', 'an allocation needs at least one asset');
  if (numAssets > MAX_NUM_ASSETS) {
    throw new InvalidAllocationError('TOO_MANY_ASSETS', 'too many assets', { numAssets });
  }
  assets.forEach((a, i) => checkAsset(a, i));
  if (backends.length !== numAssets) {
    throw new InvalidAllocationError('BACKENDS_MISMATCH', 'one backend per asset is required', {
      numAssets,
      numBackends: backends.length,
    });
  }
  backends.forEach((b, i) => checkValue(b, `backends[${i}]`));
  if (balances.length !== numAssets) {
    throw new InvalidAllocationError('BALANCES_MISMATCH', 'one balance row per asset is required', {
      numAssets,
      numRows: balances.length,
    });
  }
  balances.forEach((row, a) => {
    if (!Array.isArray(row) || row.length !== numParts) {
      throw new InvalidAllocationError('PARTICIPANTS_MISMATCH', 'one balance per participant is required', {
        field: `balances[${a}]`,
        numParts,
        length: Array.isArray(row) ? row.length : undefined,
      });
    }
    row.forEach((v, p) => checkValue(v, `balances[${a}][${p}]`));
  });
  if (locked.length > MAX_NUM_SUBALLOCS) {
    throw new InvalidAllocationError('TOO_MANY_SUBALLOCS', 'too many sub-allocations', {
      numLocked: locked.length,
    });
  }
  const ids = new Set<string>();
  locked.forEach((s, i) => {
    const field = `locked[${i}]`;
    if (!isBytes32(s.ID))
      throw new InvalidAllocationError('MALFORMED', 'sub-allocation ID is not 32 bytes', { field });
    const id = s.ID.toLowerCase();
    if (ids.has(id))
      throw new InvalidAllocationError('DUPLICATE_SUBALLOC', 'sub-allocation ID repeated', { field });
    ids.add(id);
    if (!Array.isArray(s.balances) || s.balances.length !== numAssets) {
      throw new InvalidAllocationError('SUBALLOC_MISMATCH', 'a sub-allocation needs one total per asset', {
        field,
        numAssets,
      });
    }
    s.balances.forEach((v, a) => checkValue(v, `${field}.balances[${a}]`));
    if (!Array.isArray(s.indexMap)) {
      throw new InvalidAllocationError('MALFORMED', 'index map is not a list', { field });
    }
    const used = new Set<number>();
    s.indexMap.forEach((x, j) => {
      if (!Number.isInteger(x) || x < 0 || x >= numParts || x > MAX_INDEX || used.has(x)) {
        throw new InvalidAllocationError(
          'INVALID_INDEX_MAP',
          'index map entries must be distinct participant indices',
          {
            field: `${field}.indexMap[${j}]`,
            value: x,
            numParts,
          },
        );
      }
      used.add(x);
    });
  });
}

function checkAsset(a: Asset, i: number): void {
  if (a === null || typeof a !== 'object' || !isAddress(a.ethHolder) || !isBytes(a.ccHolder)) {
    throw new InvalidAllocationError('MALFORMED', 'asset is malformed', { field: `assets[${i}]` });
  }
  checkValue(a.chainID, `assets[${i}].chainID`);
}

// ---------------------------------------------------------------------------------------------
// State

/**
 * Refuses a state that does not fit the channel: malformed channel ID, version outside uint64,
 * app data that is not hex (or not empty in a payment channel without app), an invalid
 * allocation for the channel's participants, or a final ledger-channel state with locked funds.
 * Pass `channelID` to also require that the state belongs to that channel.
 */
export function validateState(params: Params, state: State, opts: { channelID?: string } = {}): void {
  if (!isBytes32(state.channelID)) {
    throw new InvalidStateError('CHANNEL_MISMATCH', 'channel ID is not 32 bytes', { field: 'channelID' });
  }
  if (opts.channelID !== undefined && !sameHex(opts.channelID, state.channelID)) {
    throw new InvalidStateError('CHANNEL_MISMATCH', 'state belongs to another channel', {
      expected: opts.channelID,
      actual: state.channelID,
    });
  }
  if (typeof state.version !== 'bigint' || state.version < 0n || state.version > MAX_UINT64) {
    throw new InvalidStateError('VERSION_OUT_OF_RANGE', 'version must fit in 64 bits', {
      version: String(state.version),
    });
  }
  if (!isBytes(state.appData)) {
    throw new InvalidStateError('INVALID_APP_DATA', 'app data is not hex bytes', { field: 'appData' });
  }
  if (sameHex(params.app, ZERO_APP) && state.appData !== '0x') {
    throw new InvalidStateError('INVALID_APP_DATA', 'a channel without app carries no app data', {
      field: 'appData',
    });
  }
  if (typeof state.isFinal !== 'boolean') {
    throw new InvalidStateError('MALFORMED', 'isFinal must be a boolean', { field: 'isFinal' });
  }
  validateAllocation(state.outcome, params.participants.length);
  if (state.isFinal && params.ledgerChannel && state.outcome.locked.length > 0) {
    throw new InvalidStateError('FINAL_WITH_LOCKED', 'a final ledger-channel state cannot lock funds', {
      numLocked: state.outcome.locked.length,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Totals and comparisons

/** Per asset: the sum of all participants' balances plus all locked sub-allocation totals. */
export function totals(alloc: Allocation): bigint[] {
  return alloc.balances.map((row, a) => {
    let sum = 0n;
    for (const v of row) sum += v;
    for (const s of alloc.locked) sum += s.balances[a] ?? 0n;
    return sum;
  });
}

export function sameAsset(x: Asset, y: Asset): boolean {
  return x.chainID === y.chainID && sameHex(x.ethHolder, y.ethHolder) && sameHex(x.ccHolder, y.ccHolder);
}

/** Whether two allocations lock the same sub-allocations (IDs, totals, index maps) in the same order. */
export function sameLocked(x: Allocation, y: Allocation): boolean {
  return (
    x.locked.length === y.locked.length &&
    x.locked.every((s, i) => {
      const t = y.locked[i]!;
      return (
        sameHex(s.ID, t.ID) &&
        s.balances.length === t.balances.length &&
        s.balances.every((v, a) => v === t.balances[a]) &&
        s.indexMap.length === t.indexMap.length &&
        s.indexMap.every((v, j) => v === t.indexMap[j])
      );
    })
  );
}

export interface CheckUpdateOptions {
  /**
   * The lowest version the next state may have (default current + 1): one above every version
   * the checking participant has already signed a state of.
   */
  minVersion?: bigint;
  /** Index of the participant proposing the update; must be a participant. */
  actor?: number;
  /** Require the locked sub-allocations to stay as they are (user updates of a two-party client). */
  lockedUnchanged?: boolean;
  /** The app's transition rule, run last. */
  app?: AppRule;
}

/**
 * Throws InvalidTransitionError unless `next` is a valid successor of `current` (docs/protocol.md
 * §3.2): same channel ID, current not final, a version above the current one and `minVersion`, at
 * most MAX_VERSION_STEP above the current one, next itself valid, same
 * assets and backends in the same order, the same total per asset counting locked funds, a
 * participant as actor, optionally unchanged locked funds, and finally the app rule. The current
 * state is trusted (it was validated when it was enabled).
 */
export function checkUpdate(
  params: Params,
  current: State,
  next: State,
  opts: CheckUpdateOptions = {},
): void {
  const fail = (code: ValidationCode, message: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidTransitionError(code, message, {
      channelID: current.channelID,
      version: String(current.version),
      ...details,
    });
  };
  if (typeof next.channelID !== 'string' || !sameHex(next.channelID, current.channelID)) {
    fail('CHANNEL_MISMATCH', 'update is for another channel', { actual: String(next.channelID) });
  }
  if (current.isFinal) fail('FINAL_STATE', 'the current state is final; no update can follow it');
  if (typeof next.version === 'bigint' && next.version <= current.version) {
    fail('STALE_VERSION', 'version does not increase', { next: String(next.version) });
  }
  if (typeof next.version === 'bigint' && opts.minVersion !== undefined && next.version < opts.minVersion) {
    fail('VERSION_USED', 'a state with this version was already signed', {
      next: String(next.version),
      minVersion: String(opts.minVersion),
    });
  }
  if (typeof next.version === 'bigint' && next.version > current.version + MAX_VERSION_STEP) {
    fail('VERSION_GAP', 'the version skips too far ahead', { next: String(next.version) });
  }
  try {
    validateState(params, next);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new InvalidTransitionError(err.code, `invalid next state: ${err.message}`, err.details, {
        cause: err,
      });
    }
    throw err;
  }
  const cur = current.outcome;
  const nxt = next.outcome;
  if (
    cur.assets.length !== nxt.assets.length ||
    !cur.assets.every((a, i) => sameAsset(a, nxt.assets[i]!)) ||
    !cur.backends.every((b, i) => b === nxt.backends[i])
  ) {
    fail('ASSET_MISMATCH', 'the assets or their backends changed');
  }
  const before = totals(cur);
  const after = totals(nxt);
  const asset = before.findIndex((t, a) => t !== after[a]);
  if (asset >= 0) {
    fail('NOT_CONSERVED', 'the total of an asset changed', {
      asset,
      before: String(before[asset]),
      after: String(after[asset]),
    });
  }
  const actor = opts.actor;
  if (actor !== undefined && (!Number.isInteger(actor) || actor < 0 || actor >= params.participants.length)) {
    fail('INVALID_ACTOR', 'actor is not a participant', { actor });
  }
  if (opts.lockedUnchanged && !sameLocked(cur, nxt)) {
    fail('LOCKED_CHANGED', 'an update may not change the locked funds');
  }
  if (opts.app !== undefined) {
    try {
      opts.app(params, current, next, actor ?? -1);
    } catch (err) {
      if (err instanceof InvalidTransitionError) throw err;
      fail('APP_RULE', `the app refused the transition: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * The payment app's rule (go-perun apps/payment): the actor may only lower its own balances and
 * only raise the others'. A channel without app (NoApp) accepts any conserving update.
 */
export const paymentAppRule: AppRule = (params, from, to, actor) => {
  from.outcome.balances.forEach((row, a) => {
    row.forEach((before, p) => {
      const after = to.outcome.balances[a]![p]!;
      if (p === actor ? after > before : after < before) {
        throw new InvalidTransitionError('APP_RULE', 'the actor may only pay, not take', {
          channelID: from.channelID,
          asset: a,
          participant: p,
          actor,
          numParts: params.participants.length,
        });
      }
    });
  });
};
