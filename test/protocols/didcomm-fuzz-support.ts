// Shared by the DIDComm fuzz tests: mutations of a DIDComm plaintext as bytes a peer could send
// (values replaced, retyped, removed; fields added, among them '__proto__' and 'constructor' as
// own keys; huge strings and lists; deeply nested values; other @type URIs), and Credo's own
// plaintext receive pipeline (DidCommMessageReceiver → class transformation and validation →
// DidCommDispatcher → the registered handlers) in process, with an outbox instead of transports.
/* eslint-disable @typescript-eslint/no-explicit-any -- the mutations edit arbitrary JSON trees */
import fc from 'fast-check';
import { type AgentContext, ConsoleLogger, LogLevel } from '@credo-ts/core';
import {
  DidCommConnectionRecord,
  DidCommDidExchangeRole,
  DidCommDidExchangeState,
  DidCommDispatcher,
  DidCommMessageHandlerRegistry,
  DidCommMessageReceiver,
  type DidCommMessageHandler,
  type DidCommOutboundMessageContext,
} from '@credo-ts/didcomm';

/** Keys a hostile peer adds: prototype names, decorator names, camelCase spellings, look-alikes. */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'toJSON',
  '@type',
  '@id',
  '~thread',
  '~transport',
  '~timing',
  '~please_ack',
  '~attach',
  '~service',
  '~l10n',
  'channelID',
  'proposalID',
  'isFinal',
  'actorIdx',
  'type',
  'id',
  'ID',
  'description',
];

const DEEP = '\u0000deep:';

/** Values that stress a reader beyond arbitrary JSON. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom<unknown>(
      '',
      '-1',
      '01',
      '0x',
      '0xg0',
      '1e3',
      ' 1',
      0,
      -1,
      1.5,
      1e308,
      Number.MAX_SAFE_INTEGER + 2,
      true,
      null,
      {},
      [],
      [null],
      '0x' + '00'.repeat(32),
      '0x' + 'ff'.repeat(65),
      '115792089237316195423570985008687907853269984665640564039457584007913129639936',
    ),
  },
  fc.integer({ min: 5_000, max: 140_000 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 66_000, max: 70_000 }).map((n) => '0x' + 'ab'.repeat(n)),
  fc.integer({ min: 200, max: 3_000 }).map((n) => Array.from({ length: n }, () => '1')),
  fc.integer({ min: 100, max: 1_500 }).map((n) => `${DEEP}${n}`),
);

export type Edit =
  | { op: 'set'; path: number[]; value: unknown }
  | { op: 'delete'; path: number[] }
  | { op: 'add'; path: number[]; key: string; value: unknown }
  | { op: 'retype'; path: number[] };

const path = fc.array(fc.nat(), { minLength: 1, maxLength: 6 });
const anyValue = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<unknown> },
  { weight: 2, arbitrary: hostileValue },
);

export const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), path, value: anyValue }),
  fc.record({ op: fc.constant('delete' as const), path }),
  fc.record({
    op: fc.constant('add' as const),
    path,
    key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 12 })),
    value: anyValue,
  }),
  fc.record({ op: fc.constant('retype' as const), path }),
);

/** Sets an own, enumerable property, also for keys like '__proto__' (as JSON.parse makes them). */
function put(o: any, key: string | number, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A private copy of an edit's value: edits mutate what they insert, and fast-check reuses values while shrinking. */
function fresh(v: unknown): unknown {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

function retyped(v: unknown): unknown {
  if (typeof v === 'string') return /^\d+$/.test(v) ? Number(v) : [v];
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 0;
  if (v === null) return {};
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  return [v];
}

/** Applies `edits` to a copy of `root`: each walks `path` (indices modulo the keys at each level). */
export function applyEdits(root: Record<string, unknown>, edits: Edit[]): unknown {
  const copy = JSON.parse(JSON.stringify(root)) as any;
  let out: any = copy;
  for (const e of edits) {
    let parent: any = undefined;
    let key: string | number | undefined;
    let node: any = out;
    for (const step of e.path) {
      if (node === null || typeof node !== 'object') break;
      const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
      if (keys.length === 0) break;
      parent = node;
      key = keys[step % keys.length]!;
      node = node[key];
      if (e.op === 'add' && (node === null || typeof node !== 'object' || Array.isArray(node))) break;
    }
    if (e.op === 'add') {
      const target = node !== null && typeof node === 'object' && !Array.isArray(node) ? node : out;
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        put(target, e.key, fresh(e.value));
      continue;
    }
    if (parent === undefined || key === undefined) {
      if (e.op === 'set') out = fresh(e.value);
      continue;
    }
    if (e.op === 'set') put(parent, key, fresh(e.value));
    else if (e.op === 'retype') put(parent, key, retyped(parent[key]));
    else if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  }
  return out;
}

/** JSON text of `v`, with every deep-nesting marker replaced by that many nested lists and objects. */
export function toText(v: unknown): string {
  const text = JSON.stringify(v) ?? 'null';
  return text.replace(/"\\u0000deep:(\d+)"/g, (_, n: string) => {
    const depth = Number(n);
    return '[{"a":'.repeat(depth) + '1' + '}]'.repeat(depth);
  });
}

/** A plaintext as bytes a peer sends: `base` with 1–4 edits, or (rarely) bytes that are not a JSON object. */
export function mutatedPlaintext(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(base, fc.array(edit, { minLength: 1, maxLength: 4 }))
        .map(([b, edits]) => toText(applyEdits(b, edits))),
    },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  );
}

/** @type URIs near a real one: other versions, the did:sov prefix, other names and protocols, junk. */
export function typeVariants(uri: string): fc.Arbitrary<string> {
  const m = /^(https:\/\/.+\/)([^/]+)\/(\d+)\.(\d+)\/([^/]+)$/.exec(uri)!;
  const [, prefix, protocol, major, , name] = m;
  return fc.oneof(
    fc.constant(uri),
    fc.nat(20).map((minor) => `${prefix}${protocol}/${major}.${minor}/${name}`),
    fc.nat(3).map((maj) => `${prefix}${protocol}/${maj}.0/${name}`),
    fc.constant(`did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/${protocol}/${major}.0/${name}`),
    fc.constant(uri.toUpperCase()),
    fc.constant(`${uri}/`),
    fc.constant(`${prefix}${protocol}/${major}.0/`),
    fc.string({ maxLength: 20 }).map((s) => `${prefix}${protocol}/${major}.0/${s}`),
    fc.string({ maxLength: 40 }),
  );
}

export const OUR_DID = 'did:peer:2.Ez6LSours';
export const THEIR_DID = 'did:peer:2.Ez6LStheirs';

/** A completed DID exchange: the connection a packed message from the peer is matched to. */
export function readyConnection(): DidCommConnectionRecord {
  return new DidCommConnectionRecord({
    id: 'connection-1',
    role: DidCommDidExchangeRole.Responder,
    state: DidCommDidExchangeState.Completed,
    did: OUR_DID,
    theirDid: THEIR_DID,
  });
}

export interface CredoPipeline {
  connection: DidCommConnectionRecord;
  /** What the agent sent in reply (problem reports, handler answers), in order. */
  outbox: DidCommOutboundMessageContext[];
  /** Messages the dispatcher finished (DidCommMessageProcessed). */
  processed: unknown[];
  /** Errors a registered handler threw, in order. */
  handlerErrors: unknown[];
  /** Receives a plaintext exactly as Credo does after unpacking, on `connection`. */
  receive(plaintext: unknown): Promise<void>;
  reset(): void;
  agentContext: AgentContext;
}

/** Credo's receiver and dispatcher with `handlers` registered; replies go to `outbox`. */
export function credoPipeline(handlers: DidCommMessageHandler[]): CredoPipeline {
  const registry = new DidCommMessageHandlerRegistry();
  const handlerErrors: unknown[] = [];
  for (const h of handlers) {
    registry.registerMessageHandler({
      supportedMessages: h.supportedMessages,
      handle: async (ctx) => {
        try {
          return await h.handle(ctx);
        } catch (err) {
          handlerErrors.push(err);
          throw err;
        }
      },
    });
  }
  const outbox: DidCommOutboundMessageContext[] = [];
  const processed: unknown[] = [];
  const logger = new ConsoleLogger(LogLevel.off);
  const sender = { sendMessage: async (o: DidCommOutboundMessageContext) => void outbox.push(o) };
  const events = { emit: (_ctx: unknown, e: { payload: unknown }) => void processed.push(e.payload) };
  const agentContext = {
    contextCorrelationId: 'fuzz',
    dependencyManager: { resolve: () => registry },
    config: { logger },
    endSession: async () => undefined,
    toJSON: () => ({ contextCorrelationId: 'fuzz' }),
  } as unknown as AgentContext;
  const dispatcher = new DidCommDispatcher(sender as never, events as never, registry, logger);
  const receiver = new DidCommMessageReceiver(
    undefined as never,
    undefined as never,
    sender as never,
    undefined as never,
    dispatcher,
    registry,
    { getContextForInboundMessage: async () => agentContext } as never,
    logger,
  );
  const connection = readyConnection();
  return {
    connection,
    outbox,
    processed,
    handlerErrors,
    agentContext,
    receive: (plaintext) => receiver.receiveMessage(plaintext, { connection }),
    reset() {
      outbox.length = 0;
      processed.length = 0;
      handlerErrors.length = 0;
    },
  };
}

/** Own keys of Object.prototype, to check that no input added any. */
export const prototypeKeys = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();
