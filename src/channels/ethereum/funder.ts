// Funding a ledger channel on Ethereum: deposit this participant's share of every asset on
// this chain (ETH, or ERC20 after an approve), then wait until every participant's deposit is
// buried under the configured number of confirmations, or fail with FundingTimeoutError.
import { JsonRpcApiProvider, isError, toQuantity, type BlockTag, type Contract, type Provider } from 'ethers';
import { ChainError, FundingTimeoutError } from '../errors.js';
import { sleep } from '../sleep.js';
import { assetHolderContract, assetHolderInterface, erc20Contract } from './contracts.js';
import { fundingId, type Address, type Params, type State } from './encoding.js';
import { TxSender } from './tx.js';

export interface FundingRequest {
  params: Params;
  /** The initial state (version 0); its balances are the default funding agreement. */
  state: State;
  /** Index of the funding participant in params.participants. */
  idx: number;
  /** What each participant deposits, [asset][participant]; defaults to the state's balances. */
  agreement?: bigint[][];
}

export interface FunderOptions {
  /** Blocks a deposit must be buried under before it counts (1 = mined). */
  confirmations?: number;
  /** How long to wait for all deposits. */
  timeoutMs?: number;
  pollIntervalMs?: number;
}

/** A deposit that is still missing when funding gives up. */
export interface MissingDeposit {
  participant: number;
  asset: number;
  required: bigint;
  held: bigint;
}

let holdingsSelector: string | undefined;

/** The calldata of `holdings(id)`: its selector and the 32-byte ID (ethers' ABI coder costs more than the call). */
function holdingsCall(id: string): string {
  holdingsSelector ??= assetHolderInterface().getFunction('holdings')!.selector;
  if (!/^0x[0-9a-fA-F]{64}$/.test(id)) throw new ChainError('not a funding ID', { fundingId: id });
  return holdingsSelector + id.slice(2);
}

export class EthereumFunder {
  readonly #tx: TxSender;
  readonly #provider: Provider;
  readonly #confirmations: number;
  readonly #timeoutMs: number;
  readonly #pollIntervalMs: number;
  readonly #tokens = new Map<string, Promise<Address | null>>();
  #chainId: Promise<bigint> | undefined;

  constructor(tx: TxSender, options: FunderOptions = {}) {
    this.#tx = tx;
    this.#provider = tx.provider;
    this.#confirmations = options.confirmations ?? tx.confirmations;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
  }

  /** Deposits this participant's share and waits until the channel is fully funded. */
  async fund(req: FundingRequest, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    await this.deposit(req);
    await this.awaitFunded(req, options);
  }

  /** Deposits what this participant still owes of every asset on this chain, without waiting for the others. */
  async deposit(req: FundingRequest): Promise<void> {
    const agreement = req.agreement ?? req.state.outcome.balances;
    const me = req.params.participants[req.idx];
    if (me === undefined) throw new ChainError('participant index out of range', { idx: req.idx });
    const id = fundingId(req.state.channelID, me.ethAddress);
    for (const a of await this.#localAssets(req)) {
      const amount = agreement[a]?.[req.idx] ?? 0n;
      if (amount > 0n) await this.#deposit(req.state.outcome.assets[a]!.ethHolder, id, amount);
    }
  }

  /** Waits until every participant's agreed deposit of every asset on this chain is confirmed. */
  async awaitFunded(
    req: FundingRequest,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    for (;;) {
      const missing = await this.missingDeposits(req);
      if (missing.length === 0) return;
      if (Date.now() >= deadline) {
        throw new FundingTimeoutError('the channel was not funded in time', {
          channelID: req.state.channelID,
          missing: missing.map((m) => ({ ...m, required: String(m.required), held: String(m.held) })),
        });
      }
      await sleep(Math.min(this.#pollIntervalMs, Math.max(0, deadline - Date.now())), options.signal);
    }
  }

  /** The deposits not yet confirmed, read at the block `confirmations - 1` below the head. */
  async missingDeposits(req: FundingRequest): Promise<MissingDeposit[]> {
    const agreement = req.agreement ?? req.state.outcome.balances;
    const head = await this.#provider.getBlockNumber();
    const blockTag = Math.max(0, head - (this.#confirmations - 1));
    const missing: MissingDeposit[] = [];
    for (const a of await this.#localAssets(req)) {
      const holder = req.state.outcome.assets[a]!.ethHolder;
      await Promise.all(
        req.params.participants.map(async (p, i) => {
          const required = agreement[a]?.[i] ?? 0n;
          if (required === 0n) return;
          const held = await this.#holdings(holder, fundingId(req.state.channelID, p.ethAddress), blockTag);
          if (held < required) missing.push({ participant: i, asset: a, required, held });
        }),
      );
    }
    return missing.sort((x, y) => x.asset - y.asset || x.participant - y.participant);
  }

  async #localAssets(req: FundingRequest): Promise<number[]> {
    this.#chainId ??= this.#provider.getNetwork().then((n) => n.chainId);
    const chainId = await this.#chainId;
    return req.state.outcome.assets.flatMap((asset, i) => (asset.chainID === chainId ? [i] : []));
  }

  /**
   * What the asset holder at `holder` holds for funding ID `id` (at `blockTag`, default the
   * latest block): one eth_call, its calldata and result coded here.
   */
  async #holdings(holder: Address, id: string, blockTag: BlockTag = 'latest'): Promise<bigint> {
    const data = holdingsCall(id);
    const tag = typeof blockTag === 'number' ? toQuantity(blockTag) : blockTag;
    const result: unknown =
      this.#provider instanceof JsonRpcApiProvider
        ? await this.#provider.send('eth_call', [{ to: holder, data }, tag])
        : await this.#provider.call({ to: holder, data, blockTag });
    if (typeof result !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(result))
      throw new ChainError('the asset holder gave no holdings', { holder, fundingId: id, result });
    return BigInt(result);
  }

  /** Tops the holding of `id` up to `amount` (nothing if a deposit is already there). */
  async #deposit(holderAddress: Address, id: string, amount: bigint): Promise<void> {
    const holder = assetHolderContract(holderAddress, this.#provider);
    const held = await this.#holdings(holderAddress, id);
    if (held >= amount) return;
    const missing = amount - held;
    const token = await this.#tokenOf(holderAddress, holder);
    if (token === null) {
      await this.#tx.send(holder, 'deposit', [id, missing], missing);
      return;
    }
    const erc20 = erc20Contract(token, this.#provider);
    const owner = await this.#tx.address();
    const allowance = (await erc20.getFunction('allowance').staticCall(owner, holderAddress)) as bigint;
    if (allowance < missing) await this.#tx.send(erc20, 'approve', [holderAddress, missing]);
    await this.#tx.send(holder, 'deposit', [id, missing]);
  }

  /** The token of an ERC20 asset holder, or null for the ETH holder (which has no token()). */
  #tokenOf(address: Address, holder: Contract): Promise<Address | null> {
    let t = this.#tokens.get(address);
    if (t === undefined) {
      t = (holder.getFunction('token').staticCall() as Promise<Address>).catch((err: unknown) => {
        if (isError(err, 'CALL_EXCEPTION')) return null;
        this.#tokens.delete(address);
        throw new ChainError('cannot read the asset holder', { holder: address }, { cause: err });
      });
      this.#tokens.set(address, t);
    }
    return t;
  }
}
