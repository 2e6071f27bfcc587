// The payment rules every ChannelStore applies, as pure functions like rules.ts: the shape of the
// payments an update carries (IDs, payer, assets, amounts), their canonical JSON in a staged state,
// the payment-log rows a signed state appends, and decoding log rows back into StoredPayments.

import type {
  EarlierPayments,
  LoggedPayments,
  PaymentFilter,
  SignedState,
  StoredPayment,
  UpdatePayments,
} from '../store.js';
import { PAYMENT_ID, type Hex, type State } from '../types.js';
import { bigFromColumn, stringsFromJson } from './codec.js';
import { CorruptRecordError, InvalidRecordError, PaymentExistsError } from './errors.js';

/** A payment-log row as both stores keep it (before the log gives it its `seq`). */
export interface PaymentRow {
  channelId: Hex;
  version: bigint;
  payer: number;
  paymentId: string;
  asset: number;
  amount: bigint;
  /** JSON array of the asset's balances in the signed state, decimal strings in participant order. */
  balancesJson: string;
  at: number;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * A checked copy of the payments an update carries: a payer index, payment IDs of the allowed
 * shape and distinct, asset indices, non-negative bigint amounts. `channelId` is for the details.
 */
export function paymentBatch(channelId: Hex, value: unknown): UpdatePayments {
  const invalid = (message: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidRecordError(message, { channelId, ...details });
  };
  if (typeof value !== 'object' || value === null) return invalid('payments must be an object');
  const { payer, payments } = value as { payer?: unknown; payments?: unknown };
  if (!isIndex(payer)) return invalid('the payer must be a participant index', { payer: String(payer) });
  if (!Array.isArray(payments)) return invalid('payments must be an array');
  const ids = new Set<string>();
  const copy = payments.map((p: unknown, i) => {
    if (typeof p !== 'object' || p === null) return invalid(`payments[${i}] must be an object`);
    const { id, asset, amount } = p as { id?: unknown; asset?: unknown; amount?: unknown };
    if (typeof id !== 'string' || !PAYMENT_ID.test(id)) {
      return invalid(`payments[${i}].id must be 1-64 characters of [A-Za-z0-9._:-]`, {
        paymentId: String(id),
      });
    }
    if (ids.has(id)) return invalid(`payment ID ${id} appears twice in one update`, { paymentId: id });
    ids.add(id);
    if (!isIndex(asset)) return invalid(`payments[${i}].asset must be an asset index`, { paymentId: id });
    if (typeof amount !== 'bigint' || amount < 0n) {
      return invalid(`payments[${i}].amount must be a non-negative bigint`, { paymentId: id });
    }
    return { id, asset, amount };
  });
  return { payer, payments: copy };
}

/** Refuses a batch whose payer or assets do not exist in `state` of a channel of `participants`. */
function checkFits(channelId: Hex, batch: UpdatePayments, participants: number, balances: bigint[][]): void {
  if (batch.payer >= participants) {
    throw new InvalidRecordError(`the payer must be an index into ${participants} participants`, {
      channelId,
      payer: batch.payer,
    });
  }
  const assets = balances.length;
  const outside = batch.payments.find((p) => p.asset >= assets);
  if (outside !== undefined) {
    throw new InvalidRecordError(`payment ${outside.id} names asset ${outside.asset} of ${assets}`, {
      channelId,
      paymentId: outside.id,
    });
  }
}

/** The canonical JSON of a staged state's payments (checked against that state), or null. */
export function stagedPaymentsJson(
  channelId: Hex,
  participants: number,
  state: State,
  payments: unknown,
): string | null {
  if (payments === undefined) return null;
  const batch = paymentBatch(channelId, payments);
  checkFits(channelId, batch, participants, state.outcome.balances);
  return JSON.stringify({
    payer: batch.payer,
    payments: batch.payments.map((p) => ({ id: p.id, asset: p.asset, amount: p.amount.toString(10) })),
  });
}

/** Decodes what stagedPaymentsJson wrote. */
export function stagedPaymentsFromJson(text: string, channelId: Hex): UpdatePayments {
  const corrupt = (): never => {
    throw new CorruptRecordError('stored payments of the staged state cannot be decoded', { channelId });
  };
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return corrupt();
  }
  const { payer, payments } = (o ?? {}) as { payer?: unknown; payments?: unknown };
  if (!isIndex(payer) || !Array.isArray(payments)) return corrupt();
  return {
    payer,
    payments: payments.map((p: unknown) => {
      const { id, asset, amount } = (p ?? {}) as { id?: unknown; asset?: unknown; amount?: unknown };
      if (typeof id !== 'string' || !PAYMENT_ID.test(id) || !isIndex(asset)) return corrupt();
      return { id, asset, amount: bigFromColumn(amount, 'staged payment amount') };
    }),
  };
}

/** One update's checked payments, with the version and balances they are logged at. */
interface LogEntry {
  batch: UpdatePayments;
  version: bigint;
  balances: bigint[][];
}

/**
 * The entries `payments` log with `signed`: its own update's payments at its version, or a list of
 * earlier updates' payments at versions 1 to signed's, each with balances of non-negative amounts.
 * IDs are distinct across the whole list.
 */
function logEntries(channelId: Hex, signed: SignedState, payments: LoggedPayments | undefined): LogEntry[] {
  if (payments === undefined) return [];
  if (!Array.isArray(payments)) {
    return [
      {
        batch: paymentBatch(channelId, payments),
        version: signed.state.version,
        balances: signed.state.outcome.balances,
      },
    ];
  }
  const invalid = (message: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidRecordError(message, { channelId, ...details });
  };
  const ids = new Set<string>();
  return payments.map((e: EarlierPayments, i) => {
    const batch = paymentBatch(channelId, e);
    for (const p of batch.payments) {
      if (ids.has(p.id)) invalid(`payment ID ${p.id} appears twice`, { paymentId: p.id });
      ids.add(p.id);
    }
    const version = e.version as unknown;
    if (typeof version !== 'bigint' || version < 1n || version > signed.state.version) {
      invalid(`payments[${i}].version must be from 1 to the signed state's version`, {
        version: String(version),
      });
    }
    const balances = e.balances as unknown;
    if (
      !Array.isArray(balances) ||
      balances.some(
        (row: unknown) => !Array.isArray(row) || row.some((b: unknown) => typeof b !== 'bigint' || b < 0n),
      )
    ) {
      invalid(`payments[${i}].balances must be rows of non-negative bigints`);
    }
    return { batch, version: version as bigint, balances: (balances as bigint[][]).map((row) => [...row]) };
  });
}

/** The IDs `payments` would log (their shape checked). */
export function loggedPaymentIds(channelId: Hex, payments: LoggedPayments | undefined): string[] {
  if (payments === undefined) return [];
  const batches = Array.isArray(payments) ? payments : [payments];
  return batches.flatMap((b) => paymentBatch(channelId, b).payments.map((p) => p.id));
}

/**
 * The log rows a signed state appends for `payments` (none without), after the checks: the shape,
 * payer and assets that exist (in `signed`, or an earlier entry's balances), and no ID that
 * `taken` reports as already logged for the channel (PaymentExistsError).
 */
export function paymentLogRows(
  channelId: Hex,
  participants: number,
  signed: SignedState,
  payments: LoggedPayments | undefined,
  taken: (paymentId: string) => boolean,
  at: number,
): PaymentRow[] {
  const entries = logEntries(channelId, signed, payments);
  for (const e of entries) checkFits(channelId, e.batch, participants, e.balances);
  const logged = entries.flatMap((e) => e.batch.payments).find((p) => taken(p.id));
  if (logged !== undefined) {
    throw new PaymentExistsError(`payment ${logged.id} is already logged for channel ${channelId}`, {
      channelId,
      paymentId: logged.id,
    });
  }
  return entries.flatMap((e) =>
    e.batch.payments.map((p) => ({
      channelId,
      version: e.version,
      payer: e.batch.payer,
      paymentId: p.id,
      asset: p.asset,
      amount: p.amount,
      balancesJson: JSON.stringify(e.balances[p.asset]!.map((b) => b.toString(10))),
      at,
    })),
  );
}

/** A log row with its `seq` as the StoredPayment the store returns. */
export function storedPayment(seq: bigint, row: PaymentRow): StoredPayment {
  return {
    seq,
    channelId: row.channelId,
    version: row.version,
    payer: row.payer,
    id: row.paymentId,
    asset: row.asset,
    amount: row.amount,
    balances: stringsFromJson(row.balancesJson, 'payment balances').map((b) =>
      bigFromColumn(b, 'payment balance'),
    ),
    at: row.at,
  };
}

/** Refuses a malformed listPayments filter. */
export function checkPaymentFilter(filter: PaymentFilter): void {
  if (typeof filter !== 'object' || filter === null)
    throw new InvalidRecordError('a filter must be an object');
  if (filter.channelId !== undefined && (typeof filter.channelId !== 'string' || filter.channelId === '')) {
    throw new InvalidRecordError('channelId must be a non-empty string', { channelId: filter.channelId });
  }
  if (filter.limit !== undefined && (!Number.isSafeInteger(filter.limit) || filter.limit < 1)) {
    throw new InvalidRecordError('limit must be a positive integer', { limit: String(filter.limit) });
  }
  if (filter.beforeSeq !== undefined && typeof filter.beforeSeq !== 'bigint') {
    throw new InvalidRecordError('beforeSeq must be a bigint', { beforeSeq: String(filter.beforeSeq) });
  }
}
