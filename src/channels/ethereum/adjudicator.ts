// The client side of the Adjudicator and the asset holders: register (with sub-channel
// states), progress, conclude, concludeFinal, withdraw, and reading a channel's dispute record.
import { type Contract, type Provider, type TransactionReceipt } from 'ethers';
import { ChainError } from '../errors.js';
import {
  adjudicatorContract,
  assetHolderContract,
  signedStateArg,
  stateArg,
  type SignedState,
} from './contracts.js';
import {
  fundingId,
  type Address,
  type Hex,
  type Params,
  type State,
  type WithdrawalAuth,
} from './encoding.js';
import type { EthereumSigner } from './signer.js';
import type { TxSender } from './tx.js';

export enum DisputePhase {
  DISPUTE = 0,
  FORCEEXEC = 1,
  CONCLUDED = 2,
}

/** A channel's on-chain dispute record. */
export interface Dispute {
  registered: boolean;
  timeout: bigint;
  challengeDuration: bigint;
  version: bigint;
  phase: DisputePhase;
  stateHash: Hex;
  hasApp: boolean;
}

/** One withdrawal made (or found already made) for an asset. */
export interface Withdrawal {
  asset: number;
  holder: Address;
  amount: bigint;
  receipt?: TransactionReceipt;
}

export class EthereumAdjudicator {
  readonly address: Address;
  readonly #tx: TxSender;
  readonly #provider: Provider;
  readonly #contract: Contract;
  #chainId: Promise<bigint> | undefined;

  constructor(tx: TxSender, adjudicator: Address) {
    this.address = adjudicator;
    this.#tx = tx;
    this.#provider = tx.provider;
    this.#contract = adjudicatorContract(adjudicator, tx.provider);
  }

  /** Registers a ledger channel's state and the states of its sub-channels (depth-first). */
  register(channel: SignedState, subChannels: SignedState[] = []): Promise<TransactionReceipt> {
    return this.#tx.send(this.#contract, 'register', [
      signedStateArg(channel),
      subChannels.map(signedStateArg),
    ]);
  }

  /** Advances a registered app channel by one move signed by participant `actorIdx`. */
  progress(params: Params, from: State, to: State, actorIdx: number, sig: Hex): Promise<TransactionReceipt> {
    return this.#tx.send(this.#contract, 'progress', [params, stateArg(from), stateArg(to), actorIdx, sig]);
  }

  /** Concludes a registered ledger channel (and its sub-channels) after the timeout. */
  conclude(params: Params, state: State, subStates: State[] = []): Promise<TransactionReceipt> {
    return this.#tx.send(this.#contract, 'conclude', [params, stateArg(state), subStates.map(stateArg)]);
  }

  /** Concludes a ledger channel at once with a final state signed by every participant. */
  concludeFinal(params: Params, state: State, sigs: Hex[]): Promise<TransactionReceipt> {
    return this.#tx.send(this.#contract, 'concludeFinal', [params, stateArg(state), sigs]);
  }

  async dispute(channelID: Hex): Promise<Dispute> {
    const r = (await this.#contract.getFunction('disputes').staticCall(channelID)) as unknown as [
      bigint,
      bigint,
      bigint,
      bigint,
      string,
      boolean,
    ];
    const [timeout, challengeDuration, version, phase, stateHash, hasApp] = r;
    return {
      registered: challengeDuration !== 0n || timeout !== 0n || stateHash !== '0x' + '00'.repeat(32),
      timeout,
      challengeDuration,
      version,
      phase: Number(phase) as DisputePhase,
      stateHash,
      hasApp,
    };
  }

  /** The block timestamp of the chain head. */
  async now(): Promise<bigint> {
    const block = await this.#provider.getBlock('latest');
    if (block === null) throw new ChainError('no latest block');
    return BigInt(block.timestamp);
  }

  /**
   * Withdraws, for every asset on this chain, everything the participant holds in the
   * concluded channel to `receiver` (default: the transaction sender). Assets with nothing
   * held are skipped, so calling it again is harmless.
   */
  async withdraw(
    params: Params,
    state: State,
    participant: EthereumSigner,
    receiver?: Address,
  ): Promise<Withdrawal[]> {
    this.#chainId ??= this.#provider.getNetwork().then((n) => n.chainId);
    const chainId = await this.#chainId;
    const me = params.participants.find((p) => p.ethAddress === participant.address);
    if (me === undefined) {
      throw new ChainError('signer is not a participant of the channel', { address: participant.address });
    }
    const to = receiver ?? (await this.#tx.address());
    const id = fundingId(state.channelID, me.ethAddress);
    const out: Withdrawal[] = [];
    for (const [asset, a] of state.outcome.assets.entries()) {
      if (a.chainID !== chainId) continue;
      const holder = assetHolderContract(a.ethHolder, this.#provider);
      const amount = (await holder.getFunction('holdings').staticCall(id)) as bigint;
      if (amount === 0n) {
        out.push({ asset, holder: a.ethHolder, amount });
        continue;
      }
      const auth: WithdrawalAuth = { channelID: state.channelID, participant: me, receiver: to, amount };
      const receipt = await this.#tx.send(holder, 'withdraw', [auth, participant.signWithdrawalAuth(auth)]);
      out.push({ asset, holder: a.ethHolder, amount, receipt });
    }
    return out;
  }
}
