// The payments a user sees (`GET /payments`), kept in the agent's database so that they survive a
// restart. They are a record for people, not channel state (the signed states are the truth, and
// they are durable before any signature leaves), so rows are written in batches a moment after
// the payments, one transaction per batch, off the payment's path.
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

export class PaymentHistory {
  #queue: PaymentView[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly ds: DataSource,
    /** How long a payment may wait to be written with the next ones. */
    private readonly batchMs = 200,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  add(p: PaymentView): void {
    this.#queue.push(p);
    this.#timer ??= setTimeout(() => {
      this.flush().catch(this.onError);
    }, this.batchMs);
  }

  /** Writes what is queued (also what `add` queues meanwhile, in order). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queue;
    this.#queue = [];
    this.#writing = this.#writing.then(async () => {
      if (batch.length === 0) return;
      await exclusive(this.ds, () =>
        this.ds.transaction((em) =>
          em
            .getRepository(PaymentEntity)
            .insert(batch.map((p) => ({ channelId: p.channelId.toLowerCase(), view: JSON.stringify(p) }))),
        ),
      ).catch(this.onError);
    });
    return this.#writing;
  }

  /** The payments, oldest first, of one channel or all; at most the newest `limit`. */
  async list(channelId?: string, limit = 10_000): Promise<PaymentView[]> {
    await this.flush();
    const rows = await exclusive(this.ds, () =>
      this.ds.getRepository(PaymentEntity).find({
        where: channelId === undefined ? {} : { channelId: channelId.toLowerCase() },
        order: { seq: 'DESC' },
        take: limit,
      }),
    );
    return rows.reverse().map((r) => {
      const view = JSON.parse(r.view) as Partial<PaymentView> & Omit<PaymentView, 'id' | 'batch'>;
      // Rows written before payments had IDs: named as the channel names an update without them.
      return { ...view, id: view.id ?? `v${view.version}.0`, batch: view.batch ?? 1 };
    });
  }
}
