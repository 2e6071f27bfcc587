// REST calls to an agent process for the benchmarks: our own keep-alive node:http client (the
// global fetch alone costs milliseconds a request), `sockets` connections at most, each call
// bounded by a timeout when one is given; rejects on a status other than 2xx. And the channel the
// benchmarks pay on.
import http from 'node:http';
import type { ChannelView } from '../src/agent/node/types.js';
import type { AgentProcess } from '../src/agent/process/agent-process.js';

/** Alice opens a channel with `fund` ETH of hers on the connection; answers once Bob has it open too. */
export async function openChannel(
  alice: AgentProcess,
  bob: AgentProcess,
  connectionId: string,
  fund: string,
): Promise<ChannelView> {
  const opened = bob.event((e) => e.type === 'channel-opened');
  const channel = await alice.api<ChannelView>('POST', '/channels', { connectionId, fund, peerFund: '0' });
  await opened;
  return channel;
}

export function restClient(agent: AgentProcess, sockets = 1) {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const call = (method: string, path: string, body?: unknown, timeoutMs?: number) =>
    new Promise<unknown>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        agent.apiUrl + path,
        {
          method,
          agent: keepAlive,
          headers: {
            authorization: `Bearer ${agent.token}`,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 300)
              reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
            else resolve(text === '' ? undefined : (JSON.parse(text) as unknown));
          });
          res.on('error', reject);
        },
      );
      if (timeoutMs !== undefined)
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  return { call, close: () => keepAlive.destroy() };
}
