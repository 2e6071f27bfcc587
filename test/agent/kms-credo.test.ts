/**
 * The KMS inside real Credo agents: two in-process agents (Credo core + DidCommModule) on
 * PerunKeyManagementService, an in-memory StorageService written here, and an in-memory
 * "transport" that hands packed envelopes to the other agent's message receiver. Checks:
 * - Credo's own DidCommEnvelopeService packs (authcrypt and anoncrypt) and unpacks between them;
 * - a full out-of-band invitation + DID exchange + basic message exchange (did:peer keys,
 *   signed DID document attachment, packed envelopes both ways).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Agent,
  type AgentContext,
  ConsoleLogger,
  LogLevel,
  type BaseRecord,
  type BaseRecordConstructor,
  DependencyManager,
  InjectionSymbols,
  JsonTransformer,
  Kms,
  type Query,
  RecordDuplicateError,
  RecordNotFoundError,
  type StorageService,
  StorageVersionRecord,
} from '@credo-ts/core';
import {
  DidCommBasicMessage,
  type DidCommBasicMessageStateChangedEvent,
  DidCommBasicMessageEventTypes,
  DidCommEnvelopeService,
  DidCommMessageReceiver,
  DidCommModule,
  type DidCommOutboundPackage,
  type DidCommOutboundTransport,
} from '@credo-ts/didcomm';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { createAgentDependencies } from '../../src/agent/credo/dependencies.js';
import { InMemoryKmsKeyStorage, createPerunKmsModule } from '../../src/agent/kms/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRecord = BaseRecord<any, any, any>;
type Tags = Record<string, unknown>;

/** Just enough of Credo's StorageService for these tests, in a Map per agent context. */
class TestStorageService implements StorageService<AnyRecord> {
  supportsCursorPagination = false;
  private readonly buckets = new Map<string, Map<string, { type: string; value: unknown; tags: Tags }>>();

  private bucket(agentContext: AgentContext) {
    let bucket = this.buckets.get(agentContext.contextCorrelationId);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(agentContext.contextCorrelationId, bucket);
      // An empty store must say it is at the current framework version, or Credo migrates it.
      const version = new StorageVersionRecord({
        storageVersion: StorageVersionRecord.frameworkStorageVersion,
      });
      bucket.set(`${version.type}:${version.id}`, {
        type: version.type,
        value: JsonTransformer.toJSON(version),
        tags: version.getTags(),
      });
    }
    return bucket;
  }

  async save(agentContext: AgentContext, record: AnyRecord): Promise<void> {
    record.updatedAt = record.updatedAt ?? new Date();
    const key = `${record.type}:${record.id}`;
    const bucket = this.bucket(agentContext);
    if (bucket.has(key)) throw new RecordDuplicateError(`record ${key} exists`, { recordType: record.type });
    bucket.set(key, { type: record.type, value: JsonTransformer.toJSON(record), tags: record.getTags() });
  }

  async update(agentContext: AgentContext, record: AnyRecord): Promise<void> {
    const key = `${record.type}:${record.id}`;
    const bucket = this.bucket(agentContext);
    if (!bucket.has(key))
      throw new RecordNotFoundError(`record ${key} not found`, { recordType: record.type });
    record.updatedAt = new Date();
    bucket.set(key, { type: record.type, value: JsonTransformer.toJSON(record), tags: record.getTags() });
  }

  async delete(agentContext: AgentContext, record: AnyRecord): Promise<void> {
    if (!this.bucket(agentContext).delete(`${record.type}:${record.id}`)) {
      throw new RecordNotFoundError(`record ${record.id} not found`, { recordType: record.type });
    }
  }

  async deleteById(agentContext: AgentContext, recordClass: BaseRecordConstructor<AnyRecord>, id: string) {
    if (!this.bucket(agentContext).delete(`${recordClass.type}:${id}`)) {
      throw new RecordNotFoundError(`record ${id} not found`, { recordType: recordClass.type });
    }
  }

  async getById(agentContext: AgentContext, recordClass: BaseRecordConstructor<AnyRecord>, id: string) {
    const entry = this.bucket(agentContext).get(`${recordClass.type}:${id}`);
    if (!entry) throw new RecordNotFoundError(`record ${id} not found`, { recordType: recordClass.type });
    return this.toRecord(recordClass, entry);
  }

  async getAll(agentContext: AgentContext, recordClass: BaseRecordConstructor<AnyRecord>) {
    return [...this.bucket(agentContext).values()]
      .filter((entry) => entry.type === recordClass.type)
      .map((entry) => this.toRecord(recordClass, entry));
  }

  async findByQuery(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<AnyRecord>,
    query: Query<AnyRecord>,
  ): Promise<AnyRecord[]> {
    return [...this.bucket(agentContext).values()]
      .filter((entry) => entry.type === recordClass.type && matches(entry.tags, query as Tags))
      .map((entry) => this.toRecord(recordClass, entry));
  }

  private toRecord(recordClass: BaseRecordConstructor<AnyRecord>, entry: { value: unknown; tags: Tags }) {
    const record = JsonTransformer.fromJSON(entry.value, recordClass);
    record.replaceTags(entry.tags as never);
    return record;
  }
}

function matches(tags: Tags, query: Tags): boolean {
  for (const [name, expected] of Object.entries(query)) {
    if (expected === undefined) continue;
    if (name === '$and') {
      if (!(expected as Tags[]).every((q) => matches(tags, q))) return false;
    } else if (name === '$or') {
      if (!(expected as Tags[]).some((q) => matches(tags, q))) return false;
    } else if (name === '$not') {
      if (matches(tags, expected as Tags)) return false;
    } else {
      const actual = tags[name];
      if (Array.isArray(expected)) {
        if (!Array.isArray(actual) || !expected.every((value) => actual.includes(value))) return false;
      } else if (expected === null) {
        if (actual !== undefined && actual !== null) return false;
      } else if (actual !== expected) {
        return false;
      }
    }
  }
  return true;
}

/** Delivers packed envelopes to the agent registered for the endpoint, asynchronously. */
class InMemoryOutboundTransport implements DidCommOutboundTransport {
  supportedSchemes = ['mem'];
  constructor(
    private readonly agents: Map<string, Agent>,
    private readonly errors: unknown[],
  ) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async sendMessage(outboundPackage: DidCommOutboundPackage): Promise<void> {
    const target = outboundPackage.endpoint ? this.agents.get(outboundPackage.endpoint) : undefined;
    if (!target) throw new Error(`no agent at ${outboundPackage.endpoint}`);
    setImmediate(() => {
      target.dependencyManager
        .resolve(DidCommMessageReceiver)
        .receiveMessage(outboundPackage.payload)
        .catch((error: unknown) => this.errors.push(error));
    });
  }
}

describe('PerunKeyManagementService inside Credo agents', () => {
  const agents = new Map<string, Agent>();
  const transportErrors: unknown[] = [];
  let dataDir: string;
  let alice: Agent;
  let bob: Agent;

  async function makeAgent(name: string): Promise<Agent> {
    const { module } = await createPerunKmsModule({
      storage: new InMemoryKmsKeyStorage(),
      passphrase: `${name} passphrase`,
      scrypt: { N: 2 ** 12 },
    });
    const dependencyManager = new DependencyManager();
    dependencyManager.registerInstance(InjectionSymbols.StorageService, new TestStorageService());
    const endpoint = `mem://${name}`;
    const agent = new Agent(
      {
        config: process.env.KMS_TEST_LOG ? { logger: new ConsoleLogger(LogLevel.debug) } : {},
        dependencies: createAgentDependencies(path.join(dataDir, name)),
        modules: {
          kms: module,
          didcomm: new DidCommModule({
            endpoints: [endpoint],
            transports: { outbound: [new InMemoryOutboundTransport(agents, transportErrors)] },
            connections: { autoAcceptConnections: true },
            credentials: false,
            proofs: false,
            mediator: false,
            mediationRecipient: false,
            messagePickup: false,
          }),
        },
      },
      dependencyManager,
    );
    await agent.initialize();
    agents.set(endpoint, agent);
    return agent;
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'perun-kms-credo-'));
    alice = await makeAgent('alice');
    bob = await makeAgent('bob');
  });

  afterAll(async () => {
    for (const agent of agents.values()) await agent.shutdown();
    await rm(dataDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(transportErrors).toEqual([]);
  });

  it('packs with Credo’s DidCommEnvelopeService at Alice and unpacks at Bob (authcrypt and anoncrypt)', async () => {
    // Bob's recipient key comes from an out-of-band invitation (Credo creates it through the KMS).
    const bobOob = await bob.modules.didcomm.oob.createInvitation();
    const bobKey = bobOob.outOfBandInvitation.getInlineServices()[0]?.recipientKeys[0];
    expect(bobKey).toBeDefined();
    const bobRecipient = Kms.PublicJwk.fromFingerprint(String(bobKey).replace('did:key:', ''));

    const aliceKms = alice.context.resolve(Kms.KeyManagementApi);
    const created = await aliceKms.createKey({ type: { kty: 'OKP', crv: 'Ed25519' } });
    const aliceSender = Kms.PublicJwk.fromPublicJwk(created.publicJwk);

    const message = new DidCommBasicMessage({ content: 'packed by Alice’s KMS', sentTime: new Date() });
    const aliceEnvelope = alice.dependencyManager.resolve(DidCommEnvelopeService);
    const bobEnvelope = bob.dependencyManager.resolve(DidCommEnvelopeService);

    const authcrypt = await aliceEnvelope.packMessage(alice.context, message, {
      recipientKeys: [bobRecipient as Kms.PublicJwk<Kms.Ed25519PublicJwk>],
      routingKeys: [],
      senderKey: aliceSender as Kms.PublicJwk<Kms.Ed25519PublicJwk>,
    });
    const header = JSON.parse(Buffer.from(authcrypt.protected, 'base64url').toString('utf8'));
    expect(header).toMatchObject({ alg: 'Authcrypt', enc: 'xchacha20poly1305_ietf', typ: 'JWM/1.0' });
    const unpacked = await bobEnvelope.unpackMessage(bob.context, authcrypt);
    expect(unpacked.plaintextMessage).toMatchObject({
      '@type': message.type,
      content: 'packed by Alice’s KMS',
    });
    expect(unpacked.senderKey?.fingerprint).toBe(aliceSender.fingerprint);
    expect(unpacked.recipientKey.fingerprint).toBe(bobRecipient.fingerprint);

    const anoncrypt = await aliceEnvelope.packMessage(alice.context, message, {
      recipientKeys: [bobRecipient as Kms.PublicJwk<Kms.Ed25519PublicJwk>],
      routingKeys: [],
      senderKey: null,
    });
    const anon = await bobEnvelope.unpackMessage(bob.context, anoncrypt);
    expect(anon.senderKey).toBeUndefined();
    expect(anon.plaintextMessage).toMatchObject({ content: 'packed by Alice’s KMS' });

    // A tampered ciphertext is refused by the content encryption (C20P tag).
    const ciphertext = Buffer.from(authcrypt.ciphertext, 'base64url');
    ciphertext[0] = (ciphertext[0] ?? 0) ^ 0x01;
    await expect(
      bobEnvelope.unpackMessage(bob.context, { ...authcrypt, ciphertext: ciphertext.toString('base64url') }),
    ).rejects.toThrow(/does not authenticate/);
  });

  it('connects by out-of-band invitation and DID exchange, then exchanges basic messages both ways', async () => {
    const bobOob = await bob.modules.didcomm.oob.createInvitation({ label: 'bob' });
    const { connectionRecord } = await alice.modules.didcomm.oob.receiveInvitation(
      bobOob.outOfBandInvitation,
      {
        label: 'alice',
      },
    );
    expect(connectionRecord).toBeDefined();
    const aliceConnection = await alice.modules.didcomm.connections.returnWhenIsConnected(
      connectionRecord?.id as string,
      { timeoutMs: 20_000 },
    );
    const [bobSide] = await bob.modules.didcomm.connections.findAllByOutOfBandId(bobOob.id);
    const bobConnection = await bob.modules.didcomm.connections.returnWhenIsConnected(bobSide?.id as string, {
      timeoutMs: 20_000,
    });
    expect(aliceConnection.theirDid).toBe(bobConnection.did);
    expect(bobConnection.theirDid).toBe(aliceConnection.did);

    const received = (agent: Agent, content: string) =>
      firstValueFrom(
        agent.events
          .observable<DidCommBasicMessageStateChangedEvent>(
            DidCommBasicMessageEventTypes.DidCommBasicMessageStateChanged,
          )
          .pipe(
            filter(
              (event) =>
                event.payload.message.content === content &&
                event.payload.basicMessageRecord.role === 'receiver',
            ),
            timeout({ first: 20_000 }),
          ),
      );
    const atBob = received(bob, 'hello Bob');
    await alice.modules.didcomm.basicMessages.sendMessage(aliceConnection.id, 'hello Bob');
    expect((await atBob).payload.basicMessageRecord.connectionId).toBe(bobConnection.id);

    const atAlice = received(alice, 'hello Alice');
    await bob.modules.didcomm.basicMessages.sendMessage(bobConnection.id, 'hello Alice');
    expect((await atAlice).payload.basicMessageRecord.connectionId).toBe(aliceConnection.id);
  });
});
