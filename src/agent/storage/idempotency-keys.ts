// The idempotency keys of `POST /channels/:id/payments` (../node/idempotent-payments.ts owns what
// they mean): one row per key with the request it was first used for, the payment ID that request
// pays under, and its answer once known. Rows are kept for IDEMPOTENCY_RETENTION_MS.
import 'reflect-metadata';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const IDEMPOTENCY_KEY_TABLE = 'agent_idempotency_key';

/** How long a key is remembered: a retry after that is a new payment (as with Stripe's keys). */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

@Entity({ name: IDEMPOTENCY_KEY_TABLE })
@Index('idx_agent_idempotency_key_created', ['createdAt'])
export class IdempotencyKeyEntity {
  @PrimaryColumn({ type: 'varchar', name: 'key' })
  key!: string;

  /** The channel the first request paid on (its full ID, lower case). */
  @Column({ type: 'varchar', name: 'channel_id' })
  channelId!: string;

  /** The first request's amount, canonical ("1.5"). */
  @Column({ type: 'varchar', name: 'amount' })
  amount!: string;

  /** The payment ID the first request named; null when it named none. */
  @Column({ type: 'varchar', name: 'requested_id', nullable: true })
  requestedId!: string | null;

  /** The payment ID the key pays under: the one requested, else a UUID chosen when the key was stored. */
  @Column({ type: 'varchar', name: 'payment_id' })
  paymentId!: string;

  /** The PaymentView answered, as JSON; null until the payment is known to be made. */
  @Column({ type: 'text', name: 'response', nullable: true })
  response!: string | null;

  /** Milliseconds since the epoch (a string: TypeORM reads bigints as strings). */
  @Column({ type: 'bigint', name: 'created_at' })
  createdAt!: string;
}

export const idempotencyKeyEntities = [IdempotencyKeyEntity];
