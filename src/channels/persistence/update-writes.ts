// What the writes of a channel update do, as plans over fixed statements: saving the staged state,
// the signed state with the payments it makes, the used-up version, the phase. These are the
// writes the channel core makes for every payment (ClientContext.persist), so the TypeORM store
// runs them as statements prepared once, straight on the driver (update-statements.ts), instead
// of building each query through TypeORM. A plan names what it must read first (the channel's
// row joined with its states, the payment IDs already logged), then turns what was read into the
// statements to run, applying the same rules as every store (rules.ts, payment-rules.ts).

import type { ChannelPhase, LoggedPayments, OwnSignedState, SignedState, StagedState } from '../store.js';
import type { Hex } from '../types.js';
import { bigFromColumn } from './codec.js';
import { ChannelNotStoredError, CorruptRecordError } from './errors.js';
import { loggedPaymentIds, paymentLogRows, type PaymentRow } from './payment-rules.js';
import {
  checkId,
  checkPhase,
  checkSignedVersion,
  checkStagedVersion,
  participantCountOf,
  raisedUsed,
  signedRow,
  stagedObsoleteBy,
  stagedRow,
} from './rules.js';

/** The fixed statements of update-statements.ts, by name. */
export type StatementName =
  'upsertSigned' | 'upsertStaged' | 'deleteStaged' | 'touch' | 'phase' | 'used' | 'payment';

export type SqlValue = string | number | null;

export interface Step {
  name: StatementName;
  params: SqlValue[];
  /** The statement must change a row, or the channel is not stored. */
  mustChange?: true;
}

/** The columns the `read` statement returns (decimal text as stored, null from the outer joins). */
export interface ReadRow {
  params: string;
  used_version: string | null;
  used_state: string | null;
  signed_version: string | null;
  signed_state: string | null;
  staged_version: string | null;
}

/** What a plan knows of the channel before it writes. */
export interface ChannelView {
  participants: number;
  usedVersion: bigint | null;
  usedStateJson: string | null;
  signed: { version: bigint; stateJson: string } | null;
  stagedVersion: bigint | null;
  /** Those of the op's payment IDs the channel's log already holds. */
  taken: Set<string>;
}

/**
 * One write of an update: either it reads the channel first (ChannelNotStoredError when there is
 * no row), looks up `paymentIds` in its log and plans its steps from what it read, or it runs
 * fixed `steps`, the first of which must change the channel's row.
 */
export type UpdateOp =
  | { id: Hex; read: true; paymentIds: string[]; plan(view: ChannelView): Step[] }
  | { id: Hex; read: false; steps: Step[] };

/** Runs update ops in the current transaction (one runner per dialect, update-statements.ts). */
export interface UpdateRunner {
  apply(op: UpdateOp): Promise<void>;
}

const notStored = (id: Hex) => new ChannelNotStoredError(`no stored channel ${id}`, { channelId: id });

/** The steps of `op`, given what its read found (`row`, and the `taken` payment IDs). */
export function stepsOf(op: UpdateOp, row: ReadRow | undefined, taken: Iterable<string>): Step[] {
  if (!op.read) return op.steps;
  if (row === undefined) throw notStored(op.id);
  return op.plan(viewOf(op.id, row, taken));
}

/** Refuses a step that had to change the channel's row and changed nothing. */
export function checkChanged(op: UpdateOp, step: Step, changes: number): void {
  if (step.mustChange && changes === 0) throw notStored(op.id);
}

function version(v: string, channelId: Hex): bigint {
  try {
    return bigFromColumn(v, 'state version');
  } catch (err) {
    throw new CorruptRecordError('stored state has no valid version', { channelId }, { cause: err });
  }
}

function viewOf(id: Hex, row: ReadRow, taken: Iterable<string>): ChannelView {
  return {
    participants: participantCountOf(row.params),
    usedVersion: row.used_version === null ? null : bigFromColumn(row.used_version, 'used version'),
    usedStateJson: row.used_state,
    signed:
      row.signed_version === null
        ? null
        : { version: version(row.signed_version, id), stateJson: row.signed_state ?? '' },
    stagedVersion: row.staged_version === null ? null : version(row.staged_version, id),
    taken: new Set(taken),
  };
}

const touch = (id: Hex, now: number): Step => ({ name: 'touch', params: [now, id] });

function paymentStep(p: PaymentRow): Step {
  return {
    name: 'payment',
    params: [
      p.channelId,
      p.version.toString(10),
      p.payer,
      p.paymentId,
      p.asset,
      p.amount.toString(10),
      p.balancesJson,
      p.at,
    ],
  };
}

export function signedStateOp(
  id: Hex,
  signed: SignedState,
  payments: LoggedPayments | undefined,
  now: number,
): UpdateOp {
  checkId(id);
  return {
    id,
    read: true,
    paymentIds: loggedPaymentIds(id, payments),
    plan: (view) => {
      const row = signedRow(id, view.participants, signed);
      checkSignedVersion(id, view.signed, row);
      const log = paymentLogRows(id, view.participants, signed, payments, (p) => view.taken.has(p), now);
      const steps = log.map(paymentStep);
      steps.push({
        name: 'upsertSigned',
        params: [id, row.version.toString(10), row.stateJson, row.sigsJson],
      });
      if (stagedObsoleteBy(view.stagedVersion === null ? null : { version: view.stagedVersion }, row)) {
        steps.push({ name: 'deleteStaged', params: [id] });
      }
      steps.push(touch(id, now));
      return steps;
    },
  };
}

export function stagedStateOp(id: Hex, staged: StagedState | null, now: number): UpdateOp {
  checkId(id);
  if (staged === null) {
    return {
      id,
      read: false,
      steps: [
        { ...touch(id, now), mustChange: true },
        { name: 'deleteStaged', params: [id] },
      ],
    };
  }
  return {
    id,
    read: true,
    paymentIds: [],
    plan: (view) => {
      const row = stagedRow(id, view.participants, staged);
      checkStagedVersion(id, view.signed, row);
      return [
        {
          name: 'upsertStaged',
          params: [id, row.version.toString(10), row.stateJson, row.sigsJson, row.paymentsJson ?? null],
        },
        touch(id, now),
      ];
    },
  };
}

export function usedVersionOp(
  id: Hex,
  usedVersion: bigint,
  state: OwnSignedState | undefined,
  now: number,
): UpdateOp {
  checkId(id);
  return {
    id,
    read: true,
    paymentIds: [],
    plan: (view) => {
      const used = raisedUsed(
        { id, usedVersion: view.usedVersion, usedStateJson: view.usedStateJson },
        usedVersion,
        state,
      );
      return [
        {
          name: 'used',
          params: [
            used.usedVersion === null ? null : used.usedVersion.toString(10),
            used.usedStateJson,
            now,
            id,
          ],
        },
      ];
    },
  };
}

export function phaseOp(id: Hex, phase: ChannelPhase, now: number): UpdateOp {
  checkId(id);
  checkPhase(phase);
  return { id, read: false, steps: [{ name: 'phase', params: [phase, now, id], mustChange: true }] };
}
