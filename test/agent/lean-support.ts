// Agents for the Perun lean path tests: real agents (createPerunAgent: our KMS, TypeORM storage,
// HTTP inbound on 127.0.0.1, optionally WebSocket) with a channel client each on the embedded
// chain; helpers to connect them, open a channel, pack envelopes as Credo does (authcrypt with any
// sender key, or anoncrypt), post them to an agent's endpoint, wait for Credo's failure, count the
// lean path's events and snapshot the channel tables.
import { Kms, TypedArrayEncoder } from '@credo-ts/core';
import { DidCommEnvelopeService, type DidCommConnectionRecord, type DidCommMessage } from '@credo-ts/didcomm';
import { parseEther } from 'ethers';
import type { DataSource } from 'typeorm';
import { createPerunAgent, type PerunAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import {
  InMemoryKmsKeyStorage,
  PerunKeyManagementService,
  TypeOrmKmsKeyStorage,
} from '../../src/agent/kms/index.js';
import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import { ChannelClient, type ChannelClientOptions, type ClientEvent } from '../../src/channels/client.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import type { Hex, State } from '../../src/channels/types.js';
import {
  PerunLeanEventTypes,
  type Envelope,
  type LeanPeer,
  type PerunLeanMessageProcessedEvent,
  type PerunLeanMessageSentEvent,
} from '../../src/protocols/perun/lean/index.js';
import { ethAllocation } from '../channels/client-harness.js';
import type { Party, World } from '../ethereum/harness.js';
import { channelEnvironment } from '../protocols/identity-harness.js';

export interface Side {
  name: string;
  party: Party;
  ds: DataSource;
  agent: PerunAgent;
  client: ChannelClient;
  /** Lean path events by '<sent|processed> <message name>'. */
  lean: Map<string, number>;
  /** What Credo failed to process ('Failed to process message'), in order. */
  failures: unknown[];
  onFailure?: () => void;
}

/**
 * An agent with its channel client. `file`: its database is that SQLite file, keys included, so
 * that the same agent starts again from it (on `port`, to be found where its peers know it).
 * `upgrade: false`: its lean carrier posts instead of upgrading (createPerunAgent leanUpgrade).
 * `onUpdate`: its client's decision on the peer's updates (default: accept).
 */
export async function side(
  world: World,
  name: string,
  account: number,
  o: {
    lean?: boolean;
    upgrade?: boolean;
    ws?: boolean;
    file?: string;
    port?: number;
    onUpdate?: ChannelClientOptions['onUpdate'];
  } = {},
) {
  const party = world.party(account, name);
  const ds = await openAgentStore(o.file ?? ':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: o.file === undefined ? new InMemoryKmsKeyStorage() : new TypeOrmKmsKeyStorage(ds),
    passphrase: `${name} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = createPerunAgent({
    label: name,
    dataSource: ds,
    kms,
    ...(o.lean === false ? { lean: false } : {}),
    ...(o.upgrade === false ? { leanUpgrade: false } : {}),
    ...(o.ws === true ? { ws: {} } : {}),
    ...(o.port === undefined ? {} : { http: { port: o.port } }),
  });
  await agent.initialize();
  const client = new ChannelClient({
    ...channelEnvironment(party, new TypeOrmChannelStore(ds)),
    wire: agent.modules.perun.wire,
    onProposal: () => ({ accept: true }),
    ...(o.onUpdate === undefined ? {} : { onUpdate: o.onUpdate }),
  });
  await client.start();
  const s: Side = { name, party, ds, agent, client, lean: new Map(), failures: [] };
  const count = (kind: string) => (e: PerunLeanMessageProcessedEvent | PerunLeanMessageSentEvent) => {
    const key = `${kind} ${String(e.payload.plaintext['@type']).split('/').pop()}`;
    s.lean.set(key, (s.lean.get(key) ?? 0) + 1);
  };
  agent.events.on(PerunLeanEventTypes.MessageSent, count('sent'));
  agent.events.on(PerunLeanEventTypes.MessageProcessed, count('processed'));
  const logger = agent.config.logger;
  const error = logger.error.bind(logger);
  logger.error = (message: string, data?: Record<string, unknown>) => {
    if (message === 'Failed to process message') {
      s.failures.push(data?.error);
      s.onFailure?.();
    }
    error(message, data);
  };
  return s;
}

export async function closeSides(sides: (Side | undefined)[]): Promise<void> {
  for (const s of sides) {
    if (s === undefined) continue;
    await s.client.close();
    await s.agent.shutdown();
    await s.ds.destroy();
  }
}

/** `a` invites, `b` accepts the invitation in URL form; both connection records once completed. */
export async function connect(
  a: { name: string; agent: PerunAgent },
  b: { name: string; agent: PerunAgent },
): Promise<[DidCommConnectionRecord, DidCommConnectionRecord]> {
  const oob = await a.agent.didcomm.oob.createInvitation({ label: a.name });
  const url = oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' });
  const { connectionRecord } = await b.agent.didcomm.oob.receiveInvitationFromUrl(url, { label: b.name });
  const fromB = await b.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, {
    timeoutMs: 20_000,
  });
  const [pending] = await a.agent.didcomm.connections.findAllByOutOfBandId(oob.id);
  const fromA = await a.agent.didcomm.connections.returnWhenIsConnected(pending!.id, { timeoutMs: 20_000 });
  return [fromA, fromB];
}

/** `a` opens a channel with `b` (1 ETH each) over the connection `ab`; resolves with its ID once both have it. */
export async function openChannel(
  world: World,
  a: { client: ChannelClient },
  b: { client: ChannelClient; party: Party },
  ab: DidCommConnectionRecord,
): Promise<Hex> {
  const opened = new Promise<void>((resolve) => {
    const on = (e: ClientEvent) => {
      if (e.type !== 'opened') return;
      b.client.off('event', on);
      resolve();
    };
    b.client.on('event', on);
  });
  const channel = await a.client.proposeChannel({
    peer: ab.theirDid!,
    peerAddress: b.party.signer.address,
    allocation: ethAllocation(world, parseEther('1'), parseEther('1')),
    challengeDuration: 60n,
  });
  await opened;
  return channel.id;
}

/** The next state of `a`'s channel `id` with 1 wei moved from participant 0 to 1, signed by `a`. */
export function nextUpdate(a: Side, id: Hex): { state: State; sig: Hex } {
  const state = structuredClone(a.client.channel(id).state!);
  state.version += 1n;
  const row = state.outcome.balances[0]!;
  row[0] = row[0]! - 1n;
  row[1] = row[1]! + 1n;
  return { state, sig: a.party.signer.signState(state) as Hex };
}

/** `s`'s lean peer on `connection`, resolved (and cached) by its lean path. */
export async function leanPeer(s: Side, connection: DidCommConnectionRecord): Promise<LeanPeer> {
  const peer = await s.agent.modules.perun.lean!.peerOf(connection);
  if (peer === undefined) throw new Error(`${s.name} has no lean peer on ${connection.id}`);
  return peer;
}

export function ed25519(kid: string, keyId?: string): Kms.PublicJwk<Kms.Ed25519PublicJwk> {
  const jwk = Kms.PublicJwk.fromPublicKey({
    kty: 'OKP',
    crv: 'Ed25519',
    publicKey: TypedArrayEncoder.fromBase58(kid),
  });
  if (keyId !== undefined) jwk.keyId = keyId;
  return jwk;
}

/** `plaintext` packed by `s`'s Credo envelope service for `recipientKid`: authcrypt from `sender`, anoncrypt without. */
export async function credoPack(
  s: Side,
  plaintext: Record<string, unknown>,
  recipientKid: string,
  sender?: { kid: string; keyId: string },
): Promise<Envelope> {
  const message = { toJSON: () => plaintext } as unknown as DidCommMessage;
  return s.agent.dependencyManager.resolve(DidCommEnvelopeService).packMessage(s.agent.context, message, {
    recipientKeys: [ed25519(recipientKid)],
    routingKeys: [],
    senderKey: sender === undefined ? null : ed25519(sender.kid, sender.keyId),
  });
}

/**
 * `plaintext` for `to` on its connection `toOnFrom` (the one the real sender holds with it), packed
 * by `mallory`: authcrypt under Mallory's own key on her connection `toOnMallory` with `to`, or
 * anoncrypted without it.
 */
export async function malloryPacks(
  mallory: Side,
  plaintext: Record<string, unknown>,
  to: Side,
  toOnFrom: DidCommConnectionRecord,
  toOnMallory?: DidCommConnectionRecord,
): Promise<Envelope> {
  const recipient = (await leanPeer(to, toOnFrom)).ourKid;
  if (toOnMallory === undefined) return credoPack(mallory, plaintext, recipient);
  const sender = await leanPeer(mallory, toOnMallory);
  return credoPack(mallory, plaintext, recipient, { kid: sender.ourKid, keyId: sender.ourKeyId });
}

export function httpEndpoint(s: Side): string {
  return s.agent.didcomm.inboundTransports.find((t) => t instanceof HttpInboundTransport)!.endpoint!;
}

/** POSTs an envelope to `s`'s HTTP endpoint; resolves with the status. */
export async function post(s: Side, envelope: Envelope): Promise<number> {
  const r = await fetch(httpEndpoint(s), {
    method: 'POST',
    headers: { 'content-type': 'application/didcomm-envelope-enc' },
    body: JSON.stringify(envelope),
  });
  await r.arrayBuffer();
  return r.status;
}

/** Resolves at `s`'s next Credo processing failure. */
export function nextFailure(s: Side): Promise<unknown> {
  const before = s.failures.length;
  return new Promise((resolve) => {
    s.onFailure = () => {
      if (s.failures.length > before) resolve(s.failures.at(-1));
    };
  });
}

/**
 * What becomes of `envelope` at `s`: Credo's failure, or (were a check broken) the lean path taking
 * it, whichever comes first. Call before posting it.
 */
export function refusedOrTaken(s: Side, envelope: Envelope): Promise<string> {
  return Promise.race([
    nextFailure(s).then(() => 'refused by Credo'),
    new Promise<string>((resolve) =>
      s.agent.events.on<PerunLeanMessageProcessedEvent>(PerunLeanEventTypes.MessageProcessed, (e) => {
        if (e.payload.encryptedMessage.ciphertext === envelope.ciphertext) resolve('taken by the lean path');
      }),
    ),
  ]);
}

/** Every row of the channel tables. */
export async function channelRows(s: Side): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (const table of ['perun_channel', 'perun_channel_peer', 'perun_signed_state', 'perun_staged_state'])
    rows.push(await s.ds.query(`SELECT * FROM ${table} ORDER BY 1`));
  return rows;
}
