// Sending contract transactions: one nonce sequence per account, revert reasons turned into
// ChainError, receipts awaited at a configurable confirmation depth.
import {
  NonceManager,
  type Contract,
  type ContractRunner,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from 'ethers';
import { ChainError } from '../errors.js';

export interface TxOptions {
  /** Blocks a receipt must be buried under before a call returns (1 = mined). */
  confirmations?: number;
  /** Give up waiting for a receipt after this long. */
  receiptTimeoutMs?: number;
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

  constructor(signer: Signer, options: TxOptions = {}) {
    if (signer.provider === null) throw new ChainError('signer has no provider');
    this.signer = signer instanceof NonceManager ? signer : new NonceManager(signer);
    this.provider = signer.provider;
    this.confirmations = options.confirmations ?? 1;
    this.receiptTimeoutMs = options.receiptTimeoutMs ?? 120_000;
  }

  get runner(): ContractRunner {
    return this.signer;
  }

  async address(): Promise<string> {
    return this.signer.getAddress();
  }

  /** Sends `contract.method(...args)` and returns its receipt once mined and confirmed. */
  async send(
    contract: Contract,
    method: string,
    args: unknown[],
    value?: bigint,
  ): Promise<TransactionReceipt> {
    const fn = contract.connect(this.signer).getFunction(method);
    let hash: string;
    try {
      const tx = await fn.send(...args, value === undefined ? {} : { value });
      hash = tx.hash;
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
      receipt = await this.provider.waitForTransaction(hash, this.confirmations, this.receiptTimeoutMs);
    } catch (err) {
      throw new ChainError(`${method}: no receipt`, { method, hash }, { cause: err });
    }
    if (receipt === null) throw new ChainError(`${method}: no receipt`, { method, hash });
    if (receipt.status !== 1) throw new ChainError(`${method} reverted`, { method, hash });
    return receipt;
  }
}
