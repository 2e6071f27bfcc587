// Group commit for the channel store on SQLite: the store's transactions that wait for the
// connection while one runs are run together in the next turn, each under a savepoint of its own
// inside one SQLite transaction, and committed (one fsync) together. Each caller's promise
// settles only after that commit, so nothing a caller does after its write (a signature sent)
// happens before the write is durable. A transaction that throws is rolled back to its savepoint
// (its writes undone, the others' kept) and its caller gets its error; a failed commit, or an
// SQLite error that ended the whole transaction, fails every caller of the group and stores
// nothing of it. Within a group each transaction sees the writes of those before it, as it would
// have after their commits. A transaction alone in its group runs without a savepoint (most of
// them when nothing else waits): its error rolls the SQLite transaction back.

/** Where a group runs: one SQLite transaction on the connection, a savepoint per member. */
export interface GroupRunner {
  /** Runs `fn` as one transaction: BEGIN, fn, COMMIT (ROLLBACK if fn throws). */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  savepoint(): void;
  /** Keeps the savepoint's writes. */
  release(): void;
  /** Undoes the savepoint's writes and drops it. */
  rollbackToSavepoint(): void;
  /** Whether the connection is still inside the transaction. */
  inTransaction(): boolean;
}

interface Member {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  #waiting: Member[] = [];

  /**
   * `turn` runs its argument in the connection's next exclusive turn; `runner` gives the group's
   * runner within that turn.
   */
  constructor(
    private readonly turn: (fn: () => Promise<void>) => Promise<void>,
    private readonly runner: () => GroupRunner,
  ) {}

  /** Runs `run` as part of the next group; resolves with its result once the group committed. */
  run<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ run, resolve: resolve as (value: unknown) => void, reject });
      // The first to wait books the turn after the event loop's current round (the messages that
      // came in together are handled up to their writes by then); those after it, until the turn
      // starts, join its group.
      if (this.#waiting.length === 1)
        setImmediate(() => {
          this.turn(() => this.#commitWaiting()).catch(() => undefined);
        });
    });
  }

  async #commitWaiting(): Promise<void> {
    const group = this.#waiting;
    this.#waiting = [];
    let outcomes: Outcome[];
    try {
      const runner = this.runner();
      outcomes = await runner.transaction(() =>
        group.length === 1 ? runAlone(group[0]!) : runMembers(runner, group),
      );
    } catch (error) {
      for (const m of group) m.reject(error);
      return;
    }
    outcomes.forEach((o, i) => (o.ok ? group[i]!.resolve(o.value) : group[i]!.reject(o.error)));
  }
}

/** A group of one needs no savepoint: if it throws, the whole transaction is rolled back. */
async function runAlone(m: Member): Promise<Outcome[]> {
  return [{ ok: true, value: await m.run() }];
}

async function runMembers(runner: GroupRunner, group: Member[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const m of group) {
    runner.savepoint();
    try {
      const value = await m.run();
      runner.release();
      outcomes.push({ ok: true, value });
    } catch (error) {
      // An error that ended the transaction (SQLite rolls back on some): the members before
      // lost their writes too, and those after must not run outside it.
      if (!runner.inTransaction()) throw error;
      runner.rollbackToSavepoint();
      outcomes.push({ ok: false, error });
    }
  }
  return outcomes;
}
