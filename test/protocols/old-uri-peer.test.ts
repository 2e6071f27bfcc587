// An agent that knows only the old https://didcomm.org/ URIs (./old-uri-agent.ts, without a lean
// path), written to first by Bob, who
// runs this code: Bob's proposal goes again under the old URI when Alice refuses the new one, the
// channel opens and both pay under the old URIs. Bob restarts from his SQLite file, remembering
// nothing of Alice's URIs, pays again: the update is refused the same way and goes again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { JsonTransformer } from '@credo-ts/core';
import {
  DidCommEventTypes,
  type DidCommConnectionRecord,
  type DidCommMessageSentEvent,
} from '@credo-ts/didcomm';
import type { Hex } from '../../src/channels/types.js';
import { PerunLeanEventTypes, type PerunLeanMessageSentEvent } from '../../src/protocols/perun/lean/index.js';
import { LEGACY_PROTOCOL_NAMESPACE, PROTOCOL_NAMESPACE } from '../../src/protocols/protocol-uris.js';
import { startWorld, type World } from '../ethereum/harness.js';
import { forgetNewNamespace } from './old-uri-agent.js';
import { closeSides, connect, httpEndpoint, openChannel, side, type Side } from '../agent/lean-support.js';

jest.setTimeout(90_000);

const OLD_PERUN = `${LEGACY_PROTOCOL_NAMESPACE}perun/1.0`;
const NEW_PERUN = `${PROTOCOL_NAMESPACE}perun/1.0`;

let world: World;
let dir: string;
let bobPort = 0;
let alice: Side;
let bob: Side;
let ba: DidCommConnectionRecord;
let channel: Hex;
/** The @type of every Perun message each side sent, either path, in order. */
const sent = new Map<string, string[]>();

function record(s: Side): void {
  const types = sent.get(s.name) ?? [];
  sent.set(s.name, types);
  const note = (type: unknown) => {
    if (String(type).includes('/perun/1.0/')) types.push(String(type));
  };
  s.agent.events.on<DidCommMessageSentEvent>(DidCommEventTypes.DidCommMessageSent, (e) =>
    note((JsonTransformer.toJSON(e.payload.message.message) as { '@type': string })['@type']),
  );
  s.agent.events.on<PerunLeanMessageSentEvent>(PerunLeanEventTypes.MessageSent, (e) =>
    note(e.payload.plaintext['@type']),
  );
}

async function startBob(): Promise<Side> {
  const s = await side(world, 'Bob', 2, { file: join(dir, 'bob.sqlite'), port: bobPort });
  bobPort = Number(new URL(httpEndpoint(s)).port);
  record(s);
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'old-uri-peer-'));
  world = await startWorld();
  alice = await side(world, 'Alice', 1, { lean: false });
  forgetNewNamespace(alice.agent);
  record(alice);
  bob = await startBob();
  [, ba] = await connect(alice, bob);
}, 120_000);

afterAll(async () => {
  await closeSides([alice, bob]);
  await world.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('Bob proposes to Alice, who knows only the old URIs: the proposal goes again under them, the channel opens and both pay', async () => {
  channel = await openChannel(world, bob, alice, ba);
  await bob.client.sendPayment(channel, 3n);
  await alice.client.sendPayment(channel, 1n);
  expect(alice.client.channel(channel).state).toEqual(bob.client.channel(channel).state);
  expect(alice.client.channel(channel).state!.version).toBe(2n);
  const bobs = sent.get('Bob')!;
  expect(bobs[0]).toBe(`${NEW_PERUN}/ledger-channel-proposal`);
  expect(bobs.slice(1)).toEqual(bobs.slice(1).filter((t) => t.startsWith(`${OLD_PERUN}/`)));
  expect(bobs).toContain(`${OLD_PERUN}/ledger-channel-proposal`);
  expect(bobs).toContain(`${OLD_PERUN}/channel-update`);
  expect(sent.get('Alice')!.filter((t) => !t.startsWith(`${OLD_PERUN}/`))).toEqual([]);
});

test('Bob restarts remembering nothing of Alice’s URIs and pays: refused under the new URI, taken under the old', async () => {
  await closeSides([bob]);
  sent.set('Bob', []);
  bob = await startBob();
  await bob.client.sendPayment(channel, 2n);
  expect(bob.client.channel(channel).state!.version).toBe(3n);
  expect(alice.client.channel(channel).state).toEqual(bob.client.channel(channel).state);
  const bobs = sent.get('Bob')!;
  expect(bobs.some((t) => t.startsWith(`${NEW_PERUN}/`))).toBe(true);
  // The update went under the new URI, then again under the old (the restart's sync batch goes the
  // same way, its refusal learnt before or after the update's).
  expect(bobs.filter((t) => t.endsWith('/channel-update'))).toEqual([
    `${NEW_PERUN}/channel-update`,
    `${OLD_PERUN}/channel-update`,
  ]);
});
