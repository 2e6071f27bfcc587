// Sending a contract call from a key we hold, as a raw transaction (under ./tx.ts): the call
// estimated and the fee data read in one JSON-RPC batch (an estimate that fails is the call's
// revert: nothing is sent, no nonce taken), the nonce taken from a local sequence, the
// transaction signed with the process's secp256k1 engine and hashed here, then broadcast with
// eth_sendRawTransaction. Nothing is parsed back: the sender is known, the hash is ours. Fee
// rules as ethers' signer: EIP-1559 where the latest block has a base fee (max fee twice that
// plus the node's suggested tip, else 1 gwei), a legacy transaction at the gas price otherwise.
import { getBytes, hexlify, keccak256, Signature, Transaction, type JsonRpcApiProvider } from 'ethers';
import { ChainError } from '../errors.js';
import { activeEngine, type Secp256k1Engine } from './secp256k1-engine.js';

export class RawTxSender {
  readonly address: string;
  readonly #key: Uint8Array;
  readonly #provider: JsonRpcApiProvider;
  readonly #engine: Secp256k1Engine;
  #chainId: Promise<bigint> | undefined;
  /** The nonces counted from the node's pending count; undefined until the next send asks. */
  #sequence: Sequence | undefined;
  /** The sends of the last sequence given up, which the next one waits out before it counts. */
  #retired: InFlight | undefined;

  constructor(privateKey: string, address: string, provider: JsonRpcApiProvider, engine = activeEngine()) {
    this.#key = getBytes(privateKey);
    this.address = address;
    this.#provider = provider;
    this.#engine = engine;
  }

  /** Sends `data` with `value` wei to `to`; the transaction's hash once the node took it. */
  async send(to: string, data: string, value: bigint): Promise<string> {
    const call = { from: this.address, to, data, value };
    this.#chainId ??= this.#provider.getNetwork().then((n) => n.chainId);
    const [gasLimit, fees, chainId] = await Promise.all([
      this.#provider.estimateGas(call),
      this.#provider.getFeeData(),
      this.#chainId,
    ]);
    const eip1559 = fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null;
    if (!eip1559 && fees.gasPrice === null) throw new ChainError('the node gives no fee data', { to });
    const { nonce, sequence } = this.#takeNonce();
    try {
      const tx = Transaction.from({
        to,
        data,
        value,
        chainId,
        gasLimit,
        nonce: await nonce,
        ...(eip1559
          ? { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
          : { type: 0, gasPrice: fees.gasPrice }),
      });
      const sig = this.#engine.sign(getBytes(tx.unsignedHash), this.#key);
      sig[64] = 27 + sig[64]!;
      tx.signature = Signature.from(hexlify(sig));
      const raw = tx.serialized;
      const hash = keccak256(raw);
      let returned: unknown;
      try {
        returned = await this.#provider.send('eth_sendRawTransaction', [raw]);
      } catch (err) {
        // The nonce may not have been used: the sequence restarts from the node's count.
        this.#restart(sequence);
        throw err;
      }
      if (typeof returned !== 'string' || returned.toLowerCase() !== hash)
        throw new ChainError('the node returned another transaction hash', { hash, returned });
      return hash;
    } finally {
      sequence.sends.leave();
    }
  }

  /**
   * The next nonce of the account: the node's pending count once, then counted here. A sequence
   * started after a failed broadcast reads the count only once every send holding a nonce of the
   * one before has been broadcast or failed: read earlier, the count would leave out a nonce still
   * on its way to the node and hand it out again.
   */
  #takeNonce(): { nonce: Promise<number>; sequence: Sequence } {
    let sequence = this.#sequence;
    if (sequence === undefined) {
      const before = this.#retired?.idle() ?? Promise.resolve();
      const base = before.then(() => this.#provider.getTransactionCount(this.address, 'pending'));
      const started: Sequence = { base, taken: 0, sends: new InFlight() };
      base.catch(() => this.#restart(started));
      this.#sequence = sequence = started;
    }
    const offset = sequence.taken++;
    sequence.sends.enter();
    return { nonce: sequence.base.then((n) => n + offset), sequence };
  }

  #restart(sequence: Sequence): void {
    if (this.#sequence !== sequence) return;
    this.#sequence = undefined;
    this.#retired = sequence.sends;
  }
}

interface Sequence {
  base: Promise<number>;
  taken: number;
  sends: InFlight;
}

/** The sends holding a nonce of one sequence, until each is broadcast or failed. */
class InFlight {
  #count = 0;
  #idle: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  enter(): void {
    this.#count++;
  }

  leave(): void {
    if (--this.#count === 0) this.#resolve?.();
  }

  /** Settles once no send is left. */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return (this.#idle ??= new Promise((r) => (this.#resolve = r)));
  }
}
