// The statements of the update writes (update-writes.ts), prepared once and run straight on the
// database driver under the TypeORM store, and the runners that execute an update op with them:
//
// - SQLite: better-sqlite3 statements prepared once per connection, run synchronously; an op's
//   read, checks and writes complete within one call, but for the time of the channel's last
//   write (`updated_at`), set once per channel at the end of the transaction. SqliteUpdates also runs the store's
//   transactions itself (BEGIN/COMMIT/ROLLBACK, prepared too), because TypeORM's transaction
//   costs several times the statements it wraps, and the savepoints of a group commit
//   (./group-commit.ts). The caller holds the DataSource's `exclusive`
//   turn for the whole transaction, so it never interleaves with a TypeORM transaction on the
//   same connection; TypeORM queries made inside it (the store's other operations) run on the
//   same connection and so inside it.
// - PostgreSQL: named prepared statements on the pg client of the TypeORM transaction's query
//   runner (pg parses each name once per connection); the channel row is locked (FOR UPDATE)
//   before a read-check-write, so concurrent transactions on one channel take turns. TypeORM's
//   query logging does not see these statements.

import type BetterSqlite3 from 'better-sqlite3';
import type { QueryRunner } from 'typeorm';

import type { Hex } from '../types.js';
import { stage } from '../stage-trace.js';
import { StoreUsageError } from './errors.js';
import type { ChannelRow } from './rules.js';
import type { GroupRunner } from './group-commit.js';
import {
  checkChanged,
  stepsOf,
  type ReadRow,
  type SqlValue,
  type StatementName,
  type UpdateOp,
  type UpdateRunner,
} from './update-writes.js';

type Dialect = 'sqlite' | 'postgres';

const READ = `SELECT c.params AS params, c.used_version AS used_version, c.used_state AS used_state,
  s.version AS signed_version, s.state AS signed_state, g.version AS staged_version
  FROM perun_channel c
  LEFT JOIN perun_signed_state s ON s.channel_id = c.id
  LEFT JOIN perun_staged_state g ON g.channel_id = c.id
  WHERE c.id = ?`;

const TAKEN: Record<Dialect, string> = {
  sqlite: `SELECT payment_id FROM perun_payment
    WHERE channel_id = ? AND payment_id IN (SELECT value FROM json_each(?))`,
  postgres: `SELECT payment_id FROM perun_payment WHERE channel_id = ? AND payment_id = ANY(?::varchar[])`,
};

const NEXT_SEQ: Record<Dialect, string> = {
  sqlite: '(SELECT COALESCE(MAX(seq), 0) + 1 FROM perun_payment)',
  postgres: "nextval('perun_payment_seq')",
};

function writes(dialect: Dialect): Record<StatementName, string> {
  return {
    upsertSigned: `INSERT INTO perun_signed_state (channel_id, version, state, sigs) VALUES (?, ?, ?, ?)
      ON CONFLICT (channel_id) DO UPDATE
      SET version = excluded.version, state = excluded.state, sigs = excluded.sigs`,
    upsertStaged: `INSERT INTO perun_staged_state (channel_id, version, state, sigs, payments) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (channel_id) DO UPDATE
      SET version = excluded.version, state = excluded.state, sigs = excluded.sigs, payments = excluded.payments`,
    deleteStaged: 'DELETE FROM perun_staged_state WHERE channel_id = ?',
    touch: 'UPDATE perun_channel SET updated_at = ? WHERE id = ?',
    phase: 'UPDATE perun_channel SET phase = ?, updated_at = ? WHERE id = ?',
    used: 'UPDATE perun_channel SET used_version = ?, used_state = ?, updated_at = ? WHERE id = ?',
    payment: `INSERT INTO perun_payment
      (seq, channel_id, version, payer, payment_id, asset, amount, balances, paid_at)
      VALUES (${NEXT_SEQ[dialect]}, ?, ?, ?, ?, ?, ?, ?, ?)`,
  };
}

type Sqlite = BetterSqlite3.Database;

/** The statements that set a channel's `updated_at` as they run. */
const WRITES_UPDATED_AT: ReadonlySet<StatementName> = new Set(['touch', 'phase', 'used']);

/** Up to this many payment IDs are looked up one by one (a sequential payment has one). */
const FEW_IDS = 8;
type SqliteStatement = BetterSqlite3.Statement<unknown[]>;

export class SqliteUpdates implements UpdateRunner, GroupRunner {
  private readonly read: BetterSqlite3.Statement<[Hex], ReadRow>;
  private readonly taken: BetterSqlite3.Statement<[Hex, string], string>;
  /** One payment ID looked up on the log's unique index: cheaper than `taken` for a few IDs. */
  private readonly loggedId: BetterSqlite3.Statement<[Hex, string], number>;
  private readonly steps: Record<StatementName, SqliteStatement>;
  private readonly begin: SqliteStatement;
  private readonly commit: SqliteStatement;
  private readonly rollback: SqliteStatement;
  private readonly savepointStatements: Record<'open' | 'release' | 'rollbackTo', SqliteStatement>;
  private readonly newChannel: Record<'exists' | 'channel' | 'peer', SqliteStatement>;
  /**
   * The channel rows whose `updated_at` the transaction sets once, at its end (or its savepoint's),
   * to the time of the last op that asked: an update's signed and staged state each ask, and
   * every statement writes the row's page again. A statement that sets the time itself later in
   * the transaction takes the channel off the list.
   */
  private readonly touches = new Map<Hex, SqlValue[]>();

  constructor(readonly db: Sqlite) {
    this.read = db.prepare<[Hex], ReadRow>(READ);
    this.taken = db.prepare<[Hex, string], string>(TAKEN.sqlite).pluck();
    this.loggedId = db
      .prepare<[Hex, string], number>('SELECT 1 FROM perun_payment WHERE channel_id = ? AND payment_id = ?')
      .pluck();
    const sql = writes('sqlite');
    this.steps = Object.fromEntries(
      Object.entries(sql).map(([name, text]) => [name, db.prepare<unknown[]>(text)]),
    ) as Record<StatementName, SqliteStatement>;
    this.begin = db.prepare('BEGIN');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.newChannel = {
      exists: db.prepare('SELECT 1 FROM perun_channel WHERE id = ?'),
      channel: db.prepare(`INSERT INTO perun_channel
        (id, params, our_index, parent_id, phase, used_version, used_state, updated_at)
        VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)`),
      peer: db.prepare('INSERT INTO perun_channel_peer (channel_id, idx, peer_id) VALUES (?, ?, ?)'),
    };
    this.savepointStatements = {
      open: db.prepare('SAVEPOINT member'),
      release: db.prepare('RELEASE member'),
      rollbackTo: db.prepare('ROLLBACK TO member'),
    };
  }

  // No await inside: the read, the checks and every write of the op run in this one call.
  async apply(op: UpdateOp): Promise<void> {
    const row = op.read ? this.read.get(op.id) : undefined;
    const ids = op.read && row !== undefined ? op.paymentIds : [];
    const taken =
      ids.length <= FEW_IDS
        ? ids.filter((pid) => this.loggedId.get(op.id, pid) !== undefined)
        : this.taken.all(op.id, JSON.stringify(ids));
    for (const step of stepsOf(op, row, taken)) {
      if (step.name === 'touch' && !step.mustChange) {
        this.touches.set(op.id, step.params);
        continue;
      }
      checkChanged(op, step, this.steps[step.name].run(...step.params).changes);
      if (WRITES_UPDATED_AT.has(step.name)) this.touches.delete(op.id);
    }
  }

  /** Writes the touches the ops of the transaction (or of its savepoint) left for their end. */
  private touchChannels(): void {
    for (const params of this.touches.values()) this.steps.touch.run(...params);
    this.touches.clear();
  }

  /**
   * Inserts a new channel's row (`row`, checked by the caller) and one row per peer, as TypeORM's
   * entities would; false, nothing written, when the channel is already stored.
   */
  insertChannel(row: ChannelRow, peers: readonly string[]): boolean {
    if (this.newChannel.exists.get(row.id) !== undefined) return false;
    this.newChannel.channel.run(row.id, row.paramsJson, row.ourIndex, row.parentId, row.phase, row.updatedAt);
    peers.forEach((peerId, idx) => this.newChannel.peer.run(row.id, idx, peerId));
    return true;
  }

  /**
   * Runs `fn` as one SQLite transaction on the connection. The caller holds the DataSource's
   * `exclusive` turn; a transaction already open here means someone used the connection without.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.db.inTransaction) {
      throw new StoreUsageError(
        'a transaction is already open on the SQLite connection: every user of the DataSource must go through exclusive()',
      );
    }
    stage('store.begin');
    this.begin.run();
    try {
      const result = await fn();
      this.touchChannels();
      stage('store.commit');
      this.commit.run();
      stage('store.committed');
      return result;
    } catch (err) {
      this.touches.clear();
      if (this.db.inTransaction) this.rollback.run();
      throw err;
    }
  }

  // A group commit's member transactions (./group-commit.ts): one savepoint at a time.
  savepoint(): void {
    this.savepointStatements.open.run();
  }

  release(): void {
    this.touchChannels();
    this.savepointStatements.release.run();
  }

  rollbackToSavepoint(): void {
    this.touches.clear();
    this.savepointStatements.rollbackTo.run();
    this.savepointStatements.release.run();
  }

  inTransaction(): boolean {
    return this.db.inTransaction;
  }
}

/** What the runner needs of a pg client (the package's types are not a dependency). */
interface PgClient {
  query(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...` (none of the statements has a `?` in a literal). */
function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

// The lock is its own statement: a read that waited for it must see what the lock's previous
// holder committed, and a statement sees the rows of other tables as of its own start (READ
// COMMITTED), so the read after the lock is a new statement.
const PG: Record<'lock' | 'read' | 'taken' | StatementName, string> = Object.fromEntries(
  Object.entries({
    lock: 'SELECT 1 FROM perun_channel WHERE id = ? FOR UPDATE',
    read: READ,
    taken: TAKEN.postgres,
    ...writes('postgres'),
  }).map(([name, text]) => [name, numbered(text)]),
) as Record<'lock' | 'read' | 'taken' | StatementName, string>;

export class PgUpdates implements UpdateRunner {
  private constructor(private readonly client: PgClient) {}

  /** The runner on the connection of `queryRunner` (a TypeORM transaction's). */
  static async of(queryRunner: QueryRunner): Promise<PgUpdates> {
    return new PgUpdates((await queryRunner.connect()) as PgClient);
  }

  private run(name: keyof typeof PG, values: unknown[]) {
    return this.client.query({ name: `perun_update_${name}`, text: PG[name], values });
  }

  async apply(op: UpdateOp): Promise<void> {
    if (op.read) await this.run('lock', [op.id]);
    const row = op.read ? ((await this.run('read', [op.id])).rows[0] as ReadRow | undefined) : undefined;
    const ids = op.read && row !== undefined ? op.paymentIds : [];
    const taken =
      ids.length === 0 ? [] : (await this.run('taken', [op.id, ids])).rows.map((r) => String(r.payment_id));
    for (const step of stepsOf(op, row, taken)) {
      checkChanged(op, step, (await this.run(step.name, step.params)).rowCount ?? 0);
    }
  }
}
