// The IDs of inbound DIDComm messages the agent has taken, per connection, for the replay guard
// (src/protocols/replay/replay-guard.ts owns what they mean, the bound and when they are written):
// one row per (connection, @id) with the time it was first taken. Rows past the guard's bound are
// deleted as the guard writes. On SQLite a write is statements prepared once, run as a member of
// the DataSource's group commit (src/channels/persistence/sqlite-group.ts): a proposal's ID made
// durable shares its fsync with the channel writes waiting beside it.
import 'reflect-metadata';
import type BetterSqlite3 from 'better-sqlite3';
import { Column, Entity, Index, LessThan, MoreThanOrEqual, PrimaryColumn, type DataSource } from 'typeorm';
import { exclusive } from '../../channels/persistence/datasource.js';
import { connectionOf, isBetterSqlite, sqliteGroupCommit } from '../../channels/persistence/sqlite-group.js';
import type { ReplayStore, SeenMessage } from '../../protocols/replay/replay-guard.js';

export const INBOUND_MESSAGE_TABLE = 'agent_inbound_message';
/** The index the eviction of a connection's oldest IDs runs on. */
export const INBOUND_MESSAGE_EVICTION_INDEX = 'idx_agent_inbound_message_connection_seen';
/** Deletes a connection's IDs taken before a time: those that fell out of the guard's bound. */
export const EVICT_SQL = `DELETE FROM ${INBOUND_MESSAGE_TABLE} WHERE connection_id = ? AND seen_at < ?`;

/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_INSERT = 256;

@Entity({ name: INBOUND_MESSAGE_TABLE })
@Index('idx_agent_inbound_message_seen', ['seenAt'])
@Index(INBOUND_MESSAGE_EVICTION_INDEX, ['connectionId', 'seenAt'])
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

type Change = Parameters<ReplayStore['write']>[0];
type SqliteStatement = BetterSqlite3.Statement<unknown[]>;

/** A write's statements, prepared once per better-sqlite3 connection. */
class SqliteReplayWrites {
  readonly #upsert: SqliteStatement;
  readonly #evict: SqliteStatement;
  readonly #expire: SqliteStatement;

  constructor(readonly db: BetterSqlite3.Database) {
    this.#upsert = db.prepare(
      `INSERT INTO ${INBOUND_MESSAGE_TABLE} (connection_id, message_id, seen_at) VALUES (?, ?, ?)
       ON CONFLICT (connection_id, message_id) DO UPDATE SET seen_at = excluded.seen_at`,
    );
    this.#evict = db.prepare(EVICT_SQL);
    this.#expire = db.prepare(`DELETE FROM ${INBOUND_MESSAGE_TABLE} WHERE seen_at < ?`);
  }

  run(rows: Change['add'], change: Change): void {
    for (const s of rows) this.#upsert.run(s.connectionId, s.messageId, s.seenAt);
    for (const e of change.evicted) this.#evict.run(e.connectionId, e.before);
    this.#expire.run(change.expiredBefore);
  }
}

/** The replay guard's store in the agent's database: each call one transaction, in its exclusive turn. */
export class TypeOrmReplayStore implements ReplayStore {
  #sqlite: SqliteReplayWrites | undefined;

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

  async write(change: Change): Promise<void> {
    // One row per key and statement (PostgreSQL's ON CONFLICT refuses a row twice): the latest wins.
    const rows = [
      ...new Map(change.add.map((s) => [`${s.connectionId} ${s.messageId}`, s] as const)).values(),
    ];
    if (isBetterSqlite(this.ds)) {
      await sqliteGroupCommit(this.ds).run(async () => this.#sqliteWrites().run(rows, change));
      return;
    }
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

  /** The statements prepared on the current connection (prepared again after a reconnect). */
  #sqliteWrites(): SqliteReplayWrites {
    const db = connectionOf(this.ds);
    if (this.#sqlite?.db !== db) this.#sqlite = new SqliteReplayWrites(db);
    return this.#sqlite;
  }
}
