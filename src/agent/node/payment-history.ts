// The payments a user sees (`GET /payments`): the channel store's payment log, which is written
// with the signed states (durable before any signature leaves, the same names at the same versions
// on both sides), after the rows of the agent's own table from before the log (read only; the
// table and its migration stay for data directories that have it).
import 'reflect-metadata';
import {
  Column,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  Table,
  TableIndex,
  type DataSource,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';
import { exclusive } from '../../channels/persistence/datasource.js';
import type { ChannelStore, StoredPayment } from '../../channels/store.js';
import type { PaymentView } from './types.js';

export const PAYMENT_TABLE = 'agent_payment';

@Entity({ name: PAYMENT_TABLE })
@Index('idx_agent_payment_channel', ['channelId'])
export class PaymentEntity {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'seq' })
  seq!: number;

  @Column({ type: 'varchar', name: 'channel_id' })
  channelId!: string;

  /** The PaymentView as JSON. */
  @Column({ type: 'text', name: 'view' })
  view!: string;
}

export class AgentPayments1767500000000 implements MigrationInterface {
  name = 'AgentPayments1767500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: PAYMENT_TABLE,
        columns: [
          {
            name: 'seq',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'channel_id', type: 'varchar' },
          { name: 'view', type: 'text' },
        ],
      }),
    );
    await q.createIndex(
      PAYMENT_TABLE,
      new TableIndex({ name: 'idx_agent_payment_channel', columnNames: ['channel_id'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable(PAYMENT_TABLE);
  }
}

export const paymentEntities = [PaymentEntity];
export const paymentMigrations = [AgentPayments1767500000000];

/**
 * The payments a user sees: the channel store's payment log, written in the same transaction as
 * the state each payment is in (so it survives any crash and names the same payments at the same
 * versions as the peer's), and before it the rows this agent kept itself before the log existed
 * (read only).
 */
export class PaymentHistory {
  constructor(
    private readonly ds: DataSource,
    private readonly store: ChannelStore,
    /** The view of a logged payment that is one of `batch` in its update; undefined for a channel we no longer know. */
    private readonly viewOf: (row: StoredPayment, batch: number) => PaymentView | undefined,
  ) {}

  /** The payments, oldest first, of one channel or all; at most the newest `limit`. */
  async list(channelId?: string, limit = 10_000): Promise<PaymentView[]> {
    const logged = await this.store.listPayments({
      ...(channelId === undefined ? {} : { channelId: channelId.toLowerCase() }),
      limit,
    });
    const batches = new Map<string, number>();
    const key = (r: StoredPayment) => `${r.channelId.toLowerCase()}:${r.version}`;
    for (const r of logged) batches.set(key(r), (batches.get(key(r)) ?? 0) + 1);
    const views = logged.reverse().flatMap((r) => this.viewOf(r, batches.get(key(r))!) ?? []);
    const room = limit - views.length;
    if (room <= 0) return views;
    const legacy = await exclusive(this.ds, () =>
      this.ds.getRepository(PaymentEntity).find({
        where: channelId === undefined ? {} : { channelId: channelId.toLowerCase() },
        order: { seq: 'DESC' },
        take: room,
      }),
    );
    return [...legacy.reverse().map(legacyView), ...views];
  }
}

/** A row kept before payments had IDs: named as the channel names an update without them. */
function legacyView(r: PaymentEntity): PaymentView {
  const view = JSON.parse(r.view) as Partial<PaymentView> & Omit<PaymentView, 'id' | 'batch'>;
  return { ...view, id: view.id ?? `v${view.version}.0`, batch: view.batch ?? 1 };
}
