// Mediation between real agents in this process (createPerunAgent, HTTP on 127.0.0.1): a mediator
// with its queue in its database, Alice with no inbound transport who is its recipient (pickup v2
// by our polling loop), and Bob. Alice's DIDs name the mediator's endpoint and routing key; Bob's lean path
// takes no lean peer for her (his channel messages go through Credo's pipeline, which wraps them
// in forwards), while hers to Bob take the lean path. A message the mediator hands out twice
// reaches Alice's replay guard and is dropped. The queue itself: order, redelivery of what was
// not acknowledged, recipients' keys, expiry, the bound per recipient, and a restart.
import {
  DidCommBasicMessageEventTypes,
  DidCommMediationRecipientApi,
  type DidCommBasicMessageStateChangedEvent,
  type DidCommConnectionRecord,
  type DidCommEncryptedMessage,
} from '@credo-ts/didcomm';
import type { AgentContext } from '@credo-ts/core';
import type { DataSource } from 'typeorm';
import { createPerunAgent, type PerunAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import {
  MediatorQueueFullError,
  REDELIVER_MS,
  TypeOrmMediatorQueue,
} from '../../src/agent/storage/mediator-queue.js';
import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import {
  ReplayEventTypes,
  type ReplayMessageDroppedEvent,
} from '../../src/protocols/replay/replay-events.js';
import type { MediationOptions } from '../../src/agent/credo/mediation.js';
import { startPickup } from '../../src/agent/credo/pickup.js';
import { configFlags } from '../../src/agent/cli/args.js';
import { initAgent, loadAgentConfig } from '../../src/agent/node/config.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Member {
  agent: PerunAgent;
  ds: DataSource;
}

const members: Member[] = [];

async function member(label: string, o: { http?: false; mediation?: (ds: DataSource) => MediationOptions }) {
  const ds = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${label} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = createPerunAgent({
    label,
    dataSource: ds,
    kms,
    ...(o.http === false ? { http: false } : {}),
    ...(o.mediation === undefined ? {} : { mediation: o.mediation(ds) }),
  });
  await agent.initialize();
  members.push({ agent, ds });
  return agent;
}

const endpointOf = (agent: PerunAgent) =>
  agent.didcomm.inboundTransports.find((t) => t instanceof HttpInboundTransport)!.endpoint!;

let queue: TypeOrmMediatorQueue;
let stopPickup: () => Promise<void>;
let mediator: PerunAgent;
let alice: PerunAgent;
let bob: PerunAgent;
let aliceToBob: DidCommConnectionRecord;
let bobToAlice: DidCommConnectionRecord;

describe('a recipient without inbound transport', () => {
  beforeAll(async () => {
    mediator = await member('Mediator', {
      mediation: (ds) => {
        queue = new TypeOrmMediatorQueue(ds, { keepMs: 3600_000 });
        return { role: 'mediator', queue };
      },
    });
    const invitation = await mediator.didcomm.oob.createInvitation({
      label: 'Mediator',
      multiUseInvitation: true,
    });
    const invitationUrl = invitation.outOfBandInvitation.toUrl({ domain: endpointOf(mediator) });
    alice = await member('Alice', {
      http: false,
      mediation: () => ({ role: 'recipient', invitationUrl }),
    });
    const [granted] = await alice.dependencyManager.resolve(DidCommMediationRecipientApi).getMediators();
    stopPickup = await startPickup(alice, granted!, { live: false, pollMs: 100, log: () => undefined });
    bob = await member('Bob', {});

    const oob = await alice.didcomm.oob.createInvitation({ label: 'Alice' });
    const url = oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' });
    const { connectionRecord } = await bob.didcomm.oob.receiveInvitationFromUrl(url, { label: 'Bob' });
    bobToAlice = await bob.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, {
      timeoutMs: 20_000,
    });
    const [pending] = await alice.didcomm.connections.findAllByOutOfBandId(oob.id);
    aliceToBob = await alice.didcomm.connections.returnWhenIsConnected(pending!.id, { timeoutMs: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await stopPickup();
    for (const m of members.reverse()) {
      await m.agent.shutdown();
      await m.ds.destroy();
    }
  });

  it('names the mediator in its DIDs: endpoint and routing key', async () => {
    expect(alice.didcomm.inboundTransports).toEqual([]);
    const [record] = await alice.dependencyManager.resolve(DidCommMediationRecipientApi).getMediators();
    expect(record).toMatchObject({ state: 'granted', endpoint: endpointOf(mediator) });
    const services = (await bob.dids.resolveDidDocument(bobToAlice.theirDid!)).didCommServices;
    expect(services.map((s) => s.serviceEndpoint)).toEqual([endpointOf(mediator)]);
    expect(services[0]!.routingKeys).toHaveLength(1);
  });

  it('is no lean peer of Bob (his channel messages take Credo’s forwards); Bob is hers', async () => {
    expect(await bob.modules.perun.lean!.peerOf(bobToAlice)).toBeUndefined();
    expect(await alice.modules.perun.lean!.peerOf(aliceToBob)).toMatchObject({
      endpoint: endpointOf(bob),
      scheme: 'http',
    });
  });

  it('gets a message the mediator hands out twice once: the replay guard drops the second', async () => {
    const forwarded: DidCommEncryptedMessage[] = [];
    const add = queue.addMessage.bind(queue);
    queue.addMessage = async (ctx: AgentContext, o: Parameters<TypeOrmMediatorQueue['addMessage']>[1]) => {
      forwarded.push(o.payload);
      return add(ctx, o);
    };
    const received: string[] = [];
    let arrivedTwice = () => {};
    const twice = new Promise<string>((resolve) => (arrivedTwice = () => resolve('received twice')));
    const onMessage = (e: DidCommBasicMessageStateChangedEvent) => {
      received.push(e.payload.basicMessageRecord.content);
      if (received.length > 1) arrivedTwice();
    };
    alice.events.on(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, onMessage);
    const dropped = new Promise<ReplayMessageDroppedEvent['payload']>((resolve) =>
      alice.events.on(ReplayEventTypes.MessageDropped, (e: ReplayMessageDroppedEvent) => resolve(e.payload)),
    );
    try {
      const before = { ...queue.stats };
      await bob.didcomm.basicMessages.sendMessage(bobToAlice.id, 'through the mediator');
      await until(() => received.length === 1);
      expect(queue.stats.forwarded - before.forwarded).toBe(1);
      await until(() => queue.waiting === 0);
      expect(queue.stats.delivered).toBe(queue.stats.forwarded);

      const [mediation] = await mediator.didcomm.connections.getAll();
      await add(mediator.context, { connectionId: mediation!.id, recipientDids: [], payload: forwarded[0]! });
      expect(await Promise.race([dropped, twice])).toMatchObject({
        connectionId: aliceToBob.id,
        reason: 'repeat',
      });
      expect(received).toEqual(['through the mediator']);
    } finally {
      queue.addMessage = add;
      alice.events.off(DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged, onMessage);
    }
  });
});

describe('the mediator queue', () => {
  const KEEP_MS = 10 * REDELIVER_MS;
  const ctx = {} as AgentContext;
  const envelope = (n: number) => ({ protected: `p${n}`, iv: 'iv', ciphertext: 'c', tag: 't' });
  let ds: DataSource;
  let now: number;
  const make = (maxPerConnection?: number) =>
    new TypeOrmMediatorQueue(ds, {
      keepMs: KEEP_MS,
      now: () => now,
      ...(maxPerConnection ? { maxPerConnection } : {}),
    });

  beforeEach(async () => {
    ds = await openAgentStore(':memory:');
    now = 1_000_000;
  });
  afterEach(() => ds.destroy());

  it('hands out oldest first, again when not acknowledged, and forgets what was acknowledged', async () => {
    const q = make();
    for (const n of [1, 2]) {
      await q.addMessage(ctx, { connectionId: 'a', recipientDids: ['did:key:x'], payload: envelope(n) });
      now += 1;
    }
    await q.addMessage(ctx, { connectionId: 'b', recipientDids: ['did:key:y'], payload: envelope(3) });
    const taken = await q.takeFromQueue(ctx, { connectionId: 'a', limit: 5 });
    expect(taken.map((m) => m.encryptedMessage)).toEqual([envelope(1), envelope(2)]);
    expect(await q.getAvailableMessageCount(ctx, { connectionId: 'a' })).toBe(0);
    now += REDELIVER_MS + 1;
    expect(await q.getAvailableMessageCount(ctx, { connectionId: 'a' })).toBe(2);
    await q.removeMessages(ctx, { connectionId: 'a', messageIds: taken.map((m) => m.id) });
    expect(await q.getAvailableMessageCount(ctx, { connectionId: 'a' })).toBe(0);
    expect(q.stats).toEqual({ forwarded: 3, delivered: 2, refused: 0 });
    expect(q.waiting).toBe(1);
  });

  it('hands out by recipient key, and deletes at once when asked', async () => {
    const q = make();
    await q.addMessage(ctx, { connectionId: 'a', recipientDids: ['did:key:x'], payload: envelope(1) });
    await q.addMessage(ctx, { connectionId: 'a', recipientDids: ['did:key:y'], payload: envelope(2) });
    const taken = await q.takeFromQueue(ctx, {
      connectionId: 'a',
      recipientDid: 'did:key:y',
      deleteMessages: true,
    });
    expect(taken.map((m) => m.encryptedMessage)).toEqual([envelope(2)]);
    now += REDELIVER_MS + 1;
    expect(await q.getAvailableMessageCount(ctx, { connectionId: 'a', recipientDid: 'did:key:y' })).toBe(0);
    expect(await q.getAvailableMessageCount(ctx, { connectionId: 'a' })).toBe(1);
  });

  it('keeps a message keepMs at most, and refuses beyond the bound per recipient', async () => {
    const q = make(2);
    await q.addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(1) });
    await q.addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(2) });
    await expect(
      q.addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(3) }),
    ).rejects.toThrow(MediatorQueueFullError);
    expect(q.stats.refused).toBe(1);
    now += KEEP_MS + 1;
    expect(await q.getAvailableMessageCount(ctx, { connectionId: 'a' })).toBe(0);
    await q.addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(4) });
    const taken = await q.takeFromQueue(ctx, { connectionId: 'a' });
    expect(taken.map((m) => m.encryptedMessage)).toEqual([envelope(4)]);
    expect(q.waiting).toBe(1);
  });

  it('refuses beyond the bytes per recipient', async () => {
    const bytes = Buffer.byteLength(JSON.stringify(envelope(1)));
    const q = new TypeOrmMediatorQueue(ds, { keepMs: KEEP_MS, maxBytesPerConnection: 2 * bytes });
    await q.addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(1) });
    await q.addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(2) });
    await expect(
      q.addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(3) }),
    ).rejects.toThrow(MediatorQueueFullError);
    await q.addMessage(ctx, { connectionId: 'b', recipientDids: [], payload: envelope(3) });
    expect(q.stats).toMatchObject({ forwarded: 3, refused: 1 });
  });

  it('keeps what waits across a restart', async () => {
    await make().addMessage(ctx, { connectionId: 'a', recipientDids: [], payload: envelope(1) });
    const again = make();
    await again.load();
    expect(again.waiting).toBe(1);
    expect((await again.takeFromQueue(ctx, { connectionId: 'a' })).map((m) => m.encryptedMessage)).toEqual([
      envelope(1),
    ]);
  });
});

describe('the configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perun-mediation-config-'));
    await initAgent({ dataDir: dir, passphrase: 'p', scrypt: { N: 2 ** 12 } });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the flags, the environment and the file', () => {
    expect(
      configFlags(
        {
          mediator: true,
          inbound: false,
          mediatorInvitation: 'http://m?oob=x',
          mediatorPoll: '3',
          didcommWsPort: '0',
        },
        dir,
      ),
    ).toEqual({
      mediator: true,
      inbound: false,
      mediatorInvitation: 'http://m?oob=x',
      mediatorPollSeconds: 3,
      didcommWsPort: 0,
    });
    const c = loadAgentConfig({
      dataDir: dir,
      env: {
        PERUN_MEDIATOR_INVITATION: 'http://m?oob=x',
        PERUN_INBOUND: 'false',
        PERUN_MEDIATOR_POLL_SECONDS: '5',
      },
    });
    expect(c).toMatchObject({ mediatorInvitation: 'http://m?oob=x', inbound: false, mediatorPollSeconds: 5 });
  });

  it.each([
    [{ inbound: false }, 'inbound'],
    [{ mediator: true, inbound: false }, 'inbound'],
    [{ mediator: true, mediatorInvitation: 'http://m?oob=x' }, 'mediatorInvitation'],
  ])('refuses %j', (flags, field) => {
    expect(() => loadAgentConfig({ dataDir: dir, flags })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', details: expect.objectContaining({ field }) }),
    );
  });

  it('gives a mediator made by init a WebSocket listener', async () => {
    const m = join(dir, 'mediator');
    await initAgent({ dataDir: m, passphrase: 'p', scrypt: { N: 2 ** 12 }, overrides: { mediator: true } });
    const c = loadAgentConfig({ dataDir: m });
    expect(c.mediator).toBe(true);
    expect(c.didcommWsPort).toBeGreaterThan(0);
  });
});

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
