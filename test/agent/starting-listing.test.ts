// The starting view over a generated store (bench/channel-store-fixture.ts): 300 channels, each at
// a state both keys signed, every seventh with a newer state staged that only we signed, one in an
// asset of another chain. Before the node runs, GET /channels lists every channel of our chain
// with the balances and version of its latest fully signed state, `synced: false`, and GET
// /channels/:id the same view. And the handover: a request the starting view took before the
// node's API took the listener over is answered once, by the starting view; the next request on
// the same connection by the node's API.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAmount } from '../../src/agent/api/amounts.js';
import { generatedChannel, writeChannels, type GeneratedChannel } from '../../bench/channel-store-fixture.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { ScopedTokenFile } from '../../src/agent/api/scoped-tokens.js';
import { createApiServer, listenApi, type ApiListener } from '../../src/agent/api/server.js';
import { startingNode } from '../../src/agent/node/starting-api.js';
import type { AgentNodeApi, ChannelView } from '../../src/agent/node/types.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import type { Address, Hex, Params, State } from '../../src/channels/types.js';

const CHANNELS = 300;
const TOKEN = 'starting-listing-token';
const HOLDER = '0x00000000000000000000000000000000000000e1' as Address;
const OTHER_HOLDER = '0x00000000000000000000000000000000000000e2' as Address;
const ZERO32 = `0x${'00'.repeat(32)}` as Hex;
const FUND = 10n ** 16n;
const signers = [new EthereumSigner(`0x${'11'.repeat(32)}`), new EthereumSigner(`0x${'22'.repeat(32)}`)];

let dir: string;
let file: string;
let channels: GeneratedChannel[];
let listener: ApiListener | undefined;

function template(holder: Address): { params: Params; state: State } {
  return {
    params: {
      challengeDuration: 60n,
      nonce: 1000n,
      participants: signers.map((s) => ({ ethAddress: s.address, ccAddress: ZERO32 })),
      app: `0x${'00'.repeat(20)}` as Address,
      ledgerChannel: true,
      virtualChannel: false,
    },
    state: {
      channelID: ZERO32,
      version: 0n,
      outcome: {
        assets: [{ chainID: 1337n, ethHolder: holder, ccHolder: ZERO32 }],
        backends: [1n],
        balances: [[FUND, 0n]],
        locked: [],
      },
      appData: '0x' as Hex,
      isFinal: false,
    },
  };
}

/** Channel i's balances: Alice's first. */
const balancesOf = (i: number): [bigint, bigint] => [FUND - BigInt(i) * 1000n, BigInt(i) * 1000n];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perun-starting-listing-'));
  file = join(dir, 'agent.sqlite');
  channels = [];
  for (let i = 0; i < CHANNELS; i++)
    channels.push(
      await generatedChannel(
        template(HOLDER),
        i,
        { version: BigInt(2 + (i % 5)), balances: balancesOf(i) },
        signers,
      ),
    );
  const elsewhere = await generatedChannel(
    template(OTHER_HOLDER),
    CHANNELS,
    { version: 3n, balances: [FUND, 0n] },
    signers,
  );
  const ds = await openAgentStore(file);
  try {
    const store = new TypeOrmChannelStore(ds);
    await writeChannels(store, [...channels, elsewhere], {
      ourIndex: 0,
      peers: ['did:example:alice', 'did:example:bob'],
      phase: 'Acting',
      // Every seventh: a newer state we signed alone, half of our balance to the peer.
      stagedOf: (i) => {
        if (i % 7 !== 0 || i >= CHANNELS) return undefined;
        const state = structuredClone(channels[i]!.signed.state);
        state.version += 1n;
        state.outcome.balances = [[0n, FUND]];
        return { state, sigs: [channels[i]!.signed.sigs[0]!, null] };
      },
    });
  } finally {
    await ds.destroy();
  }
}, 60_000);

afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startingApp() {
  return createApiServer(startingNode({ file, ethHolders: new Set([HOLDER.toLowerCase()]) }), {
    token: TOKEN,
    scopedTokens: new ScopedTokenFile(dir),
  });
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${listener!.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

it('lists every stored channel of its chain at its latest fully signed state, not synced', async () => {
  listener = await listenApi(startingApp());
  const views = await get<ChannelView[]>('/channels');
  expect(views).toHaveLength(CHANNELS);
  const byId = new Map(views.map((v) => [v.id.toLowerCase(), v]));
  for (const [i, c] of channels.entries()) {
    const [ours, theirs] = balancesOf(i);
    expect(byId.get(c.id.toLowerCase())).toEqual({
      id: c.id,
      connectionId: undefined,
      peerDid: 'did:example:bob',
      peerLabel: undefined,
      idx: 0,
      phase: 'Acting',
      status: 'open',
      version: String(2 + (i % 5)),
      asset: 'ETH',
      ourBalance: formatAmount(ours),
      theirBalance: formatAmount(theirs),
      challengeDuration: 60,
      participants: signers.map((s) => s.address),
      isFinal: false,
      virtual: false,
      locked: '0',
      queuedPayments: 0,
      synced: false,
    });
  }
  const one = channels[7]!.id;
  expect(await get<ChannelView>(`/channels/${one}`)).toEqual(byId.get(one.toLowerCase()));
});

/** Sends `text` on `socket`. */
const send = (socket: ReturnType<typeof connect>, text: string) =>
  new Promise<void>((done) => socket.write(text, () => done()));

it('answers a request it took before the handover once, and the node the next one', async () => {
  listener = await listenApi(startingApp());
  const node = new Proxy({ channels: () => [{ id: 'from-the-node' }] } as unknown as AgentNodeApi, {
    get: (target, key) =>
      (Reflect.get(target, key) as unknown) ??
      (() => {
        throw new Error(`the node was asked ${String(key)}`);
      }),
  });
  const nodeApp = createApiServer(node, { token: TOKEN, scopedTokens: new ScopedTokenFile(dir) });

  const { port } = new URL(listener.url);
  const socket = connect(Number(port), '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (d: string) => (received += d));
  await new Promise<void>((done) => socket.once('connect', () => done()));
  const body = JSON.stringify({ amount: '0.000001' });
  const head = (method: string, path: string, length: number) =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  // The starting view takes the payment and waits for its body while the node's API takes over.
  await send(socket, head('POST', `/channels/${channels[0]!.id}/payments`, body.length) + body.slice(0, 5));
  await new Promise((r) => setTimeout(r, 100));
  listener.serve(nodeApp);
  await send(socket, body.slice(5));
  const deadline = Date.now() + 5000;
  while (!received.includes('NODE_STARTING') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  // The next request on the same connection: the node's.
  await send(socket, head('GET', '/channels', 0));
  while (!received.includes('from-the-node') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  expect(statuses).toEqual(['503', '200']);
  expect(received.match(/NODE_STARTING/g)).toHaveLength(1);
  expect(received).toContain('from-the-node');
});
