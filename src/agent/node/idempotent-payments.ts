// Payments that cannot be paid twice: `POST /channels/:id/payments` with an `Idempotency-Key`.
//
// Decision: a key names one payment ID. The first request with a key stores the key, the request
// (channel, amount, the payment ID it named) and the payment ID it pays under (the one named, else
// a fresh UUID) before the payment starts, and the payment's view once it is made. The payment ID
// is what both histories record, so the channel's payment log is the truth about whether the
// key's payment was made, also when the agent died before it could store the answer:
// - the same key with the same request returns the stored view (status 201), or, with no view
//   stored, looks the payment ID up in the channel's log (made: that view), waits while an
//   update that carries it is still being signed (a restart's sync decides it), and pays again
//   under the same payment ID only when no state we signed carries it;
// - the same key while its request runs joins it;
// - the same key with another channel, amount or payment ID is a 422 IDEMPOTENCY_KEY_REUSED;
// - a failed payment stores no answer (a peer timeout does not prove that nothing was paid): a
//   retry goes through the steps above.
// Keys are kept 24 hours (IDEMPOTENCY_RETENTION_MS), pruned whenever a key is stored.
import { randomUUID } from 'node:crypto';
import { LessThan } from 'typeorm';
import { exclusive } from '../../channels/persistence/datasource.js';
import { ApiRequestError } from '../api/api-error.js';
import { IDEMPOTENCY_RETENTION_MS, IdempotencyKeyEntity } from '../storage/idempotency-keys.js';
import type { Hex } from '../../channels/types.js';
import type { NodeContext } from './context.js';
import type { PaymentView } from './types.js';

/**
 * What makes two requests with one key the same request. `amount` is stored as asked for a
 * payment in the channel's first asset, and as `<amount>/<index>` for its asset `index`.
 */
interface PayRequest {
  channelId: string;
  amount: string;
  requestedId: string | null;
}

/** The stored amount of a payment of `amount` in the channel's asset `index`. */
const storedAmount = (amount: string, index: number) => (index === 0 ? amount : `${amount}/${index}`);

/** The amount and asset index of a stored amount. */
function paidAmount(stored: string): [string, number] {
  const [amount, index] = stored.split('/');
  return [amount!, index === undefined ? 0 : Number(index)];
}

const FIELDS = ['channelId', 'amount', 'requestedId'] as const;

/** How often a payment that is still being signed is looked at again. */
const IN_DOUBT_POLL_MS = 100;

export class IdempotentPayments {
  readonly #running = new Map<string, { request: PayRequest; answer: Promise<PaymentView> }>();

  constructor(
    private readonly ctx: Pick<NodeContext, 'db' | 'client' | 'store' | 'history' | 'timeoutMs'>,
    /** Pays without a key: the node's own payment. */
    private readonly payOnce: (
      channelId: string,
      amount: string,
      id: string,
      index: number,
    ) => Promise<PaymentView>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Pays `amount` of the channel's asset `index` (default its first) once per `key`; see the header. */
  pay(key: string, channelId: string, amount: string, id?: string, index = 0): Promise<PaymentView> {
    let request: PayRequest;
    try {
      request = {
        channelId: this.ctx.client.channel(channelId).id.toLowerCase(),
        amount: storedAmount(amount, index),
        requestedId: id ?? null,
      };
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const running = this.#running.get(key);
    if (running !== undefined) {
      sameRequest(running.request, request);
      return running.answer;
    }
    const answer = this.#run(key, request).finally(() => this.#running.delete(key));
    this.#running.set(key, { request, answer });
    return answer;
  }

  async #run(key: string, request: PayRequest): Promise<PaymentView> {
    const repo = () => this.ctx.db.getRepository(IdempotencyKeyEntity);
    const stored = await exclusive(this.ctx.db, () => repo().findOneBy({ key }));
    if (stored === null) {
      const paymentId = request.requestedId ?? randomUUID();
      const now = this.now();
      await exclusive(this.ctx.db, async () => {
        await repo().delete({ createdAt: LessThan(String(now - IDEMPOTENCY_RETENTION_MS)) });
        await repo().insert({ key, ...request, paymentId, response: null, createdAt: String(now) });
      });
      return this.#pay(key, request, paymentId);
    }
    sameRequest(stored, request);
    if (stored.response !== null) return JSON.parse(stored.response) as PaymentView;
    const made = await this.#madeOrUndecided(request.channelId, stored.paymentId);
    if (made !== undefined) return this.#answer(key, made);
    return this.#pay(key, request, stored.paymentId);
  }

  async #pay(key: string, request: PayRequest, paymentId: string): Promise<PaymentView> {
    const [amount, index] = paidAmount(request.amount);
    return this.#answer(key, await this.payOnce(request.channelId, amount, paymentId, index));
  }

  async #answer(key: string, view: PaymentView): Promise<PaymentView> {
    await exclusive(this.ctx.db, () =>
      this.ctx.db.getRepository(IdempotencyKeyEntity).update({ key }, { response: JSON.stringify(view) }),
    );
    return view;
  }

  /**
   * The view of payment `paymentId` if the channel's log has it; undefined if no state we signed
   * carries it. While an update that carries it is being signed, waits (up to the node's
   * timeout; then a 409 PAYMENT_IN_FLIGHT: retry later).
   */
  async #madeOrUndecided(channelId: string, paymentId: string): Promise<PaymentView | undefined> {
    const deadline = this.now() + this.ctx.timeoutMs;
    for (;;) {
      await this.ctx.client.flush(channelId as Hex); // a payment of ours may wait for its write
      const logged = (await this.ctx.history.list(channelId)).find(
        (p) => p.id === paymentId && p.direction === 'sent',
      );
      if (logged !== undefined) return logged;
      const staged = (await this.ctx.store.getChannel(channelId as Hex))?.staged;
      if (staged?.payments?.payments.some((p) => p.id === paymentId) !== true) return undefined;
      if (this.now() > deadline) {
        throw new ApiRequestError(
          409,
          'PAYMENT_IN_FLIGHT',
          "the key's payment is still being signed; retry",
          {
            channelId,
            paymentId,
          },
        );
      }
      await new Promise((r) => setTimeout(r, IN_DOUBT_POLL_MS));
    }
  }
}

/** Throws 422 IDEMPOTENCY_KEY_REUSED unless `next` asks what `first` asked. */
function sameRequest(first: PayRequest, next: PayRequest): void {
  const differs = FIELDS.filter((f) => first[f] !== next[f]);
  if (differs.length === 0) return;
  throw new ApiRequestError(
    422,
    'IDEMPOTENCY_KEY_REUSED',
    'this Idempotency-Key was used for another payment request',
    { header: 'Idempotency-Key', differs: differs.map((f) => (f === 'requestedId' ? 'id' : f)) },
  );
}
