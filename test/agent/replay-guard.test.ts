// The replay guard alone (src/protocols/replay/replay-guard.ts) on a recording store and on the
// agent's database (src/agent/storage/inbound-messages.ts): a repeat is told per connection, the
// bound (count per connection, age) evicts the oldest and the store forgets them too, IDs are
// written behind in batches and not per message, a failed write is retried with the next, and
// what was written is loaded again by a new guard.
import { createPerunAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import {
  EVICT_SQL,
  INBOUND_MESSAGE_EVICTION_INDEX,
  INBOUND_MESSAGE_TABLE,
  TypeOrmReplayStore,
} from '../../src/agent/storage/inbound-messages.js';
import {
  DidCommBasicMessage,
  DidCommInboundMessageContext,
  DidCommMessageHandlerRegistry,
} from '@credo-ts/didcomm';
import {
  ReplayGuard,
  WRITE_BEHIND_BATCH,
  type ReplayStore,
  type SeenMessage,
} from '../../src/protocols/replay/replay-guard.js';
import { replayMiddleware } from '../../src/protocols/replay/replay-module.js';
import { versionGuarded } from '../../src/protocols/perun/lean/lean-path.js';

class RecordingStore implements ReplayStore {
  rows: SeenMessage[] = [];
  writes: Parameters<ReplayStore['write']>[0][] = [];
  failNext = false;

  async load(since: number): Promise<SeenMessage[]> {
    return this.rows.filter((r) => r.seenAt >= since);
  }

  async write(change: Parameters<ReplayStore['write']>[0]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.writes.push(change);
    this.rows.push(...change.add);
    for (const e of change.evicted)
      this.rows = this.rows.filter((r) => r.connectionId !== e.connectionId || r.seenAt >= e.before);
    this.rows = this.rows.filter((r) => r.seenAt >= change.expiredBefore);
  }
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

it('tells a repeat per connection, writes behind in batches, and a new guard loads what was written', async () => {
  const store = new RecordingStore();
  const guard = new ReplayGuard(store, { now: clock().now });
  expect(guard.admit('c1', 'm1')).toBe(true);
  expect(guard.admit('c1', 'm1')).toBe(false);
  expect(guard.admit('c2', 'm1')).toBe(true);
  expect(guard.repeats).toBe(1);
  expect(store.writes).toHaveLength(0);

  await guard.flush();
  expect(store.writes).toHaveLength(1);
  expect(store.rows.map((r) => `${r.connectionId}/${r.messageId}`)).toEqual(['c1/m1', 'c2/m1']);

  for (let i = 0; i < WRITE_BEHIND_BATCH - 1; i++) guard.admit('c3', `n${i}`);
  expect(store.writes).toHaveLength(1);
  guard.admit('c3', 'last');
  await guard.flush();
  // The full batch went as one write; the flush after it had nothing left.
  expect(store.writes.map((w) => w.add.length)).toEqual([2, WRITE_BEHIND_BATCH]);
  await guard.close();

  const again = new ReplayGuard(store, { now: clock().now });
  await again.load();
  expect(again.admit('c1', 'm1')).toBe(false);
  expect(again.admit('c3', 'last')).toBe(false);
  expect(again.admit('c1', 'm2')).toBe(true);
});

it('keeps at most its bound per connection and for its retention; the store forgets the evicted', async () => {
  const store = new RecordingStore();
  const c = clock();
  const guard = new ReplayGuard(store, { perConnection: 3, retentionMs: 1000, now: c.now });
  for (const id of ['a', 'b', 'c', 'd']) {
    guard.admit('c1', id);
    c.t += 1;
  }
  guard.admit('c2', 'a');
  await guard.flush();
  expect(guard.admit('c1', 'a')).toBe(true); // evicted: new again, and 'b' goes
  expect(guard.admit('c1', 'd')).toBe(false);
  expect(guard.admit('c2', 'a')).toBe(false);
  await guard.flush();
  expect(store.rows.filter((r) => r.connectionId === 'c1').map((r) => r.messageId)).toEqual(['c', 'd', 'a']);

  c.t += 2000;
  expect(guard.admit('c2', 'a')).toBe(true); // past the retention: new again
  await guard.flush();
  expect(store.rows.map((r) => `${r.connectionId}/${r.messageId}`)).toEqual(['c2/a']);
});

it('keeps IDs whose write failed and writes them with the next batch', async () => {
  const store = new RecordingStore();
  const errors: unknown[] = [];
  const guard = new ReplayGuard(store, { now: clock().now, onError: (e) => errors.push(e) });
  guard.admit('c1', 'm1');
  store.failNext = true;
  await expect(guard.flush()).rejects.toThrow('disk full');
  expect(errors).toHaveLength(1);
  expect(guard.admit('c1', 'm1')).toBe(false);
  guard.admit('c1', 'm2');
  await guard.flush();
  expect(store.rows.map((r) => r.messageId)).toEqual(['m1', 'm2']);
});

it('the middleware drops a repeat, an expired message and one sent before the retention; only other messages wait for the store', async () => {
  const store = new RecordingStore();
  const c = clock(Date.now());
  const told: string[] = [];
  const guard = new ReplayGuard(store, {
    retentionMs: 60_000,
    now: c.now,
    onDropped: (d) => told.push(`${d.connectionId}/${d.messageId}: ${d.reason}`),
  });
  const middleware = replayMiddleware(guard, versionGuarded, c.now);
  const handled: string[] = [];
  const emitted: unknown[] = [];
  const events = { emit: (_: unknown, e: { type: string; payload: unknown }) => emitted.push(e) };
  const run = async (message: DidCommBasicMessage, connectionId = 'c1') => {
    const ctx = new DidCommInboundMessageContext(message, {
      agentContext: { resolve: () => events } as never,
      connection: { id: connectionId } as never,
    });
    await middleware(ctx, async () => {
      handled.push(`${connectionId}/${message.id}`);
    });
  };
  const message = (id: string, timing?: { outTime?: Date; expiresTime?: Date }) => {
    const m = new DidCommBasicMessage({ id, content: 'hi' });
    if (timing !== undefined) m.setTiming(timing);
    return m;
  };

  await run(message('id-00001'));
  // A basic message is not version-guarded: its ID was durable before the handler ran.
  expect(store.rows.map((r) => r.messageId)).toEqual(['id-00001']);
  await run(message('id-00001'));
  await run(message('id-00001'), 'c2');
  await run(message('id-00002', { expiresTime: new Date(c.t - 1) }));
  await run(message('id-00003', { outTime: new Date(c.t - 120_000) }));
  await run(message('id-00004', { outTime: new Date(c.t - 1000), expiresTime: new Date(c.t + 1000) }));
  expect(handled).toEqual(['c1/id-00001', 'c2/id-00001', 'c1/id-00004']);
  const drops = ['c1/id-00001: repeat', 'c1/id-00002: expired', 'c1/id-00003: too-old'];
  expect(told).toEqual(drops);
  expect(emitted).toEqual(
    drops.map((d) => {
      const [connectionId, messageId, reason] = d.split(/\/|: /);
      return { type: 'PerunReplayMessageDropped', payload: { connectionId, messageId, reason } };
    }),
  );
  expect(versionGuarded('https://didcomm.org/basicmessage/1.0/message')).toBe(false);
});

it('stores the IDs in the agent database, whose schema is exactly what the entities describe', async () => {
  const ds = await openAgentStore(':memory:');
  try {
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    const store = new TypeOrmReplayStore(ds);
    const c = clock();
    const guard = new ReplayGuard(store, { perConnection: 2, retentionMs: 1000, now: c.now });
    for (const id of ['a', 'b', 'c']) {
      guard.admit('c1', id);
      c.t += 1;
    }
    for (let i = 0; i < 300; i++) guard.admit('c2', `m${i}`);
    await guard.flush();
    const rows = (await ds.query(
      `SELECT connection_id, message_id FROM ${INBOUND_MESSAGE_TABLE} WHERE connection_id = 'c1' ORDER BY message_id`,
    )) as Array<{ message_id: string }>;
    expect(rows.map((r) => r.message_id)).toEqual(['b', 'c']);

    const again = new ReplayGuard(store, { perConnection: 2, retentionMs: 1000, now: c.now });
    await again.load();
    expect(again.admit('c1', 'c')).toBe(false);
    expect(again.admit('c2', 'm299')).toBe(false);
    expect(again.admit('c1', 'a')).toBe(true);

    c.t += 5000;
    const later = new ReplayGuard(store, { retentionMs: 1000, now: c.now });
    await later.load();
    expect(later.admit('c1', 'c')).toBe(true);
    expect(await ds.query(`SELECT COUNT(*) AS n FROM ${INBOUND_MESSAGE_TABLE}`)).toEqual([{ n: 0 }]);
  } finally {
    await ds.destroy();
  }
});

it('a connection past its bound loses its oldest IDs by an index search, not a read of all it holds', async () => {
  const ds = await openAgentStore(':memory:');
  try {
    const store = new TypeOrmReplayStore(ds);
    const c = clock();
    const guard = new ReplayGuard(store, { perConnection: 300, now: c.now });
    for (let i = 0; i < 400; i++) {
      guard.admit(i % 4 === 0 ? 'c2' : 'c1', `m${i}`);
      c.t += 1;
    }
    await guard.flush();
    await ds.query('ANALYZE');
    const plan = (await ds.query(`EXPLAIN QUERY PLAN ${EVICT_SQL}`, ['c1', c.t])) as { detail: string }[];
    expect(plan.map((p) => p.detail)).toEqual([
      `SEARCH ${INBOUND_MESSAGE_TABLE} USING INDEX ${INBOUND_MESSAGE_EVICTION_INDEX} (connection_id=? AND seen_at<?)`,
    ]);

    for (let i = 400; i < 500; i++) {
      guard.admit('c1', `m${i}`);
      c.t += 1;
    }
    await guard.flush();
    const kept = (await ds.query(
      `SELECT connection_id AS c, COUNT(*) AS n FROM ${INBOUND_MESSAGE_TABLE} GROUP BY connection_id ORDER BY c`,
    )) as Array<{ c: string; n: number }>;
    expect(kept.map((k) => [k.c, k.n])).toEqual([
      ['c1', 300],
      ['c2', 100],
    ]);
    expect(guard.admit('c1', 'm1')).toBe(true);
    expect(guard.admit('c1', 'm499')).toBe(false);
  } finally {
    await ds.destroy();
  }
});

it('an agent registers its guard for the lean path and the middleware for Credo’s pipeline', async () => {
  const ds = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: 'replay',
    scrypt: { N: 2 ** 12 },
  });
  const logged: string[] = [];
  const agent = createPerunAgent({
    label: 'replay',
    dataSource: ds,
    kms,
    http: { log: (l) => logged.push(l) },
  });
  try {
    await agent.initialize();
    const guard = agent.dependencyManager.resolve(ReplayGuard);
    expect(guard).toBeInstanceOf(ReplayGuard);
    expect(
      agent.dependencyManager.resolve(DidCommMessageHandlerRegistry).messageHandlerMiddlewares,
    ).toHaveLength(1);
    // A drop goes to the agent's log (rate-limited like the transports' refusals), never a body.
    guard.dropped(agent.context, { connectionId: 'c1', messageId: 'm-000001', reason: 'repeat' });
    guard.dropped(agent.context, { connectionId: 'c1', messageId: 'm-000002', reason: 'expired' });
    expect(logged).toEqual([
      'didcomm inbound: dropped connection c1: a replay of message m-000001',
      'didcomm inbound: dropped connection c1: message m-000002 is expired',
    ]);
  } finally {
    await agent.shutdown();
    await ds.destroy();
  }
});
