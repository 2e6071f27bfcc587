// The TON network as the backend needs it (TonChain: wallets that send messages, get-methods,
// the contract's transactions in logical-time order, the chain clock), and its in-process
// implementation on @ton/sandbox (SandboxTonChain), which also deploys the Perun contract. The
// sandbox's clock is set by hand (advance) so disputes need no waiting; a real network would be
// a TonChain over an HTTP API (docs/ton.md says what is missing).
import { Blockchain, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import {
  Address as TonAddress,
  beginCell,
  contractAddress,
  Dictionary,
  type Cell,
  type StateInit,
  type Transaction,
  type TupleItem,
  type TupleReader,
} from '@ton/core';
import { ChainError } from '../errors.js';
import { tonArtifact } from './artifact.js';

/** A wallet that sends internal messages. */
export interface TonWallet {
  readonly address: TonAddress;
  /** Sends `value` nanotons with `body` to `to`; rejects with ChainError when the destination refused it (its value bounces back). */
  send(to: TonAddress, value: bigint, body: Cell): Promise<void>;
  balance(): Promise<bigint>;
}

/** One transaction of an account: its logical time, inbound message and external-out (log) bodies. */
export interface TonTransaction {
  lt: bigint;
  hash: string;
  inBody: Cell | undefined;
  /** Nanotons the inbound internal message carried (0 for an external one). */
  inValue: bigint;
  /** Gas the compute phase used, and every fee the transaction paid (nanotons). */
  gasUsed: bigint;
  fees: bigint;
  logs: Cell[];
}

export interface TonChain {
  /**
   * The chain ID of TON assets: the network's global ID (config parameter 19, a signed 32-bit
   * integer: −239 on mainnet) read as unsigned, since the core's chain IDs are non-negative.
   */
  readonly chainID: bigint;
  /** Chain time in seconds. */
  now(): Promise<bigint>;
  get(address: TonAddress, method: string, args?: TupleItem[]): Promise<TupleReader>;
  /** The account's transactions with logical time ≥ `fromLt`, oldest first. */
  transactions(address: TonAddress, fromLt: bigint): Promise<TonTransaction[]>;
  /** The logical time the next transaction will have at least. */
  headLt(address: TonAddress): Promise<bigint>;
  balance(address: TonAddress): Promise<bigint>;
}

/** The Perun contract's initial state: its code and empty storage under `id` (distinct IDs, distinct contracts). */
export function perunStateInit(id = 0): StateInit {
  const data = beginCell().storeUint(id, 32).storeBit(false).storeBit(false).endCell();
  return { code: tonArtifact().code, data };
}

/** The chain ID named by config parameter 19 (the global ID), undefined: 0. */
export function chainIdOfParam19(p19: Cell | undefined): bigint {
  return p19 === undefined ? 0n : p19.beginParse().loadUintBig(32);
}

/** Config parameter 19 of a whole configuration cell. */
export function configParam19(config: Cell): Cell | undefined {
  return Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), config).get(19);
}

/** A raw transaction as the backend reads it. */
export function tonTransactionOf(t: Transaction): TonTransaction {
  return {
    lt: t.lt,
    hash: t.hash().toString('hex'),
    inBody: t.inMessage?.body,
    inValue: t.inMessage?.info.type === 'internal' ? t.inMessage.info.value.coins : 0n,
    gasUsed:
      t.description.type === 'generic' && t.description.computePhase.type === 'vm'
        ? t.description.computePhase.gasUsed
        : 0n,
    fees: t.totalFees.coins,
    logs: t.outMessages
      .values()
      .filter((m) => m.info.type === 'external-out')
      .map((m) => m.body),
  };
}

/** Whether the transaction's compute and action phases succeeded, and its exit code. */
export function transactionOutcome(t: Transaction): {
  ok: boolean;
  exitCode?: number;
  actionResult?: number;
} {
  const d = t.description;
  if (d.type !== 'generic') return { ok: false };
  const compute = d.computePhase;
  const exitCode = compute.type === 'vm' ? compute.exitCode : undefined;
  const ok = compute.type === 'vm' && compute.success && d.actionPhase?.success === true && !d.aborted;
  return { ok, exitCode, actionResult: d.actionPhase?.resultCode };
}

/** Runs sandbox sends one at a time: a send's result holds only the transactions it caused. */
class SendQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(f: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(f, f);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

class SandboxWallet implements TonWallet {
  readonly #chain: Blockchain;
  readonly #treasury: SandboxContract<TreasuryContract>;
  readonly #queue: SendQueue;

  constructor(chain: Blockchain, treasury: SandboxContract<TreasuryContract>, queue: SendQueue) {
    this.#chain = chain;
    this.#treasury = treasury;
    this.#queue = queue;
  }

  get address(): TonAddress {
    return this.#treasury.address;
  }

  async send(to: TonAddress, value: bigint, body: Cell): Promise<void> {
    const r = await this.#queue.run(() => this.#treasury.send({ to, value, body, bounce: true }));
    const tx = r.transactions.find(
      (t) => t.inMessage?.info.type === 'internal' && t.inMessage.info.dest.equals(to),
    );
    if (tx === undefined) throw new ChainError('the message did not arrive', { to: to.toString() });
    if (tx.description.type !== 'generic')
      throw new ChainError('unexpected transaction type', { type: tx.description.type });
    const { ok, exitCode, actionResult } = transactionOutcome(tx);
    if (!ok)
      throw new ChainError('the contract refused the message', { exitCode, actionResult, to: to.toString() });
  }

  async balance(): Promise<bigint> {
    return (await this.#chain.getContract(this.address)).balance;
  }
}

/** An in-process TON blockchain (@ton/sandbox) with a manual clock. */
export class SandboxTonChain implements TonChain {
  readonly blockchain: Blockchain;
  readonly chainID: bigint;
  readonly #queue = new SendQueue();

  private constructor(blockchain: Blockchain) {
    this.blockchain = blockchain;
    this.chainID = chainIdOfParam19(configParam19(blockchain.config));
  }

  /** A fresh sandbox whose clock starts at `now` (seconds; default: the wall clock). */
  static async create(now = Math.floor(Date.now() / 1000)): Promise<SandboxTonChain> {
    const blockchain = await Blockchain.create();
    blockchain.now = now;
    return new SandboxTonChain(blockchain);
  }

  /** A wallet funded with `balance` nanotons (the same wallet for the same name). */
  async wallet(name: string, balance = 1_000_000_000_000n): Promise<TonWallet> {
    return new SandboxWallet(this.blockchain, await this.blockchain.treasury(name, { balance }), this.#queue);
  }

  /** Deploys the Perun contract with `value` nanotons for its storage and payout fees. */
  async deployPerun(id = 0, value = 1_000_000_000n): Promise<TonAddress> {
    const init = perunStateInit(id);
    const address = contractAddress(0, init);
    const deployer = await this.blockchain.treasury('perun-deployer');
    // deployer.send resolves when the deployment ran (provider.internal does not wait for it)
    await this.#queue.run(() => deployer.send({ to: address, value, init, bounce: false }));
    if ((await this.blockchain.getContract(address)).accountState?.type !== 'active')
      throw new ChainError('the Perun contract was not deployed', { address: address.toString() });
    return address;
  }

  async now(): Promise<bigint> {
    return BigInt(this.blockchain.now ?? Math.floor(Date.now() / 1000));
  }

  /** Moves the clock forward by `seconds`. */
  advance(seconds: number | bigint): void {
    this.blockchain.now = Number(
      BigInt(this.blockchain.now ?? Math.floor(Date.now() / 1000)) + BigInt(seconds),
    );
  }

  async get(address: TonAddress, method: string, args: TupleItem[] = []): Promise<TupleReader> {
    const r = await this.blockchain.runGetMethod(address, method, args);
    if (r.exitCode !== 0 && r.exitCode !== 1)
      throw new ChainError('get-method failed', { method, exitCode: r.exitCode });
    return r.stackReader;
  }

  async transactions(address: TonAddress, fromLt: bigint): Promise<TonTransaction[]> {
    // sandbox 0.41: getTransactions with lt/hash throws; read all and sort by lt
    const all = await this.blockchain.getTransactions(address);
    return all
      .filter((t) => t.lt >= fromLt)
      .sort((a, b) => (a.lt < b.lt ? -1 : a.lt > b.lt ? 1 : 0))
      .map(tonTransactionOf);
  }

  async headLt(address: TonAddress): Promise<bigint> {
    const all = await this.blockchain.getTransactions(address);
    return all.reduce((max, t) => (t.lt + 1n > max ? t.lt + 1n : max), 0n);
  }

  async balance(address: TonAddress): Promise<bigint> {
    return (await this.blockchain.getContract(address)).balance;
  }
}
