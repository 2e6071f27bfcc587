// Payments, batched: a payment asked while an update of the channel is in flight waits in the
// channel's outbox and goes with the others in the next update (one state, one signature each
// side, one durable write), each keeping its own ID, amount and result. The update carries the
// payments' IDs, so both sides' histories name the same payments at the same version. A payment
// the balance cannot cover fails alone; the rest of its batch goes on. One update is in flight
// per channel, as always: batching is how a channel carries more than one payment a round trip.
import { randomUUID } from 'node:crypto';
import { copyState } from '../copy.js';
import { ChannelClientError, InvalidTransitionError } from '../errors.js';
import { PAYMENT_ID, type Hex, type PaymentRecord, type State } from '../types.js';
import type { Channel, QueuedPayment } from './channel.js';
import type { ClientContext } from './context.js';
import { proposeUntilAnswered, updateFailure } from './update.js';

/** Most payments one update carries by default. */
export const DEFAULT_MAX_BATCH = 128;

/**
 * Pays `amount` of asset `asset` to the peer, under `paymentId` (a fresh UUID when omitted).
 * Resolves with the fully signed state that contains the payment.
 */
export function sendPayment(
  ctx: ClientContext,
  id: Hex,
  amount: bigint,
  asset = 0,
  paymentId?: string,
): Promise<State> {
  if (amount <= 0n)
    return Promise.reject(new ChannelClientError('INVALID_REQUEST', 'amount must be positive'));
  if (paymentId !== undefined && !PAYMENT_ID.test(paymentId)) {
    return Promise.reject(
      new ChannelClientError('INVALID_REQUEST', 'a payment ID has 1 to 64 characters of [A-Za-z0-9._:-]'),
    );
  }
  const entry = ctx.entry(id);
  return new Promise<State>((resolve, reject) => {
    ctx.requireOpen();
    const pid = paymentId ?? randomUUID();
    if (entry.outbox.some((q) => q.payment.id === pid)) {
      throw new ChannelClientError('INVALID_REQUEST', 'a payment with this ID is waiting already', {
        paymentId: pid,
      });
    }
    entry.outbox.push({ payment: { id: pid, asset, amount }, resolve, reject });
    pump(ctx, entry);
  });
}

/** Drains the channel's outbox in the background, one update at a time, unless that runs already. */
function pump(ctx: ClientContext, entry: Channel): void {
  if (entry.paying) return;
  entry.paying = true;
  const drain = async () => {
    // Payments asked in the same turn, and those whose requests are already read, go together.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (entry.outbox.length > 0) {
      const batch = takeBatch(ctx, entry.outbox);
      await entry.local.run(() => payBatch(ctx, entry, batch));
    }
  };
  ctx.bg(
    drain().finally(() => {
      entry.paying = false;
      if (entry.outbox.length > 0) pump(ctx, entry);
    }),
    entry.id,
    'payments',
  );
}

/** The oldest waiting payments that one update takes: at most maxBatchPayments, and maxBatchAmount of each asset. */
function takeBatch(ctx: ClientContext, outbox: QueuedPayment[]): QueuedPayment[] {
  const maxCount = ctx.o.maxBatchPayments ?? DEFAULT_MAX_BATCH;
  const maxAmount = ctx.o.maxBatchAmount;
  const sums = new Map<number, bigint>();
  let n = 0;
  for (const q of outbox) {
    if (n >= maxCount) break;
    const sum = (sums.get(q.payment.asset) ?? 0n) + q.payment.amount;
    if (maxAmount !== undefined && n > 0 && sum > maxAmount) break;
    sums.set(q.payment.asset, sum);
    n++;
  }
  return outbox.splice(0, n);
}

/** One update with the payments of `batch` that the balances cover; every payment gets its answer. */
async function payBatch(ctx: ClientContext, entry: Channel, batch: QueuedPayment[]): Promise<void> {
  let included: QueuedPayment[] = [];
  let refused = new Map<QueuedPayment, Error>();
  const make = (cur: State) => {
    included = [];
    refused = new Map();
    const me = entry.machine.idx;
    for (const q of batch) {
      const problem = coverProblem(entry, cur, q.payment, me);
      if (problem !== undefined) {
        refused.set(q, problem);
        continue;
      }
      const row = cur.outcome.balances[q.payment.asset]!;
      row[me] = row[me]! - q.payment.amount;
      row[1 - me] = row[1 - me]! + q.payment.amount;
      included.push(q);
    }
    if (included.length === 0) throw NOTHING_TO_PAY;
    return { state: cur, payments: included.map((q): PaymentRecord => ({ ...q.payment })) };
  };
  try {
    ctx.requireOpen();
    const answer = await proposeUntilAnswered(ctx, entry, make);
    if (answer.kind === 'accepted') {
      for (const q of included) q.resolve(copyState(answer.state));
    } else {
      const err = updateFailure(entry.id, answer);
      for (const q of included) q.reject(err);
    }
    for (const [q, err] of refused) q.reject(err);
  } catch (err) {
    if (err === NOTHING_TO_PAY) {
      for (const [q, e] of refused) q.reject(e);
      return;
    }
    for (const q of batch) q.reject(err);
  }
}

const NOTHING_TO_PAY = new Error('no payment of the batch fits');

/** Why `p` cannot be paid from our balance in `state`, or undefined. */
function coverProblem(entry: Channel, state: State, p: PaymentRecord, me: number): Error | undefined {
  const row = state.outcome.balances[p.asset];
  if (row === undefined) {
    return new ChannelClientError('INVALID_REQUEST', 'no such asset', { asset: p.asset });
  }
  const available = row[me]!;
  if (available >= p.amount) return undefined;
  return new InvalidTransitionError(
    'NEGATIVE_BALANCE',
    `insufficient balance in channel ${entry.id}: ${available} available, ${p.amount} asked (asset ${p.asset}, base units)`,
    { channelId: entry.id, asset: p.asset, available: available.toString(), amount: p.amount.toString() },
  );
}
