// A TON chain that separate processes share: the in-process sandbox (SandboxTonChain) with the
// Perun contract deployed, behind an HTTP API on loopback shaped like toncenter's v2 API (the
// subset the backend reads: getMasterchainInfo, getBlockHeader, getConfigParam, getAddressBalance,
// getTransactions, runGetMethod, sendBoc) plus development routes a real network does not have
// (/dev/wallet, /dev/send: named wallets the server signs for, as anvil's unlocked accounts;
// /dev/advance: the clock). The chain's clock follows the wall clock plus what /dev/advance added,
// so a challenge duration ends without anybody sending a message.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Address as TonAddress, Cell, loadMessage, type TupleItem } from '@ton/core';
import { ChainError } from '../errors.js';
import { configParam19, SandboxTonChain, type TonWallet } from './chain.js';

/** Routes of the API, under the server's URL. */
export const TON_API_PREFIX = '/api/v2';

/** The most transactions one getTransactions answer holds (toncenter's limit too). */
export const MAX_TRANSACTIONS = 100;

type Json = Record<string, unknown>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TonChainServer {
  /** The API's base URL (e.g. http://127.0.0.1:port/api/v2). */
  url: string;
  chain: SandboxTonChain;
  /** The deployed Perun contract. */
  perun: TonAddress;
  close(): Promise<void>;
}

const addressParam = (v: unknown): TonAddress => {
  try {
    return TonAddress.parse(String(v));
  } catch {
    throw new HttpError(400, 'not a TON address');
  }
};

const bigParam = (v: unknown, name: string): bigint => {
  if (typeof v !== 'string' || !/^-?(0x[0-9a-fA-F]+|\d+)$/.test(v))
    throw new HttpError(400, `${name}: not an integer`);
  return v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v);
};

/** The toncenter stack entry of a get-method result item (integers; cells as BOC). */
function stackEntry(item: TupleItem): [string, unknown] {
  switch (item.type) {
    case 'int':
      return [
        'num',
        (item.value < 0n ? '-0x' : '0x') + (item.value < 0n ? -item.value : item.value).toString(16),
      ];
    case 'cell':
    case 'slice':
      return ['cell', { bytes: item.cell.toBoc().toString('base64') }];
    case 'null':
      return ['null', null];
    case 'builder':
    case 'nan':
    case 'tuple':
      throw new HttpError(500, `a get-method returned a ${item.type}, which this API does not carry`);
  }
}

class Routes {
  readonly #chain: SandboxTonChain;
  readonly #wallets = new Map<string, TonWallet>();
  #offset = 0;
  #seqno = 1;

  constructor(chain: SandboxTonChain) {
    this.#chain = chain;
  }

  /** The chain's clock: the wall clock plus what /dev/advance added, never backwards. */
  tick(): void {
    const wall = Math.floor(Date.now() / 1000) + this.#offset;
    const now = this.#chain.blockchain.now ?? 0;
    if (wall > now) this.#chain.blockchain.now = wall;
  }

  async handle(method: string, path: string, q: URLSearchParams, body: Json): Promise<unknown> {
    const bc = this.#chain.blockchain;
    switch (`${method} ${path}`) {
      case 'GET /getMasterchainInfo':
        return {
          '@type': 'blocks.masterchainInfo',
          last: { workchain: -1, shard: '-9223372036854775808', seqno: this.#seqno },
        };
      case 'GET /getBlockHeader':
        return { '@type': 'blocks.header', id: { workchain: -1, seqno: this.#seqno }, gen_utime: bc.now };
      case 'GET /getConfigParam': {
        if (q.get('config_id') !== '19')
          throw new HttpError(400, 'this chain serves config parameter 19 only');
        const p19 = configParam19(bc.config);
        if (p19 === undefined) throw new HttpError(404, 'no config parameter 19');
        return { '@type': 'configInfo', config: { bytes: p19.toBoc().toString('base64') } };
      }
      case 'GET /getAddressBalance':
        return (await bc.getContract(addressParam(q.get('address')))).balance.toString();
      case 'GET /getTransactions':
        return this.#transactions(q);
      case 'POST /runGetMethod':
        return this.#runGetMethod(body);
      case 'POST /sendBoc':
        return this.#sendBoc(body);
      case 'POST /dev/wallet': {
        const name = String(body.name ?? '');
        if (!/^[\w.-]{1,64}$/.test(name)) throw new HttpError(400, 'name: 1 to 64 letters, digits, . _ -');
        return { address: (await this.#wallet(name)).address.toString() };
      }
      case 'POST /dev/send':
        return this.#devSend(body);
      case 'POST /dev/advance': {
        const seconds = Number(body.seconds);
        if (!Number.isInteger(seconds) || seconds < 0)
          throw new HttpError(400, 'seconds: a non-negative integer');
        this.#offset += seconds;
        this.tick();
        return { now: bc.now };
      }
      default:
        throw new HttpError(404, `no route ${method} ${path}`);
    }
  }

  async #wallet(name: string): Promise<TonWallet> {
    let w = this.#wallets.get(name);
    if (w === undefined) {
      w = await this.#chain.wallet(`dev-${name}`);
      this.#wallets.set(name, w);
    }
    return w;
  }

  /** Newest first, as toncenter: from `lt` (inclusive; default the latest) down to above `to_lt`. */
  async #transactions(q: URLSearchParams) {
    const address = addressParam(q.get('address'));
    const limit = Math.min(MAX_TRANSACTIONS, Number(q.get('limit') ?? 10) || 10);
    const fromLt = q.has('lt') ? bigParam(q.get('lt'), 'lt') : undefined;
    const toLt = q.has('to_lt') ? bigParam(q.get('to_lt'), 'to_lt') : 0n;
    const all = await this.#chain.blockchain.getTransactions(address);
    return all
      .filter((t) => t.lt > toLt && (fromLt === undefined || t.lt <= fromLt))
      .sort((a, b) => (a.lt > b.lt ? -1 : a.lt < b.lt ? 1 : 0))
      .slice(0, limit)
      .map((t) => ({
        '@type': 'raw.transaction',
        utime: t.now,
        transaction_id: { lt: t.lt.toString(), hash: t.hash().toString('base64') },
        data: t.raw.toBoc().toString('base64'),
      }));
  }

  async #runGetMethod(body: Json) {
    const address = addressParam(body.address);
    if (typeof body.method !== 'string') throw new HttpError(400, 'method: a name');
    const stack = Array.isArray(body.stack) ? (body.stack as unknown[]) : [];
    const args: TupleItem[] = stack.map((e) => {
      if (!Array.isArray(e) || e[0] !== 'num') throw new HttpError(400, 'stack: ["num", "0x…"] entries only');
      return { type: 'int', value: bigParam(e[1], 'stack') };
    });
    const r = await this.#chain.blockchain.runGetMethod(address, body.method, args);
    return { gas_used: Number(r.gasUsed), exit_code: r.exitCode, stack: r.stack.map(stackEntry) };
  }

  /** Delivers an external-in message (a wallet's signed transfer on a real network). */
  async #sendBoc(body: Json) {
    let message;
    try {
      message = loadMessage(Cell.fromBase64(String(body.boc)).beginParse());
    } catch {
      throw new HttpError(400, 'boc: not a message');
    }
    if (message.info.type !== 'external-in') throw new HttpError(400, 'boc: only external messages are sent');
    try {
      await this.#chain.blockchain.sendMessage(message);
    } catch (err) {
      throw new HttpError(
        400,
        `the message was not accepted: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.#seqno++;
    return { '@type': 'ok' };
  }

  async #devSend(body: Json) {
    const wallet = await this.#wallet(String(body.wallet ?? ''));
    const to = addressParam(body.to);
    const value = bigParam(body.value, 'value');
    let cell: Cell;
    try {
      cell = Cell.fromBase64(String(body.body));
    } catch {
      throw new HttpError(400, 'body: not a BOC');
    }
    this.#seqno++;
    try {
      await wallet.send(to, value, cell);
      return { success: true };
    } catch (err) {
      if (!(err instanceof ChainError)) throw err;
      return { success: false, error: err.message, ...err.details };
    }
  }
}

async function readJson(req: IncomingMessage): Promise<Json> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 1_000_000) throw new HttpError(413, 'the body is too large');
  }
  if (text === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'the body is not a JSON object');
}

function reply(res: ServerResponse, status: number, body: Json): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

/**
 * Starts a sandbox chain, deploys the Perun contract and serves both on `host:port` (default
 * 127.0.0.1 and a free port). Requests run one at a time, in arrival order.
 */
export async function startTonChainServer(o: { host?: string; port?: number } = {}): Promise<TonChainServer> {
  const chain = await SandboxTonChain.create();
  const perun = await chain.deployPerun();
  const routes = new Routes(chain);
  let queue: Promise<unknown> = Promise.resolve();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    queue = queue.then(async () => {
      try {
        if (!url.pathname.startsWith(TON_API_PREFIX + '/')) throw new HttpError(404, 'not found');
        const body = req.method === 'POST' ? await readJson(req) : {};
        routes.tick();
        const result = await routes.handle(
          req.method ?? 'GET',
          url.pathname.slice(TON_API_PREFIX.length),
          url.searchParams,
          body,
        );
        reply(res, 200, { ok: true, result });
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        reply(res, status, {
          ok: false,
          error: err instanceof Error ? err.message : String(err),
          code: status,
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}${TON_API_PREFIX}`,
    chain,
    perun,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
