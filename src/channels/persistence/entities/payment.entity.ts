// Table perun_payment: the payment log, one row per payment an update made, written with the
// signed state of that update (same transaction). Append-only and without a foreign key: a
// user's payment history outlives the channel record. `seq` orders the log across channels; the
// store assigns it (SQLite: the next after the highest, PostgreSQL: the sequence perun_payment_seq).
// A payment ID is unique within its channel.
//
// The key's column type differs by driver, so each has its entity class: on SQLite `seq` is an
// INTEGER PRIMARY KEY, the table's rowid itself (one b-tree less to write per payment than a
// separate key index; migration PaymentLogRowid1796601600000), on PostgreSQL a bigint.

import 'reflect-metadata';
import { Column, Entity, Index, PrimaryColumn, type DataSource } from 'typeorm';

import { decimalColumn, int64Transformer, timestampColumn } from './columns.js';

/** The columns but the key, shared by both drivers' entities. */
@Index('IDX_perun_payment_channel_payment', ['channelId', 'paymentId'], { unique: true })
@Index('IDX_perun_payment_channel_seq', ['channelId', 'seq'])
abstract class PaymentLogColumns {
  abstract seq: bigint;

  @Column({ type: 'varchar', name: 'channel_id' })
  channelId!: string;

  /** The version of the signed state that made the payment. */
  @Column(decimalColumn('version'))
  version!: bigint;

  /** The participant index of the payer (the update's proposer). */
  @Column({ type: 'integer', name: 'payer' })
  payer!: number;

  @Column({ type: 'varchar', length: 64, name: 'payment_id' })
  paymentId!: string;

  /** Index of the asset in the state's outcome. */
  @Column({ type: 'integer', name: 'asset' })
  asset!: number;

  @Column(decimalColumn('amount'))
  amount!: bigint;

  /** JSON array of the asset's balances after the payment, decimal strings in participant order. */
  @Column({ type: 'text', name: 'balances' })
  balances!: string;

  @Column(timestampColumn('paid_at'))
  at!: number;
}

/** The payment log on PostgreSQL. */
@Entity({ name: 'perun_payment' })
export class PaymentLogEntity extends PaymentLogColumns {
  @PrimaryColumn({ type: 'bigint', name: 'seq', transformer: int64Transformer })
  seq!: bigint;
}

/** The payment log on SQLite: `seq` is the rowid (SQLite's integers are 64-bit). */
@Entity({ name: 'perun_payment' })
export class SqlitePaymentLogEntity extends PaymentLogColumns {
  @PrimaryColumn({ type: 'integer', name: 'seq', transformer: int64Transformer })
  seq!: bigint;
}

type PaymentLogClass = typeof PaymentLogEntity | typeof SqlitePaymentLogEntity;

/** The payment log's entity for a DataSource of `type`. */
export function paymentLogEntity(type: string): PaymentLogClass {
  return type === 'postgres' ? PaymentLogEntity : SqlitePaymentLogEntity;
}

/** The payment log's entity that `ds` was given. */
export function paymentLogEntityIn(ds: DataSource): PaymentLogClass {
  return ds.hasMetadata(SqlitePaymentLogEntity) ? SqlitePaymentLogEntity : PaymentLogEntity;
}
