// A message that fails in Credo is answered at once, not after the response timeout: Bob's HTTP
// inbound transport waits 10 minutes for an answer, so each test would hang without it. Mallory
// holds a connection with Bob and packs plaintexts for him with Credo's own sender (her outbound
// hands the envelope to the test): an envelope Bob cannot decrypt is a 400, a message that
// decrypts but fails Credo's validation a 422, each logged with its source and without its body,
// and a valid message still gets its 202.
import 'reflect-metadata';

import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  DidCommMessageSender,
  DidCommOutboundMessageContext,
  type DidCommConnectionRecord,
  type DidCommOutboundPackage,
} from '@credo-ts/didcomm';

import { HttpInboundTransport } from '../../src/agent/transport/index.js';
import { captureAndConnect, RawMessage, type CapturingOutbound } from './didcomm-capture.js';
import { post } from './inbound-support.js';
import { createTestAgent, type TestAgentHandle } from './transport-support.js';

jest.setTimeout(60_000);

const lines: string[] = [];
const bobTransport = new HttpInboundTransport({
  path: '/didcomm',
  responseTimeoutMs: 10 * 60_000,
  log: (line) => lines.push(line),
  logLinesPerWindow: 1_000,
  logWindowMs: 10 * 60_000,
});

let bob: TestAgentHandle;
let mallory: TestAgentHandle;
let outbound: CapturingOutbound;
let mb: DidCommConnectionRecord;

beforeAll(async () => {
  bob = await createTestAgent({ label: 'Bob', inbound: [bobTransport] });
  mallory = await createTestAgent({ label: 'Mallory', inbound: [new HttpInboundTransport()] });
  await bob.agent.initialize();
  await mallory.agent.initialize();
  ({ outbound, connection: mb } = await captureAndConnect(mallory.agent, bob.agent, {
    peer: 'Mallory',
    inviter: 'Bob',
  }));
});

afterAll(async () => {
  await mallory?.close();
  await bob?.close();
});

/** Mallory packs `plaintext` for Bob as Credo sends a message on her connection. */
async function pack(plaintext: unknown): Promise<string> {
  const captured = new Promise<DidCommOutboundPackage>((resolve) => (outbound.capture = resolve));
  try {
    await mallory.agent.dependencyManager.resolve(DidCommMessageSender).sendMessage(
      new DidCommOutboundMessageContext(new RawMessage(plaintext), {
        agentContext: mallory.agent.context,
        connection: mb,
      }),
    );
    return JSON.stringify((await captured).payload);
  } finally {
    outbound.capture = undefined;
  }
}

const port = () => bobTransport.port!;

test('an envelope Bob cannot decrypt is answered 400 at once, logged without its body', async () => {
  const foreign = { protected: 'e30', iv: 'AAAA', ciphertext: 'U0VDUkVUQk9EWQ', tag: 'AAAA' };
  const answer = await post(port(), '/didcomm', JSON.stringify(foreign), '127.0.0.6');
  expect(answer.status).toBe(400);
  expect(answer.body).toBe('message could not be decrypted');
  expect(bobTransport.pendingRequests).toBe(0);
  const line = lines.find((l) => l.includes('from 127.0.0.6'));
  expect(line).toContain('400 from 127.0.0.6: message could not be decrypted');
  expect(lines.join('\n')).not.toContain('U0VDUkVUQk9EWQ');
});

test('a message failing validation is answered 422 at once', async () => {
  const id = randomUUID();
  const envelope = await pack({
    '@type': 'https://didcomm.org/trust_ping/1.0/ping',
    '@id': id,
    response_requested: 'not a boolean',
  });
  const answer = await post(port(), '/didcomm', envelope, '127.0.0.7');
  expect(answer.status).toBe(422);
  expect(answer.body).toBe('message failed validation');
  expect(lines.some((l) => l.includes('422 from 127.0.0.7: message failed validation'))).toBe(true);
  expect(lines.join('\n')).not.toContain(id);
});

test('a valid message without return route still gets its 202', async () => {
  const envelope = await pack({
    '@type': 'https://didcomm.org/trust_ping/1.0/ping',
    '@id': randomUUID(),
    response_requested: false,
  });
  const answer = await post(port(), '/didcomm', envelope, '127.0.0.8');
  expect(answer.status).toBe(202);
  expect(lines.some((l) => l.includes('from 127.0.0.8'))).toBe(false);
});
