// The IDs of inbound DIDComm messages the agent has taken, per connection, for the replay guard
// (src/protocols/replay/replay-guard.ts owns what they mean, the bound and when they are written):
// one row per (connection, @id) with the time it was first taken. Rows past the guard's bound are
// deleted as the guard writes.
import 'reflect-metadata';
import { Column, Entity, Index, LessThan, MoreThanOrEqual, PrimaryColumn, type DataSource } from 'typeorm';
import { exclusive } from '../../channels/persistence/datasource.js';
import type { ReplayStore, SeenMessage } from '../../protocols/replay/replay-guard.js';

export const INBOUND_MESSAGE_TABLE = 'agent_inbound_message';

/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_INSERT = 256;

@Entity({ name: INBOUND_MESSAGE_TABLE })
@Index('idx_agent_inbound_message_seen', ['seenAt'])
export class InboundMessageEntity {
  @PrimaryColumn({ type: 'varchar', name: 'connection_id' })
  connectionId!: string;

  /** The plaintext's @id. */
  @PrimaryColumn({ type: 'varchar', name: 'message_id' })
  messageId!: string;

  /** Milliseconds since the epoch (a string: TypeORM reads bigints as strings). */
  @Column({ type: 'bigint', name: 'seen_at' })
  seenAt!: string;
}

export const inboundMessageEntities = [InboundMessageEntity];

/** The replay guard's store in the agent's database: each call one transaction, in its exclusive turn. */
export class TypeOrmReplayStore implements ReplayStore {
  constructor(private readonly ds: DataSource) {}

  async load(since: number): Promise<SeenMessage[]> {
    const repo = this.ds.getRepository(InboundMessageEntity);
    const rows = await exclusive(this.ds, async () => {
      await repo.delete({ seenAt: LessThan(String(since)) });
      return repo.find({ where: { seenAt: MoreThanOrEqual(String(since)) }, order: { seenAt: 'ASC' } });
    });
    return rows.map((r) => ({
      connectionId: r.connectionId,
      messageId: r.messageId,
      seenAt: Number(r.seenAt),
    }));
  }

  async write(change: Parameters<ReplayStore['write']>[0]): Promise<void> {
    // One row per key and statement (PostgreSQL's ON CONFLICT refuses a row twice): the latest wins.
    const rows = [
      ...new Map(change.add.map((s) => [`${s.connectionId} ${s.messageId}`, s] as const)).values(),
    ];
    await exclusive(this.ds, () =>
      this.ds.transaction(async (em) => {
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          await em
            .createQueryBuilder()
            .insert()
            .into(InboundMessageEntity)
            .values(
              rows.slice(i, i + ROWS_PER_INSERT).map((s) => ({
                connectionId: s.connectionId,
                messageId: s.messageId,
                seenAt: String(s.seenAt),
              })),
            )
            .orUpdate(['seen_at'], ['connection_id', 'message_id'])
            .execute();
        }
        for (const e of change.evicted)
          await em.delete(InboundMessageEntity, {
            connectionId: e.connectionId,
            seenAt: LessThan(String(e.before)),
          });
        await em.delete(InboundMessageEntity, { seenAt: LessThan(String(change.expiredBefore)) });
      }),
    );
  }
}
