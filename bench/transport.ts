// Transport benchmark: two Credo agents in this process, each with one of our inbound transports
// (HTTP or WebSocket on 127.0.0.1, the project's storage and KMS, as the transport tests build
// them), connected by an out-of-band invitation; then trust pings with response one at a time,
// without and with return routing (the answer on the sender's own HTTP request or socket). A
// round trip is Credo's generic DIDComm pipeline both ways: pack, send, receive, unpack, answer.
// Usage: npm run bench:transport [-- --pings N] [-- --json]   (--json: last line is one JSON object)
import 'reflect-metadata';

import {
  DidCommTrustPingEventTypes,
  type DidCommConnectionRecord,
  type TrustPingResponseReceivedEvent,
} from '@credo-ts/didcomm';
import { HttpInboundTransport, WsInboundTransport } from '../src/agent/transport/index.js';
import { createTestAgent, type TestAgent } from '../test/agent/transport-support.js';
import { intArg, timePayments } from './timing.js';

type Kind = 'http' | 'ws';

const json = process.argv.includes('--json');

/** Sends trust pings from `agent` and resolves when their responses arrive (also before the send returns). */
function pinger(agent: TestAgent) {
  const seen = new Set<string>();
  const waiting = new Map<string, () => void>();
  agent.events.on<TrustPingResponseReceivedEvent>(
    DidCommTrustPingEventTypes.DidCommTrustPingResponseReceivedEvent,
    (e) => {
      const id = e.payload.message.threadId;
      if (waiting.has(id)) waiting.get(id)!();
      else seen.add(id);
    },
  );
  return async (connectionId: string, withReturnRouting: boolean): Promise<void> => {
    const ping = await agent.didcomm.connections.sendPing(connectionId, {
      responseRequested: true,
      withReturnRouting,
    });
    if (seen.delete(ping.id)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(ping.id);
        reject(new Error(`no response to trust ping ${ping.id} within 20 s`));
      }, 20_000);
      waiting.set(ping.id, () => {
        clearTimeout(timer);
        waiting.delete(ping.id);
        resolve();
      });
    });
  };
}

async function startAgent(label: string, kind: Kind) {
  const transport =
    kind === 'http'
      ? new HttpInboundTransport({ path: '/didcomm' })
      : new WsInboundTransport({ path: '/didcomm' });
  const handle = await createTestAgent({ label, inbound: [transport] });
  try {
    await handle.agent.initialize();
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** B accepts A's invitation (URL form); B's side of the completed connection. */
async function connect(a: TestAgent, b: TestAgent): Promise<DidCommConnectionRecord> {
  const oob = await a.didcomm.oob.createInvitation({ label: 'A' });
  const url = oob.outOfBandInvitation.toUrl({ domain: 'https://invite.example' });
  const { connectionRecord } = await b.didcomm.oob.receiveInvitationFromUrl(url, { label: 'B' });
  if (!connectionRecord) throw new Error('B created no connection');
  const ba = await b.didcomm.connections.returnWhenIsConnected(connectionRecord.id, { timeoutMs: 20_000 });
  const [pending] = await a.didcomm.connections.findAllByOutOfBandId(oob.id);
  if (!pending) throw new Error('A has no connection for its invitation');
  await a.didcomm.connections.returnWhenIsConnected(pending.id, { timeoutMs: 20_000 });
  return ba;
}

interface Row {
  kind: Kind;
  returnRoute: boolean;
  rtPerS: number;
  p50: number;
  p95: number;
}

async function measure(kind: Kind, pings: number): Promise<Row[]> {
  const a = await startAgent('A', kind);
  try {
    const b = await startAgent('B', kind);
    try {
      const ba = await connect(a.agent, b.agent);
      const ping = pinger(b.agent);
      const rows: Row[] = [];
      for (const returnRoute of [false, true]) {
        await ping(ba.id, returnRoute); // warm-up
        const { figures } = await timePayments(pings, () => ping(ba.id, returnRoute));
        rows.push({
          kind,
          returnRoute,
          rtPerS: figures.payments_per_s,
          p50: figures.p50_ms,
          p95: figures.p95_ms,
        });
      }
      return rows;
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}

async function main(): Promise<void> {
  const pings = intArg('pings', 200);
  const rows = [...(await measure('http', pings)), ...(await measure('ws', pings))];
  console.log(`${pings} trust pings with response, one at a time, between two agents in one process`);
  console.log('transport  return route  round trips/s   p50 ms   p95 ms');
  for (const r of rows) {
    console.log(
      `${r.kind.padEnd(9)}  ${(r.returnRoute ? 'yes' : 'no').padEnd(12)}  ${String(r.rtPerS).padStart(13)}  ` +
        `${r.p50.toFixed(2).padStart(7)}  ${r.p95.toFixed(2).padStart(7)}`,
    );
  }
  if (json) {
    const result: Record<string, number> = { pings };
    for (const r of rows) {
      const key = `${r.kind}${r.returnRoute ? '_return_route' : ''}`;
      result[`${key}_rt_per_s`] = r.rtPerS;
      result[`${key}_p50_ms`] = r.p50;
      result[`${key}_p95_ms`] = r.p95;
    }
    console.log(JSON.stringify(result));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
