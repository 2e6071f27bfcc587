// Sending contract transactions: one nonce sequence per account, revert reasons turned into
// ChainError, receipts awaited at a configurable confirmation depth by polling. (ethers' own
// waits listen for new blocks, and its block subscriber skips the block it sees first: a
// transaction mined just after it was sent, as anvil's automine does, can wait forever.)
//
// A key-holding wallet on a JSON-RPC provider sends by the raw path (./raw-tx.ts): the call
// estimated (a call that would revert fails here, with its reason, before anything is sent),
// signed with the process's secp256k1 engine, its hash computed locally, and broadcast with
// eth_sendRawTransaction. ethers' Wallet.sendTransaction would sign with @noble/curves and
// parse the signed transaction back, recovering its sender, for every transaction. Any other
// signer sends through ethers (a NonceManager over it).
import {
  BaseWallet,
  JsonRpcApiProvider,
  NonceManager,
  type Contract,
  type ContractRunner,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from 'ethers';
import { ChainError } from '../errors.js';
import { RawTxSender } from './raw-tx.js';

export interface TxOptions {
  /** Blocks a receipt must be buried under before a call returns (1 = mined). */
  confirmations?: number;
  /** Give up waiting for a receipt after this long. */
  receiptTimeoutMs?: number;
  /** How often to ask for the receipt; default 25 ms. */
  pollIntervalMs?: number;
}

/**
 * The receipt of `hash` once it is buried under `confirmations` blocks (1 = mined), asked for
 * every `pollIntervalMs`; null after `timeoutMs`.
 */
export async function waitForReceipt(
  provider: Provider,
  hash: string,
  { confirmations = 1, timeoutMs = 120_000, pollIntervalMs = 25 } = {},
): Promise<TransactionReceipt | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt !== null) {
      if (confirmations <= 1) return receipt;
      const head = await provider.getBlockNumber();
      if (head - receipt.blockNumber + 1 >= confirmations) return receipt;
    }
    const left = deadline - Date.now();
    if (left <= 0) return null;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, left)));
  }
}

/** The revert reason of an ethers error, if it carries one. */
export function revertReason(err: unknown): string | undefined {
  const e = err as { reason?: unknown; shortMessage?: unknown; info?: { error?: { message?: unknown } } };
  if (typeof e?.reason === 'string') return e.reason;
  const inner = e?.info?.error?.message;
  if (typeof inner === 'string') {
    const m = /reverted with reason string '(.*)'|revert(?:ed)?:? (.*)$/.exec(inner);
    if (m) return m[1] ?? m[2];
  }
  return undefined;
}

export class TxSender {
  readonly signer: Signer;
  readonly provider: Provider;
  readonly confirmations: number;
  readonly receiptTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly #raw: RawTxSender | undefined;

  constructor(signer: Signer, options: TxOptions = {}) {
    if (signer.provider === null) throw new ChainError('signer has no provider');
    this.signer = signer instanceof NonceManager ? signer : new NonceManager(signer);
    this.provider = signer.provider;
    this.#raw =
      signer instanceof BaseWallet && signer.provider instanceof JsonRpcApiProvider
        ? new RawTxSender(signer.privateKey, signer.address, signer.provider)
        : undefined;
    this.confirmations = options.confirmations ?? 1;
    this.receiptTimeoutMs = options.receiptTimeoutMs ?? 120_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 25;
  }

  get runner(): ContractRunner {
    return this.signer;
  }

  async address(): Promise<string> {
    return this.#raw?.address ?? this.signer.getAddress();
  }

  /** Whether transactions go out by the raw path (a wallet on a JSON-RPC provider). */
  get raw(): boolean {
    return this.#raw !== undefined;
  }

  /** Sends `contract.method(...args)` and returns its receipt once mined and confirmed. */
  async send(
    contract: Contract,
    method: string,
    args: unknown[],
    value?: bigint,
  ): Promise<TransactionReceipt> {
    let hash: string;
    try {
      if (this.#raw !== undefined) {
        const data = contract.interface.encodeFunctionData(method, args);
        hash = await this.#raw.send(await contract.getAddress(), data, value ?? 0n);
      } else {
        const fn = contract.connect(this.signer).getFunction(method);
        hash = (await fn.send(...args, value === undefined ? {} : { value })).hash;
      }
    } catch (err) {
      if (this.signer instanceof NonceManager) this.signer.reset();
      const reason = revertReason(err);
      throw new ChainError(
        reason === undefined ? `${method} failed` : `${method} reverted: ${reason}`,
        { method, reason },
        {
          cause: err,
        },
      );
    }
    return this.wait(hash, method);
  }

  async wait(hash: string, method: string): Promise<TransactionReceipt> {
    let receipt: TransactionReceipt | null;
    try {
      receipt = await waitForReceipt(this.provider, hash, {
        confirmations: this.confirmations,
        timeoutMs: this.receiptTimeoutMs,
        pollIntervalMs: this.pollIntervalMs,
      });
    } catch (err) {
      throw new ChainError(`${method}: no receipt`, { method, hash }, { cause: err });
    }
    if (receipt === null) throw new ChainError(`${method}: no receipt`, { method, hash });
    if (receipt.status !== 1) throw new ChainError(`${method} reverted`, { method, hash });
    return receipt;
  }
}
