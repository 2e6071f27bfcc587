// Fuzzing a running agent's DIDComm endpoints end to end. Bob is a real agent (createPerunAgent:
// our KMS, TypeORM storage, HTTP and WebSocket inbound transports on 127.0.0.1, the Perun module,
// a channel client on the same DataSource). Mallory holds an established connection with him and
// sends what a hostile peer can: Perun plaintexts with generated mutations, packed (authcrypt) for
// Bob with her connection keys by Credo itself; real envelopes with mutated fields; plaintexts
// without an envelope; bytes that are not JSON. For every input: never a 5xx nor an unhandled
// rejection; a body that is not an envelope gets a 400 (HTTP) or closes the socket with 1007
// (WebSocket) at once; no error escapes our code (Credo alone fails on what it cannot decrypt or
// read); what reaches Bob's channel core is a valid message and everything Bob answers is a
// problem report with a code. Afterwards nothing is stored for any of it (no channel, Credo's
// records unchanged) and Bob still works: a trust ping and a valid proposal from Mallory go through.
// Bob runs the Perun lean path: once Mallory's connection is resolved, the channel messages it
// takes are processed there (its events count as Credo's), everything else goes to Credo.
/* eslint-disable @typescript-eslint/no-explicit-any -- raw DIDComm JSON of any shape */
import {
  ReplayEventTypes,
  type ReplayMessageDroppedEvent,
} from '../../src/protocols/replay/replay-events.js';
import { jest } from '@jest/globals';
import { resolve as resolvePath } from 'node:path';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { JsonTransformer, Kms } from '@credo-ts/core';
import {
  DidCommEventTypes,
  DidCommMessage,
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  DidCommProblemReportMessage,
  DidCommTrustPingEventTypes,
  type DidCommConnectionRecord,
  type DidCommMessageProcessedEvent,
  type DidCommMessageSentEvent,
  type DidCommOutboundPackage,
  type TrustPingResponseReceivedEvent,
} from '@credo-ts/didcomm';
import type { DataSource } from 'typeorm';
import { createPerunAgent, type PerunAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { WsInboundTransport } from '../../src/agent/transport/index.js';
import { captureAndConnect, RawMessage, type CapturingOutbound } from './didcomm-capture.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import { ChannelClient, type IncomingProposal } from '../../src/channels/client.js';
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { Adjudicator, Funder } from '../../src/channels/interfaces.js';
import { decodeChannelMessage, encodeChannelMessage } from '../../src/channels/message-codec.js';
import { type ChannelMessage } from '../../src/channels/messages.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import {
  PerunLeanEventTypes,
  type PerunLeanMessageProcessedEvent,
  type PerunLeanMessageSentEvent,
} from '../../src/protocols/perun/lean/index.js';
import { PerunProblemReportMessage } from '../../src/protocols/perun/messages/channel-messages.js';
import { toDidComm } from '../../src/protocols/perun/wire-format.js';
import { alice, state } from '../channels/fixtures.js';
import { applyEdits, edit, mutatedPlaintext, toText } from '../protocols/didcomm-fuzz-support.js';

jest.setTimeout(90_000);

const ENVELOPE_TYPE = 'application/didcomm-envelope-enc';
const OUR_SOURCES = resolvePath('src');

interface Party {
  agent: PerunAgent;
  ds: DataSource;
}

async function party(label: string, ws?: boolean): Promise<Party> {
  const ds = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${label} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = createPerunAgent({ label, dataSource: ds, kms, ...(ws === true ? { ws: {} } : {}) });
  await agent.initialize();
  return { agent, ds };
}

let bob: Party;
let mallory: Party;
let client: ChannelClient;
let store: TypeOrmChannelStore;
let outbound: CapturingOutbound;
let mb: DidCommConnectionRecord; // Mallory's connection with Bob
let bobSigner: EthereumSigner;
const proposals: IncomingProposal[] = [];
const reachedCore: ChannelMessage[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

/** Bob's processing outcome of the input in flight: the processed event or Credo's failure log. */
let waiting:
  | { ciphertext: string | undefined; done: (o: 'processed' | 'failed' | 'dropped', error?: unknown) => void }
  | undefined;
const failures: unknown[] = [];
/** Every message Bob sent during the test: through Credo, or the plaintext of one the lean path sent. */
const bobSent: (DidCommMessage | Record<string, unknown>)[] = [];
/** Inputs the lean path took. */
let leanProcessed = 0;

const refusingFunder: Funder = { fund: () => Promise.reject(new Error('no funding in this test')) };
const noChain = new Proxy({} as Adjudicator, {
  get: () => () => Promise.reject(new Error('no chain in this test')),
});

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  bob = await party('Bob', true);
  mallory = await party('Mallory');

  bobSigner = EthereumSigner.random();
  store = new TypeOrmChannelStore(bob.ds);
  client = new ChannelClient({
    wire: bob.agent.modules.perun.wire,
    signer: bobSigner,
    backend: ethereumBackend,
    funder: refusingFunder,
    adjudicator: noChain,
    store,
    onProposal: (p) => {
      proposals.push(p);
      return { accept: false, reason: 'not today' };
    },
    proposalsPerMinute: 1_000_000,
  });
  await client.start();
  bob.agent.modules.perun.wire.onMessage((_, m) => void reachedCore.push(m));

  // Credo logs (and drops) every message it fails to process: that is the failed outcome.
  const logger = bob.agent.config.logger;
  const error = logger.error.bind(logger);
  logger.error = (message: string, data?: Record<string, unknown>) => {
    if (message === 'Failed to process message') {
      failures.push(data?.error);
      waiting?.done('failed', data?.error);
    }
    error(message, data);
  };
  bob.agent.events.on<DidCommMessageSentEvent>(
    DidCommEventTypes.DidCommMessageSent,
    (e) => void bobSent.push(e.payload.message.message),
  );
  bob.agent.events.on<PerunLeanMessageSentEvent>(
    PerunLeanEventTypes.MessageSent,
    (e) => void bobSent.push(e.payload.plaintext),
  );
  const processed = (c: string | undefined) => {
    if (waiting !== undefined && c !== undefined && c === waiting.ciphertext) waiting.done('processed');
  };
  bob.agent.events.on<DidCommMessageProcessedEvent>(DidCommEventTypes.DidCommMessageProcessed, (e) =>
    processed(e.payload.encryptedMessage?.ciphertext),
  );
  // A real envelope whose mutation left it readable repeats a message Bob took: the guard drops it.
  bob.agent.events.on<ReplayMessageDroppedEvent>(ReplayEventTypes.MessageDropped, (e) => {
    const c = e.payload.encryptedMessage?.ciphertext;
    if (waiting !== undefined && c !== undefined && c === waiting.ciphertext) waiting.done('dropped');
  });
  bob.agent.events.on<PerunLeanMessageProcessedEvent>(PerunLeanEventTypes.MessageProcessed, (e) => {
    leanProcessed++;
    processed(e.payload.encryptedMessage.ciphertext);
  });

  ({ outbound, connection: mb } = await captureAndConnect(mallory.agent, bob.agent, {
    peer: 'Mallory',
    inviter: 'Bob',
  }));
});

afterAll(async () => {
  await client?.close();
  for (const p of [mallory, bob]) {
    if (p === undefined) continue;
    await p.agent.shutdown();
    await p.ds.destroy();
  }
  process.off('unhandledRejection', onUnhandled);
});

/** Mallory packs `plaintext` for Bob exactly as Credo sends a message on her connection. */
async function pack(plaintext: unknown): Promise<{ envelope: Record<string, unknown>; endpoint: string }> {
  const captured = new Promise<DidCommOutboundPackage>((resolve) => (outbound.capture = resolve));
  try {
    await mallory.agent.dependencyManager.resolve(DidCommMessageSender).sendMessage(
      new DidCommOutboundMessageContext(new RawMessage(plaintext), {
        agentContext: mallory.agent.context,
        connection: mb,
      }),
    );
    const p = await captured;
    return { envelope: p.payload as unknown as Record<string, unknown>, endpoint: p.endpoint! };
  } finally {
    outbound.capture = undefined;
  }
}

const responses: Promise<number>[] = [];
const outcomes = new Map<string, number>();

const never = new Promise<string>(() => undefined);

/**
 * Sends `body` with `send` and waits until Bob is done with it: processed, failed in Credo, or
 * refused by the transport (what `send` resolves with; it never resolves otherwise).
 */
async function deliver(body: string, send: () => Promise<string>): Promise<void> {
  let ciphertext: string | undefined;
  try {
    const parsed = JSON.parse(body) as any;
    if (typeof parsed?.ciphertext === 'string') ciphertext = parsed.ciphertext;
  } catch {
    ciphertext = undefined;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = new Promise<string>((resolve, reject) => {
    waiting = { ciphertext, done: (o) => resolve(o) };
    timer = setTimeout(
      () => reject(new Error('Bob neither processed, dropped nor refused the input in 15 s')),
      15_000,
    );
  });
  try {
    const before = { core: reachedCore.length, sent: bobSent.length };
    const o = await Promise.race([outcome, send()]);
    // Processed and nothing for the core: Bob answered with a problem report.
    if (o === 'processed' && reachedCore.length === before.core)
      expect(bobSent.length).toBeGreaterThan(before.sent);
    outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
  } finally {
    clearTimeout(timer);
    waiting = undefined;
  }
}

/** POSTs `body` to Bob's HTTP endpoint; the response is checked at the end (a failed one waits its timeout). */
function post(endpoint: string, body: string, contentType = ENVELOPE_TYPE): Promise<void> {
  return deliver(body, () => {
    const response = fetch(endpoint, { method: 'POST', headers: { 'content-type': contentType }, body }).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
    );
    responses.push(response);
    // A 4xx means the transport refused the body: it never reached Credo.
    return response.then((st) => (st >= 400 && st < 500 ? `http-${st}` : never));
  });
}

/** Sends `body` as one frame on a new socket to Bob's WebSocket endpoint; a refusal closes the socket. */
async function frame(endpoint: string, body: string): Promise<void> {
  const socket = new WebSocket(endpoint);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const closed = new Promise<string>((resolve) => socket.once('close', (code) => resolve(`ws-${code}`)));
  try {
    await deliver(body, () => {
      socket.send(body);
      return closed;
    });
  } finally {
    socket.close();
    await closed;
  }
}

/** Where an error was made: its first stack frame in our sources, or undefined (Credo, Node). */
function madeInOurCode(err: unknown): boolean {
  const frame = (err instanceof Error ? (err.stack ?? '') : '')
    .split('\n')
    .find((l) => l.trimStart().startsWith('at '));
  return frame?.includes(OUR_SOURCES) === true;
}

function checkNothingEscapedOurCode(): void {
  // Credo fails on what it cannot decrypt or read; of our code only the KMS may refuse (a
  // ciphertext that does not authenticate), and with its typed error.
  for (const err of failures) if (madeInOurCode(err)) expect(err).toBeInstanceOf(Kms.KeyManagementError);
  for (const m of reachedCore) expect(decodeChannelMessage(encodeChannelMessage(m))).toEqual(m);
  expect(unhandled).toEqual([]);
}

/** Bob's every answer to the fuzzing is a refusal with a code: it sends nothing he could accept. */
function checkAnswersAreRefusals(): void {
  for (const m of bobSent) {
    if (m instanceof DidCommMessage) {
      expect(m).toBeInstanceOf(DidCommProblemReportMessage);
      expect((m as DidCommProblemReportMessage).description.code).toEqual(expect.any(String));
    } else {
      expect(m['@type']).toBe(PerunProblemReportMessage.type.messageTypeUri);
      expect((m['description'] as { code: unknown }).code).toEqual(expect.any(String));
    }
  }
}

const wireJson = (m: ChannelMessage) =>
  JSON.parse(JSON.stringify(JsonTransformer.toJSON(toDidComm(m)))) as Record<string, unknown>;

function perunMessages(): ChannelMessage[] {
  const s = state(3n);
  return [
    {
      type: 'ledger-channel-proposal',
      proposalID: '0x' + '01'.repeat(32),
      challengeDuration: 3600n,
      nonceShare: '0x' + '02'.repeat(32),
      participants: [alice.address, bobSigner.address],
      peers: [mb.did!, mb.theirDid!],
      app: '0x' + '00'.repeat(20),
      initData: '0x',
      initBals: { ...s.outcome, locked: [] },
      fundingAgreement: s.outcome.balances,
    },
    { type: 'channel-update', state: s, actorIdx: 0, sig: alice.signState(s) },
    { type: 'channel-update-accept', channelID: s.channelID, version: 3n, sig: alice.signState(s) },
    { type: 'channel-sync', phase: 'Acting', state: s, sigs: [alice.signState(s), alice.signState(s)] },
  ];
}

/** A real envelope with 1–3 edits, or a body that is not an envelope at all. */
function envelopeOrNot(valid: Record<string, unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .array(edit, { minLength: 1, maxLength: 3 })
        .map((edits) => toText(applyEdits(valid, edits))),
    },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    // A plaintext sent as it is: over a network transport it carries no sender, it is refused.
    { weight: 1, arbitrary: fc.constantFrom(...perunMessages()).map((m) => JSON.stringify(wireJson(m))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')) },
  );
}

let credoRecords: unknown[];
const records = () => bob.ds.query('SELECT id, type, value FROM credo_record ORDER BY id');

describe('Bob’s DIDComm endpoint under fuzzing', () => {
  beforeAll(async () => {
    credoRecords = await records();
    bobSent.length = 0;
  });

  it('mutated Perun plaintexts packed on Mallory’s connection: refused or valid, never a failure of ours', async () => {
    const base = fc.constantFrom(...perunMessages()).map(wireJson);
    // Credo cannot pack a null plaintext (it reads its @type): every other JSON value goes.
    const plaintext = mutatedPlaintext(base).filter((t) => t !== 'null');
    await fc.assert(
      fc.asyncProperty(plaintext, async (text) => {
        const { envelope, endpoint } = await pack(JSON.parse(text));
        await post(endpoint, JSON.stringify(envelope));
        checkNothingEscapedOurCode();
        checkAnswersAreRefusals();
      }),
      { numRuns: 100 },
    );
  });

  it('real envelopes with mutated fields, and bodies that are not envelopes', async () => {
    const { envelope: valid, endpoint } = await pack(wireJson(perunMessages()[1]!));
    await fc.assert(
      fc.asyncProperty(
        envelopeOrNot(valid),
        fc.constantFrom(ENVELOPE_TYPE, 'application/ssi-agent-wire'),
        async (b, type) => {
          await post(endpoint, b, type);
          checkNothingEscapedOurCode();
          checkAnswersAreRefusals();
        },
      ),
      { numRuns: 80 },
    );
  });

  it('the same over WebSocket: a frame that is not an envelope closes the socket with 1007', async () => {
    const ws = bob.agent.didcomm.inboundTransports.find((t) => t instanceof WsInboundTransport)!.endpoint!;
    const { envelope: valid } = await pack(wireJson(perunMessages()[1]!));
    await fc.assert(
      fc.asyncProperty(envelopeOrNot(valid), async (b) => {
        await frame(ws, b);
        checkNothingEscapedOurCode();
        checkAnswersAreRefusals();
      }),
      { numRuns: 60 },
    );
  });

  it('answers with 4xx, 200 or 202, never a 5xx', async () => {
    const statuses = new Set(await Promise.all(responses));
    for (const s of statuses) expect([200, 202, 400, 413, 422]).toContain(s);
    // Each kind of outcome was reached, not only the first refusal.
    for (const o of ['processed', 'failed', 'http-400', 'ws-1007'])
      expect(outcomes.get(o) ?? 0).toBeGreaterThan(0);
    // Some went through the lean path, the rest through Credo.
    expect(leanProcessed).toBeGreaterThan(0);
  });

  it('stored nothing for any of it', async () => {
    expect(await store.listChannels()).toEqual([]);
    expect(await records()).toEqual(credoRecords);
  });

  it('still answers Mallory: a trust ping and a valid proposal go through', async () => {
    const pong = new Promise<void>((resolve) =>
      mallory.agent.events.on<TrustPingResponseReceivedEvent>(
        DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent,
        () => resolve(),
      ),
    );
    await mallory.agent.didcomm.connections.sendPing(mb.id, { responseRequested: true });
    await pong;

    const proposal = {
      ...(perunMessages()[0] as Extract<ChannelMessage, { type: 'ledger-channel-proposal' }>),
    };
    proposal.proposalID = '0x' + 'ee'.repeat(32);
    const rejected = new Promise<ChannelMessage>((resolve) =>
      mallory.agent.modules.perun.wire.onMessage((_, m) => resolve(m)),
    );
    await mallory.agent.modules.perun.wire.send(mb.theirDid!, proposal);
    expect(await rejected).toMatchObject({
      type: 'channel-proposal-reject',
      proposalID: proposal.proposalID,
    });
    expect(proposals.at(-1)!.proposalID).toBe(proposal.proposalID);
    checkNothingEscapedOurCode();
  });
});
