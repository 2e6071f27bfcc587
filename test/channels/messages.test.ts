// Channel messages on the wire: each kind survives encode → JSON text → decode unchanged;
// malformed ones (wrong type, bad hex, negative or oversized numbers, missing fields) are
// refused with MalformedMessageError naming the field; and the decoder is fuzzed with
// thousands of random values and mutations of valid messages: a typed error or a valid
// message, never anything else.
import fc from 'fast-check';
import { MalformedMessageError } from '../../src/channels/errors.js';
import type { Json } from '../../src/channels/json.js';
import { PHASES } from '../../src/channels/types.js';
import {
  decodeChannelMessage,
  encodeChannelMessage,
  parseChannelMessage,
} from '../../src/channels/message-codec.js';
import { channelOf, type ChannelMessage } from '../../src/channels/messages.js';
import type { Allocation, State } from '../../src/channels/types.js';
import { CHANNEL_ID, alice, bob, state } from './fixtures.js';

const V0 = state(0n, false);
const OTHER_ID = '0x' + '0c'.repeat(32);
const V1 = state(1n);
const SIG_A = alice.signState(V1);
const SIG_B = bob.signState(V1);

const EXAMPLES: ChannelMessage[] = [
  {
    type: 'ledger-channel-proposal',
    proposalID: '0x' + '01'.repeat(32),
    challengeDuration: 60n,
    nonceShare: '0x' + '02'.repeat(32),
    participants: [alice.address, bob.address],
    peers: ['did:peer:alice', 'did:peer:bob'],
    app: '0x' + '00'.repeat(20),
    initData: '0x',
    initBals: V0.outcome,
    fundingAgreement: V0.outcome.balances,
  },
  {
    type: 'ledger-channel-accept',
    proposalID: '0x' + '01'.repeat(32),
    nonceShare: '0x' + '03'.repeat(32),
    sig: SIG_B,
  },
  { type: 'channel-proposal-reject', proposalID: '0x' + '01'.repeat(32), reason: 'no credential' },
  { type: 'channel-update', state: V1, actorIdx: 0, sig: SIG_A },
  { type: 'channel-update-accept', channelID: CHANNEL_ID, version: 1n, sig: SIG_B },
  {
    type: 'channel-update-reject',
    channelID: CHANNEL_ID,
    version: 1n,
    reason: 'total not conserved',
    code: 'NOT_CONSERVED',
  },
  { type: 'channel-update-reject', channelID: CHANNEL_ID, version: 2n, reason: 'busy' },
  { type: 'channel-sync', phase: 'Acting', state: V1, sigs: [SIG_A, SIG_B] },
  {
    type: 'channel-sync-batch',
    channels: [
      { phase: 'Acting', state: V1, sigs: [SIG_A, SIG_B] },
      {
        phase: 'Acting',
        state: { ...V1, channelID: OTHER_ID },
        sigs: [SIG_A, SIG_B],
        payments: [{ version: 1n, payer: 0, id: 'invoice-7', asset: 0, amount: 5n }],
      },
    ],
  },
  { type: 'channel-sync-batch', channels: [], synced: [CHANNEL_ID, OTHER_ID] },
];

const wire = (m: ChannelMessage): string => JSON.stringify(encodeChannelMessage(m));
const encoded = (m: ChannelMessage): Record<string, Json> => JSON.parse(wire(m)) as Record<string, Json>;

function refusal(raw: unknown): MalformedMessageError {
  try {
    decodeChannelMessage(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedMessageError);
    return err as MalformedMessageError;
  }
  throw new Error('expected MalformedMessageError');
}

describe('every message kind', () => {
  it.each(EXAMPLES.map((m) => [m.type, m] as const))('%s survives a JSON round trip', (_t, msg) => {
    expect(parseChannelMessage(wire(msg))).toEqual(msg);
  });

  it('names its channel when it has one', () => {
    expect(EXAMPLES.map(channelOf)).toEqual([
      undefined,
      undefined,
      undefined,
      CHANNEL_ID,
      CHANNEL_ID,
      CHANNEL_ID,
      CHANNEL_ID,
      CHANNEL_ID,
      undefined,
      undefined,
    ]);
  });

  it('carries bigints as decimal strings', () => {
    const e = encoded(EXAMPLES[4]!);
    expect(e.version).toBe('1');
    expect(JSON.stringify(encoded(EXAMPLES[3]!))).not.toMatch(/\d+n/);
  });
});

/** A batch of syncs, and what breaks one. */
function batchCases(): Array<[string, () => unknown, string]> {
  const batch = () => encoded(EXAMPLES[8]!) as { channels: Record<string, Json>[] } & Record<string, Json>;
  const one = () => batch().channels[0]!;
  const other = (i: number) => ({ ...one(), state: { ...(one().state as object), channelID: idOf(i) } });
  const paying = (i: number, n: number) => ({
    ...other(i),
    payments: Array.from({ length: n }, (_, k) => ({
      version: '1',
      payer: 0,
      paymentID: `p${i}-${k}`,
      asset: 0,
      amount: '1',
    })),
  });
  return [
    ['a batch whose channels are not a list', () => ({ ...batch(), channels: one() }), 'message.channels'],
    ['a batch without channels', () => ({ type: 'channel-sync-batch' }), 'message.channels'],
    ['a batch with no channels and nothing synced', () => ({ ...batch(), channels: [] }), 'message.channels'],
    [
      'a batch with no channels and an empty synced list',
      () => ({ ...batch(), channels: [], synced: [] }),
      'message.channels',
    ],
    [
      'a batch naming one channel twice',
      () => ({ ...batch(), channels: [one(), one()] }),
      'message.channels',
    ],
    [
      'a batch of 257 channels',
      () => ({ ...batch(), channels: Array.from({ length: 257 }, (_, i) => other(i)) }),
      'message.channels',
    ],
    [
      'a batch of 1025 payments in all',
      () => ({ ...batch(), channels: [paying(1, 1000), paying(2, 25)] }),
      'message.channels',
    ],
    [
      'a batch channel with a missing signature',
      () => ({ ...batch(), channels: [{ ...one(), sigs: [SIG_A, null] }] }),
      'message.channels[0].sigs',
    ],
    [
      'a batch channel in an unknown phase',
      () => ({ ...batch(), channels: [other(1), { ...one(), phase: 'Dancing' }] }),
      'message.channels[1].phase',
    ],
    [
      'a batch channel that is no object',
      () => ({ ...batch(), channels: ['channel-sync'] }),
      'message.channels[0]',
    ],
    [
      'a batch channel with a repeated payment ID',
      () => {
        const p = paying(1, 2);
        p.payments[1]!.paymentID = p.payments[0]!.paymentID;
        return { ...batch(), channels: [p] };
      },
      'message.channels[0].payments',
    ],
    ['a synced ID that is not 32 bytes', () => ({ ...batch(), synced: ['0x1234'] }), 'message.synced[0]'],
    ['a synced list that is no list', () => ({ ...batch(), synced: CHANNEL_ID }), 'message.synced'],
    [
      'a synced list naming one channel twice',
      () => ({ ...batch(), synced: [CHANNEL_ID, CHANNEL_ID.toUpperCase().replace('0X', '0x')] }),
      'message.synced',
    ],
    [
      'a synced list of 257 channels',
      () => ({ ...batch(), synced: Array.from({ length: 257 }, (_, i) => idOf(i)) }),
      'message.synced',
    ],
  ];
}

const idOf = (i: number) => '0x' + i.toString(16).padStart(64, '0');

describe('malformed messages', () => {
  const update = () => encoded(EXAMPLES[3]!) as { state: Record<string, Json> } & Record<string, Json>;
  const withPayments = (payments: unknown) => ({ ...update(), payments });

  const cases: Array<[string, () => unknown, string]> = [
    ['not an object', () => 'channel-update', 'message'],
    ['an array', () => [], 'message'],
    ['an unknown type', () => ({ ...update(), type: 'channel-teleport' }), 'message.type'],
    [
      'a type inherited from the prototype',
      () => Object.create({ type: 'channel-update' }) as unknown,
      'message.type',
    ],
    ['a missing signature', () => ({ ...update(), sig: undefined }), 'message.sig'],
    ['payments that are not a list', () => withPayments({ paymentID: 'a' }), 'message.payments'],
    ['an empty list of payments', () => withPayments([]), 'message.payments'],
    [
      'a payment without an ID',
      () => withPayments([{ asset: 0, amount: '1' }]),
      'message.payments[0].paymentID',
    ],
    [
      'a payment ID with a space',
      () => withPayments([{ paymentID: 'a b', asset: 0, amount: '1' }]),
      'message.payments[0].paymentID',
    ],
    [
      'a payment ID of 65 characters',
      () => withPayments([{ paymentID: 'x'.repeat(65), asset: 0, amount: '1' }]),
      'message.payments[0].paymentID',
    ],
    [
      'a payment of zero',
      () => withPayments([{ paymentID: 'a', asset: 0, amount: '0' }]),
      'message.payments[0].amount',
    ],
    [
      'a negative payment',
      () => withPayments([{ paymentID: 'a', asset: 0, amount: '-1' }]),
      'message.payments[0].amount',
    ],
    [
      'a payment asset as a string',
      () => withPayments([{ paymentID: 'a', asset: '0', amount: '1' }]),
      'message.payments[0].asset',
    ],
    [
      'a payment ID twice',
      () =>
        withPayments([
          { paymentID: 'a', asset: 0, amount: '1' },
          { paymentID: 'a', asset: 0, amount: '2' },
        ]),
      'message.payments',
    ],
    [
      'more than 1024 payments',
      () =>
        withPayments(Array.from({ length: 1025 }, (_, i) => ({ paymentID: `p${i}`, asset: 0, amount: '1' }))),
      'message.payments',
    ],
    ['a 63-byte signature', () => ({ ...update(), sig: SIG_A.slice(0, -4) }), 'message.sig'],
    [
      'a version as a number',
      () => ({ ...update(), state: { ...update().state, version: 1 } }),
      'message.state.version',
    ],
    [
      'a negative version',
      () => ({ ...update(), state: { ...update().state, version: '-1' } }),
      'message.state.version',
    ],
    [
      'a version of 2^64',
      () => ({ ...update(), state: { ...update().state, version: (1n << 64n).toString() } }),
      'message.state.version',
    ],
    [
      'a version with a leading zero',
      () => ({ ...update(), state: { ...update().state, version: '01' } }),
      'message.state.version',
    ],
    [
      'a version in hex',
      () => ({ ...update(), state: { ...update().state, version: '0x1' } }),
      'message.state.version',
    ],
    [
      'odd-length app data',
      () => ({ ...update(), state: { ...update().state, appData: '0x0' } }),
      'message.state.appData',
    ],
    [
      'a channel ID without 0x',
      () => ({ ...update(), state: { ...update().state, channelID: CHANNEL_ID.slice(2) } }),
      'message.state.channelID',
    ],
    ['an actor index of -1', () => ({ ...update(), actorIdx: -1 }), 'message.actorIdx'],
    ['an actor index of 1.5', () => ({ ...update(), actorIdx: 1.5 }), 'message.actorIdx'],
    ['a phase that does not exist', () => ({ ...encoded(EXAMPLES[7]!), phase: 'Dancing' }), 'message.phase'],
    [
      'a sync with a missing signature',
      () => ({ ...encoded(EXAMPLES[7]!), sigs: [SIG_A, null] }),
      'message.sigs',
    ],
    ...batchCases(),
    [
      'a reason of 2000 characters',
      () => ({ ...encoded(EXAMPLES[2]!), reason: 'x'.repeat(2000) }),
      'message.reason',
    ],
    [
      'a participant that is no address',
      () => ({ ...encoded(EXAMPLES[0]!), participants: ['0x12', bob.address] }),
      'message.participants[0]',
    ],
    [
      'a balance of 2^256',
      () => {
        const m = encoded(EXAMPLES[0]!) as { fundingAgreement: string[][] };
        m.fundingAgreement[0]![0] = (1n << 256n).toString();
        return m;
      },
      'message.fundingAgreement[0][0]',
    ],
  ];
  it.each(cases)('refuses %s, naming the field', (_name, make, path) => {
    expect(refusal(make()).details.path).toBe(path);
  });

  it('refuses 1025 assets before reading them all', () => {
    const m = update();
    (m.state.outcome as { assets: Json[] }).assets = Array.from({ length: 1025 }, () => null);
    expect(refusal(m).details.path).toBe('message.state.outcome.assets');
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseChannelMessage('{"type":')).toThrow(MalformedMessageError);
  });

  it('turns an exploding getter or Proxy into MalformedMessageError', () => {
    const evil = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        has() {
          throw new Error('boom');
        },
        getOwnPropertyDescriptor() {
          throw new Error('boom');
        },
      },
    );
    expect(refusal(evil).details.path).toBe('message');
  });

  it('reads an index sent as -0 as 0, so the message it decodes is the one it re-encodes', () => {
    const update = EXAMPLES.find((m) => m.type === 'channel-update')!;
    const raw = JSON.parse(wire(update).replace('"actorIdx":0', '"actorIdx":-0')) as Record<string, unknown>;
    expect(Object.is(raw.actorIdx, -0)).toBe(true);
    const decoded = decodeChannelMessage(raw) as { actorIdx: number };
    expect(Object.is(decoded.actorIdx, 0)).toBe(true);
  });

  it('ignores extra fields and keeps nothing of them', () => {
    const m = { ...encoded(EXAMPLES[4]!), extra: 'x', ['__proto__']: { polluted: true } };
    const decoded = decodeChannelMessage(JSON.parse(JSON.stringify(m)) as unknown);
    expect(decoded).toEqual(EXAMPLES[4]);
    expect(Object.keys(decoded)).not.toContain('extra');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing

/** A decode attempt may only succeed (with a message that round-trips) or throw MalformedMessageError. */
function decodesOrRefuses(raw: unknown): void {
  let msg: ChannelMessage;
  try {
    msg = decodeChannelMessage(raw);
  } catch (err) {
    if (!(err instanceof MalformedMessageError)) throw err;
    expect(typeof err.details.path).toBe('string');
    return;
  }
  expect(decodeChannelMessage(JSON.parse(wire(msg)) as unknown)).toEqual(msg);
}

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => '0x' + Buffer.from(b).toString('hex'));
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

const allocationArb: fc.Arbitrary<Allocation> = fc
  .record({
    assets: fc.integer({ min: 1, max: 3 }),
    parts: fc.integer({ min: 2, max: 3 }),
    locked: fc.integer({ min: 0, max: 2 }),
  })
  .chain(({ assets, parts, locked }) =>
    fc.record({
      assets: fc.array(fc.record({ chainID: uint(64), ethHolder: hex(20), ccHolder: hex(32) }), {
        minLength: assets,
        maxLength: assets,
      }),
      backends: fc.array(uint(32), { minLength: assets, maxLength: assets }),
      balances: fc.array(fc.array(uint(256), { minLength: parts, maxLength: parts }), {
        minLength: assets,
        maxLength: assets,
      }),
      locked: fc.array(
        fc.record({
          ID: hex(32),
          balances: fc.array(uint(256), { minLength: assets, maxLength: assets }),
          indexMap: fc.array(fc.integer({ min: 0, max: parts - 1 }), { maxLength: parts }),
        }),
        { maxLength: locked },
      ),
    }),
  );

const stateArb: fc.Arbitrary<State> = fc.record({
  channelID: hex(32),
  version: uint(64),
  outcome: allocationArb,
  appData: fc.uint8Array({ maxLength: 40 }).map((b) => '0x' + Buffer.from(b).toString('hex')),
  isFinal: fc.boolean(),
});

const sig = hex(65);

const messageArb: fc.Arbitrary<ChannelMessage> = fc.oneof(
  fc.record({
    type: fc.constant('ledger-channel-proposal' as const),
    proposalID: hex(32),
    challengeDuration: uint(64),
    nonceShare: hex(32),
    participants: fc.array(hex(20), { minLength: 2, maxLength: 2 }),
    peers: fc.array(fc.string(), { minLength: 2, maxLength: 2 }),
    app: hex(20),
    initData: fc.constant('0x'),
    initBals: allocationArb,
    fundingAgreement: fc.array(fc.array(uint(256), { maxLength: 3 }), { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('ledger-channel-accept' as const),
    proposalID: hex(32),
    nonceShare: hex(32),
    sig,
  }),
  fc.record({
    type: fc.constant('channel-proposal-reject' as const),
    proposalID: hex(32),
    reason: fc.string(),
  }),
  fc.record({
    type: fc.constant('channel-update' as const),
    state: stateArb,
    actorIdx: fc.integer({ min: 0, max: 0xffff }),
    sig,
  }),
  fc.record({
    type: fc.constant('channel-update-accept' as const),
    channelID: hex(32),
    version: uint(64),
    sig,
  }),
  fc.record(
    {
      type: fc.constant('channel-update-reject' as const),
      channelID: hex(32),
      version: uint(64),
      reason: fc.string(),
      code: fc.string({ maxLength: 20 }),
    },
    { requiredKeys: ['type', 'channelID', 'version', 'reason'] },
  ),
  fc.record({
    type: fc.constant('channel-sync' as const),
    phase: fc.constantFrom(...PHASES),
    state: stateArb,
    sigs: fc.array(sig, { maxLength: 3 }),
  }),
  fc.record(
    {
      type: fc.constant('channel-sync-batch' as const),
      channels: fc.uniqueArray(
        fc.record({
          phase: fc.constantFrom(...PHASES),
          state: stateArb,
          sigs: fc.array(sig, { maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 4, selector: (c) => c.state.channelID },
      ),
      synced: fc.uniqueArray(hex(32), { maxLength: 4 }),
    },
    { requiredKeys: ['type', 'channels'] },
  ),
);

/** Replaces, deletes or retypes the value at a random path of a JSON tree. */
function mutate(root: Json, path: number[], op: number, replacement: Json): Json {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  let parent: Json = copy;
  let key: string | number | undefined;
  for (const step of path) {
    const node: Json = key === undefined ? parent : (parent as Record<string, Json>)[key]!;
    if (node === null || typeof node !== 'object') break;
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    if (key !== undefined) parent = node;
    key = keys[step % keys.length]!;
  }
  if (key === undefined) return replacement;
  const obj = parent as Record<string | number, Json>;
  const old = obj[key]!;
  switch (op % 6) {
    case 0:
      obj[key] = replacement;
      break;
    case 1:
      if (Array.isArray(obj)) obj.splice(key as number, 1);
      else delete obj[key];
      break;
    case 2:
      obj[key] = typeof old === 'string' ? old + '0' : [old];
      break;
    case 3:
      obj[key] = typeof old === 'string' ? old.slice(0, -1) : null;
      break;
    case 4:
      obj[key] =
        typeof old === 'string' && /^\d+$/.test(old) ? '-' + old : typeof old === 'number' ? old + 0.5 : {};
      break;
    default:
      obj[key] = typeof old === 'string' ? Number(old) : String(old);
  }
  return copy;
}

describe('the decoder under fuzzing', () => {
  it('round-trips thousands of random valid messages', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        expect(parseChannelMessage(wire(msg))).toEqual(msg);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses random values with MalformedMessageError only', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withTypedArray: true,
          withSparseArray: true,
          withBoxedValues: true,
        }),
        decodesOrRefuses,
      ),
      { numRuns: 3000 },
    );
  });

  it('handles random objects that have a valid type tag', () => {
    const tagged = fc.tuple(
      fc.constantFrom(...EXAMPLES.map((m) => m.type)),
      fc.dictionary(fc.string(), fc.jsonValue()),
    );
    fc.assert(
      fc.property(tagged, ([type, rest]) => decodesOrRefuses({ ...rest, type })),
      { numRuns: 3000 },
    );
  });

  it('handles random mutations of valid messages', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...EXAMPLES), messageArb),
        fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.jsonValue({ maxDepth: 2 }),
        (msg, path, op, replacement) => decodesOrRefuses(mutate(encoded(msg), path, op, replacement as Json)),
      ),
      { numRuns: 5000 },
    );
  });

  it('handles random text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .constantFrom(...EXAMPLES)
            .map(wire)
            .map((s) => s.slice(0, s.length / 2)),
        ),
        (text) => {
          try {
            parseChannelMessage(text);
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedMessageError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
