// What a change of state pays, as payments with IDs: an update that only moves balances from one
// participant to the other (per asset, nothing locked or unlocked, the app data unchanged) is a
// transfer; its payments are named `v<version>.<asset>` when the update carried no names of its
// own. Both participants compute the same from the same two states, so their histories agree.
import type { PaymentRecord, State, VersionedPayment } from './types.js';
import { sameLocked } from './validation.js';

/** Who pays what in a two-party update. */
export interface Transfer {
  /** The paying participant's index. */
  payer: number;
  payments: PaymentRecord[];
}

/** The transfer from `before` to `after` (two participants), or undefined if it is not one. */
export function transferOf(before: State, after: State): Transfer | undefined {
  const from = before.outcome.balances;
  const to = after.outcome.balances;
  if (from.length !== to.length || !sameLocked(before.outcome, after.outcome)) return undefined;
  if (before.appData !== after.appData) return undefined;
  let payer: number | undefined;
  const payments: PaymentRecord[] = [];
  for (let asset = 0; asset < to.length; asset++) {
    const a = from[asset]!;
    const b = to[asset]!;
    if (a.length !== 2 || b.length !== 2) return undefined;
    const d0 = b[0]! - a[0]!;
    if (d0 + (b[1]! - a[1]!) !== 0n) return undefined;
    if (d0 === 0n) continue;
    const p = d0 < 0n ? 0 : 1;
    if (payer !== undefined && payer !== p) return undefined;
    payer = p;
    payments.push({ id: `v${after.version}.${asset}`, asset, amount: d0 < 0n ? -d0 : d0 });
  }
  return payer === undefined ? undefined : { payer, payments };
}

/** The payments of one earlier version with the balances after it, [asset][participant]. */
export interface VersionTransfer extends Transfer {
  version: bigint;
  balances: bigint[][];
}

/**
 * The payments of the versions between `before` and `after` as a peer told them (a sync), each
 * version with the balances it leaves, if they are exactly what happened: versions after
 * `before`'s and up to `after`'s, one payer each, no balance below zero on the way, and together
 * they make `after`'s balances from `before`'s with nothing locked or unlocked. Undefined otherwise
 * (the versions in between did more than pay).
 */
export function replayPayments(
  before: State,
  after: State,
  payments: VersionedPayment[],
): VersionTransfer[] | undefined {
  if (!sameLocked(before.outcome, after.outcome) || before.appData !== after.appData) return undefined;
  if (before.outcome.balances.length !== after.outcome.balances.length) return undefined;
  const balances = before.outcome.balances.map((row) => [...row]);
  const versions = [...new Set(payments.map((p) => p.version))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: VersionTransfer[] = [];
  for (const version of versions) {
    if (version <= before.version || version > after.version) return undefined;
    const those = payments.filter((p) => p.version === version);
    const payer = those[0]!.payer;
    if (payer > 1 || those.some((p) => p.payer !== payer)) return undefined;
    for (const p of those) {
      const row = balances[p.asset];
      if (row === undefined || row.length !== 2 || row[payer]! < p.amount) return undefined;
      row[payer] = row[payer]! - p.amount;
      row[1 - payer] = row[1 - payer]! + p.amount;
    }
    out.push({
      version,
      payer,
      payments: those.map(({ id, asset, amount }) => ({ id, asset, amount })),
      balances: balances.map((row) => [...row]),
    });
  }
  const match = balances.every((row, a) => row.every((b, i) => b === after.outcome.balances[a]?.[i]));
  return match && out.length > 0 ? out : undefined;
}
