// TonChain over a toncenter-shaped HTTP API (v2): the chain clock from the last masterchain block's
// header, the chain ID from config parameter 19, balances, get-methods and an account's raw
// transactions (paged newest first, returned oldest first). The chain server
// (./http-server.ts) answers it for a sandbox shared by several processes; the same client reads
// a real network's API at its URL (with an API key), but sending there needs a wallet contract:
// HttpDevWallet sends through the chain server's development wallets only.
import { Address as TonAddress, Cell, loadTransaction, TupleReader, type TupleItem } from '@ton/core';
import { ChainError } from '../errors.js';
import {
  chainIdOfParam19,
  tonTransactionOf,
  type TonChain,
  type TonTransaction,
  type TonWallet,
} from './chain.js';
import { MAX_TRANSACTIONS } from './http-server.js';

export interface HttpTonChainOptions {
  /** Sent as X-API-Key (toncenter's key header). */
  apiKey?: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

interface RawTransaction {
  transaction_id: { lt: string; hash: string };
  data: string;
}

function stackItem(entry: unknown): TupleItem {
  if (!Array.isArray(entry)) throw new ChainError('a get-method result entry is malformed', { entry });
  const [kind, value] = entry as [unknown, unknown];
  if (kind === 'num' && typeof value === 'string') {
    const neg = value.startsWith('-');
    const v = BigInt(neg ? value.slice(1) : value);
    return { type: 'int', value: neg ? -v : v };
  }
  if (kind === 'cell' && typeof value === 'object' && value !== null)
    return { type: 'cell', cell: Cell.fromBase64(String((value as { bytes: unknown }).bytes)) };
  if (kind === 'null') return { type: 'null' };
  throw new ChainError('a get-method result entry of a kind this client does not read', { kind });
}

/** The TON chain behind a toncenter-shaped HTTP API at `url` (…/api/v2). */
export class HttpTonChain implements TonChain {
  readonly url: string;
  readonly chainID: bigint;
  readonly #options: HttpTonChainOptions;

  private constructor(url: string, chainID: bigint, options: HttpTonChainOptions) {
    this.url = url;
    this.chainID = chainID;
    this.#options = options;
  }

  /** Connects to the API at `url` and reads the network's chain ID. */
  static async connect(url: string, options: HttpTonChainOptions = {}): Promise<HttpTonChain> {
    const base = url.replace(/\/+$/, '');
    const p19 = await request<{ config: { bytes: string } }>(base, options, 'GET', '/getConfigParam', {
      config_id: '19',
    });
    return new HttpTonChain(base, chainIdOfParam19(Cell.fromBase64(p19.config.bytes)), options);
  }

  /** GET with query parameters, or POST with a JSON body; the `result` of an `ok` answer. */
  call<T>(method: 'GET' | 'POST', path: string, args: Record<string, unknown> = {}): Promise<T> {
    return request<T>(this.url, this.#options, method, path, args);
  }

  async now(): Promise<bigint> {
    const info = await this.call<{ last: { workchain: number; shard: string; seqno: number } }>(
      'GET',
      '/getMasterchainInfo',
    );
    const { workchain, shard, seqno } = info.last;
    const header = await this.call<{ gen_utime: number }>('GET', '/getBlockHeader', {
      workchain,
      shard,
      seqno,
    });
    return BigInt(header.gen_utime);
  }

  async get(address: TonAddress, method: string, args: TupleItem[] = []): Promise<TupleReader> {
    const stack = args.map((a) => {
      if (a.type !== 'int') throw new ChainError('get-method arguments are integers here', { type: a.type });
      return ['num', (a.value < 0n ? '-0x' : '0x') + (a.value < 0n ? -a.value : a.value).toString(16)];
    });
    const r = await this.call<{ exit_code: number; stack: unknown[] }>('POST', '/runGetMethod', {
      address: address.toString(),
      method,
      stack,
    });
    if (r.exit_code !== 0 && r.exit_code !== 1)
      throw new ChainError('get-method failed', { method, exitCode: r.exit_code });
    return new TupleReader(r.stack.map(stackItem));
  }

  async transactions(address: TonAddress, fromLt: bigint): Promise<TonTransaction[]> {
    const out: TonTransaction[] = [];
    let page: { lt?: string; hash?: string } = {};
    for (;;) {
      const raw = await this.call<RawTransaction[]>('GET', '/getTransactions', {
        address: address.toString(),
        limit: MAX_TRANSACTIONS,
        to_lt: (fromLt - 1n).toString(),
        ...page,
      });
      for (const r of raw) {
        const lt = BigInt(r.transaction_id.lt);
        if (lt >= fromLt && (page.lt === undefined || lt < BigInt(page.lt)))
          out.push(tonTransactionOf(loadTransaction(Cell.fromBase64(r.data).beginParse())));
      }
      const last = raw.at(-1);
      if (raw.length < MAX_TRANSACTIONS || last === undefined) break;
      page = { lt: last.transaction_id.lt, hash: last.transaction_id.hash };
    }
    return out.reverse();
  }

  async headLt(address: TonAddress): Promise<bigint> {
    const [latest] = await this.call<RawTransaction[]>('GET', '/getTransactions', {
      address: address.toString(),
      limit: 1,
    });
    return latest === undefined ? 0n : BigInt(latest.transaction_id.lt) + 1n;
  }

  async balance(address: TonAddress): Promise<bigint> {
    return BigInt(await this.call<string>('GET', '/getAddressBalance', { address: address.toString() }));
  }

  /** A development wallet of the chain server, by name (the same wallet for the same name). */
  async devWallet(name: string): Promise<TonWallet> {
    const { address } = await this.call<{ address: string }>('POST', '/dev/wallet', { name });
    return new HttpDevWallet(this, name, TonAddress.parse(address));
  }

  /** Moves the chain server's clock forward by `seconds`. */
  async advance(seconds: number): Promise<void> {
    await this.call('POST', '/dev/advance', { seconds });
  }
}

/** A wallet the chain server signs for (development only). */
export class HttpDevWallet implements TonWallet {
  readonly #chain: HttpTonChain;
  readonly #name: string;
  readonly address: TonAddress;

  constructor(chain: HttpTonChain, name: string, address: TonAddress) {
    this.#chain = chain;
    this.#name = name;
    this.address = address;
  }

  async send(to: TonAddress, value: bigint, body: Cell): Promise<void> {
    const r = await this.#chain.call<Record<string, unknown> & { success: boolean }>('POST', '/dev/send', {
      wallet: this.#name,
      to: to.toString(),
      value: value.toString(),
      body: body.toBoc().toString('base64'),
    });
    if (!r.success) {
      const { success: _, error, ...details } = r;
      throw new ChainError(String(error ?? 'the contract refused the message'), details);
    }
  }

  balance(): Promise<bigint> {
    return this.#chain.balance(this.address);
  }
}

async function request<T>(
  base: string,
  options: HttpTonChainOptions,
  method: 'GET' | 'POST',
  path: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const url = new URL(base + path);
  if (method === 'GET') for (const [k, v] of Object.entries(args)) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method === 'POST') headers['content-type'] = 'application/json';
  if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: method === 'POST' ? JSON.stringify(args) : undefined,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new ChainError('the TON API did not answer', { url: url.origin + url.pathname }, { cause: err });
  }
  let body: { ok?: boolean; result?: unknown; error?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new ChainError('the TON API answered no JSON', { status: res.status, path }, { cause: err });
  }
  if (!res.ok || body.ok !== true)
    throw new ChainError('the TON API refused the request', { status: res.status, path, error: body.error });
  return body.result as T;
}
