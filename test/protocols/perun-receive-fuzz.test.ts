// Fuzzing the Perun protocol's receive path as a Credo agent runs it: DIDComm plaintexts (every
// Perun message and the Perun problem report, generated and mutated: wrong @type, missing, extra
// and retyped fields, huge strings and lists, deep nesting, '__proto__' and 'constructor' keys,
// values that are not objects) go through Credo's receiver (class transformation and validation),
// its dispatcher and the Perun handler into the DIDComm wire (src/protocols/perun/didcomm-wire.ts).
// Whatever reaches the channel core is a message its strict decoder takes as it is; everything
// else is refused with a problem report (a Perun 'malformed' report, or Credo's parse failure)
// or by Credo before any of our code runs; nothing pollutes Object.prototype. Also the wire
// field names (case.ts) on arbitrary JSON.
/* eslint-disable @typescript-eslint/no-explicit-any -- the tests edit arbitrary wire JSON */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { JsonTransformer, type AgentContext } from '@credo-ts/core';
import {
  DidCommMessageSender,
  DidCommConnectionService,
  DidCommProblemReportError,
  DidCommProblemReportMessage,
} from '@credo-ts/didcomm';
import { MalformedMessageError } from '../../src/channels/errors.js';
import type { JsonObject } from '../../src/channels/json.js';
import { decodeChannelMessage, encodeChannelMessage } from '../../src/channels/message-codec.js';
import { MAX_REASON_CHARS, type ChannelMessage } from '../../src/channels/messages.js';
import { toCamel, toSnake } from '../../src/protocols/perun/case.js';
import { DidCommChannelWire } from '../../src/protocols/perun/didcomm-wire.js';
import { PerunMessageHandler } from '../../src/protocols/perun/handlers/perun-message-handler.js';
import {
  ChannelSyncMessage,
  PerunProblemReportMessage,
} from '../../src/protocols/perun/messages/channel-messages.js';
import { fromDidComm, toDidComm } from '../../src/protocols/perun/wire-format.js';
import { CHANNEL_ID, bob, state } from '../channels/fixtures.js';
import { SAMPLE_MESSAGES } from './perun-samples.js';
import {
  THEIR_DID,
  credoPipeline,
  mutatedPlaintext,
  prototypeKeys,
  typeVariants,
} from './didcomm-fuzz-support.js';

const MESSAGES = SAMPLE_MESSAGES;

const wireJson = (m: ChannelMessage, threadId?: string): Record<string, unknown> => {
  const d = toDidComm(m);
  if (threadId !== undefined) d.setThread({ threadId });
  return JSON.parse(JSON.stringify(JsonTransformer.toJSON(d))) as Record<string, unknown>;
};

/** A channel message as the core's decoder reads it back: what the core may be handed. */
const asDecoded = (m: ChannelMessage) => decodeChannelMessage(encodeChannelMessage(m));

// The wire sends through a stand-in sender; what it sends is recorded so that problem reports can
// be threaded on a real request of ours.
const wire = new DidCommChannelWire();
const sentByUs: string[] = [];
const pipeline = credoPipeline([new PerunMessageHandler(wire)]);
wire.attach({
  resolve: (token: unknown) =>
    token === DidCommMessageSender
      ? { sendMessage: async (o: { message: { id: string } }) => void sentByUs.push(o.message.id) }
      : token === DidCommConnectionService
        ? { findByTheirDid: async () => pipeline.connection }
        : undefined,
} as unknown as AgentContext);
const reachedCore: { from: string; msg: ChannelMessage }[] = [];
wire.onMessage((from, msg) => void reachedCore.push({ from, msg }));

/** Sends an update of ours so that a problem report threaded on it is answered, returns its @id. */
async function pendingUpdate(version: bigint): Promise<string> {
  const s = { ...state(version), channelID: CHANNEL_ID };
  await wire.send(THEIR_DID, { type: 'channel-update', state: s, actorIdx: 1, sig: bob.signState(s) });
  return sentByUs.at(-1)!;
}

const PROTO = prototypeKeys();

/** The snake_case field names of the Perun messages, as they appear in valid messages. */
const WIRE_NAMES = [
  ...new Set(
    MESSAGES.flatMap((m) => JSON.stringify(wireJson(m)).match(/"([a-z_]+)":/g) ?? []).map((k) =>
      k.slice(1, -2),
    ),
  ),
];

type Outcome = 'core' | 'perun-report' | 'parse-failure' | 'unsupported' | 'credo-refused' | 'ignored';

/** Delivers the plaintext `text` and checks everything that may follow from it; returns what happened. */
async function deliver(text: string): Promise<Outcome> {
  pipeline.reset();
  reachedCore.length = 0;
  let error: unknown;
  await pipeline.receive(JSON.parse(text)).catch((err: unknown) => (error = err));
  expect(prototypeKeys()).toEqual(PROTO);
  expect(({} as any).polluted).toBeUndefined();

  // Our handler refuses only with a Perun 'malformed' report.
  for (const err of pipeline.handlerErrors) {
    expect(err).toBeInstanceOf(DidCommProblemReportError);
    const report = (err as DidCommProblemReportError).problemReport;
    expect(report).toBeInstanceOf(PerunProblemReportMessage);
    expect(report.description.code).toBe('malformed');
  }
  // What the core is handed is exactly what its decoder accepts, from the connection's DID.
  for (const { from, msg } of reachedCore) {
    expect(from).toBe(THEIR_DID);
    expect(asDecoded(msg)).toEqual(msg);
  }
  expect(reachedCore.length).toBeLessThanOrEqual(1);

  if (error !== undefined) {
    // Refused by Credo before dispatch: nothing of ours ran, nothing was answered on a plaintext.
    expect(error).toBeInstanceOf(Error);
    expect(pipeline.handlerErrors).toHaveLength(0);
    expect(reachedCore).toHaveLength(0);
    expect(pipeline.processed).toHaveLength(0);
    return error instanceof DidCommProblemReportError ? 'parse-failure' : 'credo-refused';
  }
  expect(pipeline.processed).toHaveLength(1);
  if (reachedCore.length === 1) {
    expect(pipeline.outbox).toHaveLength(0);
    return 'core';
  }
  if (pipeline.outbox.length === 0) return 'ignored';
  expect(pipeline.outbox).toHaveLength(1);
  const reply = pipeline.outbox[0]!.message as DidCommProblemReportMessage;
  expect(reply).toBeInstanceOf(DidCommProblemReportMessage);
  if (reply instanceof PerunProblemReportMessage) {
    expect(reply.description.code).toBe('malformed');
    return 'perun-report';
  }
  expect(reply.description.code).toBe('message-parse-failure');
  return 'unsupported';
}

const seen = new Map<Outcome, number>();
const count = (o: Outcome) => void seen.set(o, (seen.get(o) ?? 0) + 1);

describe('the Perun receive path under fuzzing', () => {
  it('takes every valid Perun message to the core unchanged', async () => {
    for (const m of MESSAGES) {
      expect(await deliver(JSON.stringify(wireJson(m)))).toBe('core');
      expect(reachedCore[0]!.msg).toEqual(m);
    }
  });

  it('mutated Perun messages reach the core only as valid messages, otherwise a problem report', async () => {
    const base = fc.constantFrom(...MESSAGES).map((m) => wireJson(m));
    await fc.assert(
      fc.asyncProperty(mutatedPlaintext(base), async (text) => count(await deliver(text))),
      { numRuns: 3_000 },
    );
    // The generator reaches every branch, not only the first refusal.
    for (const o of ['core', 'perun-report', 'parse-failure', 'credo-refused'] as const)
      expect(seen.get(o) ?? 0).toBeGreaterThan(0);
  });

  it('other @type URIs near the Perun ones are handled or refused, never crash', async () => {
    const variant = fc
      .constantFrom(...MESSAGES)
      .chain((m) => {
        const json = wireJson(m);
        return typeVariants(json['@type'] as string).map((t) => ({ ...json, '@type': t }));
      })
      .map((j) => JSON.stringify(j));
    await fc.assert(
      fc.asyncProperty(variant, async (text) => void (await deliver(text))),
      { numRuns: 1_000 },
    );
  });

  it('problem reports on our own requests become a refusal the core can read, whatever their description', async () => {
    const description = fc.oneof(
      fc.record(
        {
          en: fc.oneof(
            fc.string(),
            fc.jsonValue(),
            fc.integer({ min: 1025, max: 5_000 }).map((n) => 'x'.repeat(n)),
          ),
          code: fc.oneof(
            fc.string(),
            fc.jsonValue(),
            fc.constantFrom('not-authorized', 'stale-version', 'a'.repeat(200)),
          ),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    );
    let version = 10n;
    await fc.assert(
      fc.asyncProperty(description, fc.boolean(), async (d, onOurs) => {
        version += 1n;
        const threadId = onOurs ? await pendingUpdate(version) : '0b8a5c36-9d9f-4a57-9a3f-3f4c2f0e7c11';
        const report = {
          '@type': PerunProblemReportMessage.type.messageTypeUri,
          '@id': randomUUID(),
          '~thread': { thid: threadId },
          description: d,
        };
        const outcome = await deliver(JSON.stringify(report));
        // A report on a request of ours always settles it (the core reads it as a refusal); any other is dropped.
        expect(outcome).toBe(onOurs ? 'core' : 'ignored');
        if (onOurs) expect(reachedCore[0]!.msg).toMatchObject({ type: 'channel-update-reject', version });
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses plaintexts that are not DIDComm messages before any handler runs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.dictionary(fc.string(), fc.jsonValue()).map((o) => ({ ...o, '@type': 42 })),
        ),
        async (v) => {
          const outcome = await deliver(JSON.stringify(v));
          expect(['credo-refused', 'parse-failure', 'unsupported']).toContain(outcome);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('cases the fuzzing found', () => {
  it('refuses a message nested deeper than the stack can walk with MalformedMessageError', () => {
    let deep: unknown = '1';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const m = new ChannelSyncMessage({
      phase: 'Acting',
      state: { outcome: { balances: deep } } as never,
      sigs: [],
    });
    expect(() => fromDidComm(m)).toThrow(MalformedMessageError);
  });

  it('reads a problem report with an overlong reason and a code that is not a string as a refusal within the core’s limits', async () => {
    const thid = await pendingUpdate(7n);
    const report = {
      '@type': PerunProblemReportMessage.type.messageTypeUri,
      '@id': randomUUID(),
      '~thread': { thid },
      description: { en: 'x'.repeat(5_000), code: 42 },
    };
    expect(await deliver(JSON.stringify(report))).toBe('core');
    expect(reachedCore[0]!.msg).toEqual({
      type: 'channel-update-reject',
      channelID: CHANNEL_ID,
      version: 7n,
      reason: 'x'.repeat(MAX_REASON_CHARS),
      code: 'REFUSED',
    });
  });
});

/** JSON objects keyed mostly by wire field names, at any depth, sometimes by other keys. */
const wireKey = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WIRE_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'channelID', 'isFinal', 'Version') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const { wireObject } = fc.letrec<{ wireObject: Record<string, unknown>; value: unknown }>((tie) => ({
  wireObject: fc.dictionary(wireKey, tie('value'), { maxKeys: 4 }),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.constant(null)),
    tie('wireObject'),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
}));

describe('wire field names under fuzzing', () => {
  it('toCamel refuses any unknown key at any depth with MalformedMessageError, and inverts toSnake', () => {
    const read = new Set<string>();
    fc.assert(
      fc.property(wireObject, (o) => {
        const text = JSON.stringify(o);
        const parsed = JSON.parse(text) as JsonObject;
        let camel: JsonObject;
        try {
          camel = toCamel(parsed);
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedMessageError);
          read.add('refused');
          return;
        }
        expect(JSON.stringify(toSnake(camel))).toBe(text);
        read.add('mapped');
      }),
      { numRuns: 3_000 },
    );
    expect([...read].sort()).toEqual(['mapped', 'refused']);
    expect(prototypeKeys()).toEqual(PROTO);
  });
});
