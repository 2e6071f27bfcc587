// A mediator's queue of forwarded messages in the agent's database (Credo's
// DidCommQueueTransportRepository): one row per message forwarded to one of its recipients, the
// encrypted envelope as it came (the mediator cannot read it), its recipient keys and when it
// came. A message handed out in a pickup delivery stays until the recipient acknowledges it
// (messages-received); one not acknowledged within REDELIVER_MS is handed out again (the
// recipient's replay guard drops a repeat). A message waits at most `keepMs` for its recipient,
// and a recipient has at most `maxPerConnection` messages and `maxBytesPerConnection` bytes
// waiting: beyond that a forward is refused (and logged), not queued. Counts of what was forwarded and delivered in this run are kept for the
// node's info.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { AgentContext } from '@credo-ts/core';
import type { DidCommEncryptedMessage, DidCommQueueTransportRepository } from '@credo-ts/didcomm';
import { Column, Entity, In, Index, LessThan, PrimaryColumn, type DataSource } from 'typeorm';
import { exclusive } from '../../channels/persistence/datasource.js';

export const MEDIATOR_QUEUE_TABLE = 'agent_mediator_queue';

/** A message handed out and not acknowledged within this is handed out again. */
export const REDELIVER_MS = 60_000;

@Entity({ name: MEDIATOR_QUEUE_TABLE })
@Index('idx_agent_mediator_queue_connection', ['connectionId', 'receivedAt'])
@Index('idx_agent_mediator_queue_received', ['receivedAt'])
export class MediatorQueueEntity {
  @PrimaryColumn({ type: 'varchar' })
  id!: string;

  @Column({ type: 'varchar', name: 'connection_id' })
  connectionId!: string;

  /** The recipient keys as did:key, space-separated. */
  @Column({ type: 'text', name: 'recipient_dids' })
  recipientDids!: string;

  /** The encrypted envelope (JSON). */
  @Column({ type: 'text' })
  payload!: string;

  /** The envelope's length in bytes. */
  @Column({ type: 'integer' })
  bytes!: number;

  /** Milliseconds since the epoch (a string: TypeORM reads bigints as strings). */
  @Column({ type: 'bigint', name: 'received_at' })
  receivedAt!: string;

  /** When it was last handed out; null while it waits. */
  @Column({ type: 'bigint', name: 'taken_at', nullable: true })
  takenAt!: string | null;
}

export const mediatorQueueEntities = [MediatorQueueEntity];

export interface MediatorQueueOptions {
  /** How long a message waits for its recipient. */
  keepMs: number;
  /** Messages waiting per recipient connection; default 1000. */
  maxPerConnection?: number;
  /** Bytes of envelopes waiting per recipient connection; default 64 MiB. */
  maxBytesPerConnection?: number;
  /** Told of each forward refused because the recipient's queue is full. */
  onRefused?: (connectionId: string) => void;
  now?: () => number;
}

export interface MediatorQueueStats {
  /** Messages queued for recipients in this run. */
  forwarded: number;
  /** Messages recipients acknowledged in this run. */
  delivered: number;
  /** Forwards refused because a recipient's queue was full. */
  refused: number;
}

export class MediatorQueueFullError extends Error {
  constructor(readonly connectionId: string) {
    super(`the mediator's queue for connection ${connectionId} is full`);
    this.name = 'MediatorQueueFullError';
  }
}

export class TypeOrmMediatorQueue implements DidCommQueueTransportRepository {
  readonly stats: MediatorQueueStats = { forwarded: 0, delivered: 0, refused: 0 };
  readonly #keepMs: number;
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #onRefused: ((connectionId: string) => void) | undefined;
  readonly #now: () => number;
  #waiting = 0;

  constructor(
    private readonly ds: DataSource,
    o: MediatorQueueOptions,
  ) {
    this.#keepMs = o.keepMs;
    this.#max = o.maxPerConnection ?? 1000;
    this.#maxBytes = o.maxBytesPerConnection ?? 64 * 1024 * 1024;
    this.#onRefused = o.onRefused;
    this.#now = o.now ?? Date.now;
  }

  get #repo() {
    return this.ds.getRepository(MediatorQueueEntity);
  }

  /** Messages waiting for recipients (handed out and unacknowledged ones included), as of load(). */
  get waiting(): number {
    return this.#waiting;
  }

  /** Counts what is waiting (at start). */
  async load(): Promise<void> {
    this.#waiting = await exclusive(this.ds, () => this.#repo.count());
  }

  async getAvailableMessageCount(
    _agentContext: AgentContext,
    o: { connectionId: string; recipientDid?: string },
  ): Promise<number> {
    return (await this.#available(o.connectionId, o.recipientDid)).length;
  }

  async takeFromQueue(
    _agentContext: AgentContext,
    o: { connectionId: string; recipientDid?: string; limit?: number; deleteMessages?: boolean },
  ) {
    const now = this.#now();
    const rows = await exclusive(this.ds, async () => {
      const taken = (await this.#availableRows(o.connectionId, o.recipientDid)).slice(0, o.limit);
      const ids = taken.map((r) => r.id);
      if (ids.length > 0) {
        if (o.deleteMessages === true) await this.#repo.delete({ id: In(ids) });
        else await this.#repo.update({ id: In(ids) }, { takenAt: String(now) });
      }
      return taken;
    });
    if (o.deleteMessages === true) this.#delivered(rows.length);
    return rows.map((r) => ({
      id: r.id,
      receivedAt: new Date(Number(r.receivedAt)),
      encryptedMessage: JSON.parse(r.payload) as DidCommEncryptedMessage,
    }));
  }

  async addMessage(
    _agentContext: AgentContext,
    o: { connectionId: string; recipientDids: string[]; payload: DidCommEncryptedMessage; receivedAt?: Date },
  ): Promise<string> {
    const now = this.#now();
    const id = randomUUID();
    const payload = JSON.stringify(o.payload);
    const bytes = Buffer.byteLength(payload);
    await exclusive(this.ds, async () => {
      const expired = await this.#repo.delete({ receivedAt: LessThan(String(now - this.#keepMs)) });
      this.#waiting -= expired.affected ?? 0;
      const held = await this.#repo
        .createQueryBuilder('m')
        .select('COUNT(*)', 'count')
        .addSelect('COALESCE(SUM(m.bytes), 0)', 'bytes')
        .where('m.connection_id = :id', { id: o.connectionId })
        .getRawOne<{ count: string | number; bytes: string | number }>();
      if (Number(held?.count) >= this.#max || Number(held?.bytes) + bytes > this.#maxBytes) {
        this.stats.refused++;
        this.#onRefused?.(o.connectionId);
        throw new MediatorQueueFullError(o.connectionId);
      }
      await this.#repo.insert({
        id,
        connectionId: o.connectionId,
        recipientDids: o.recipientDids.join(' '),
        payload,
        bytes,
        receivedAt: String(o.receivedAt?.getTime() ?? now),
        takenAt: null,
      });
    });
    this.stats.forwarded++;
    this.#waiting++;
    return id;
  }

  async removeMessages(_agentContext: AgentContext, o: { connectionId: string; messageIds: string[] }) {
    if (o.messageIds.length === 0) return;
    const result = await exclusive(this.ds, () =>
      this.#repo.delete({ connectionId: o.connectionId, id: In(o.messageIds) }),
    );
    this.#delivered(result.affected ?? 0);
  }

  #delivered(n: number): void {
    this.stats.delivered += n;
    this.#waiting -= n;
  }

  #available(connectionId: string, recipientDid?: string) {
    return exclusive(this.ds, () => this.#availableRows(connectionId, recipientDid));
  }

  /** The messages of a connection to hand out, oldest first (call in the DataSource's turn). */
  async #availableRows(connectionId: string, recipientDid?: string): Promise<MediatorQueueEntity[]> {
    const now = this.#now();
    const rows = await this.#repo.find({ where: { connectionId }, order: { receivedAt: 'ASC' } });
    return rows.filter(
      (r) =>
        Number(r.receivedAt) >= now - this.#keepMs &&
        (r.takenAt === null || Number(r.takenAt) < now - REDELIVER_MS) &&
        (recipientDid === undefined || r.recipientDids.split(' ').includes(recipientDid)),
    );
  }
}
