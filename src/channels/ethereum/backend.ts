// The Ethereum backend seen through the channel core's interfaces (../interfaces.ts): the
// channel ID and signature check as a ChannelBackend, and thin adapters where the Ethereum
// classes' shapes differ from the core's (Adjudicator: withdraw by participant index with this
// backend's signer, dispute record as a stage; event source: a cursor-based
// AdjudicatorSubscription per subscribe). EthereumSigner and EthereumFunder fit Signer and
// Funder as they are; the checks at the bottom keep it that way at compile time.
import type { Provider } from 'ethers';
import { ChainError } from '../errors.js';
import type {
  Adjudicator,
  AdjudicatorEventSource,
  ChannelBackend,
  EventSubscription,
  EventSubscriptionOptions,
  Funder,
  OnChainDispute,
  ProgressRequest,
  SignedState,
  Signer,
  WithdrawnAmount,
} from '../interfaces.js';
import { DisputePhase, type EthereumAdjudicator } from './adjudicator.js';
import { channelId, type Address, type Hex, type Params, type State } from './encoding.js';
import { AdjudicatorSubscription } from './events.js';
import type { EthereumFunder } from './funder.js';
import { verifyStateSignature, type EthereumSigner } from './signer.js';

/** Channel IDs and state signatures on Ethereum (generation-C encoding, EIP-191). */
export const ethereumBackend: ChannelBackend = {
  channelId,
  verifyState: verifyStateSignature,
};

const STAGE: Record<DisputePhase, OnChainDispute['stage']> = {
  [DisputePhase.DISPUTE]: 'dispute',
  [DisputePhase.FORCEEXEC]: 'forceexec',
  [DisputePhase.CONCLUDED]: 'concluded',
};

/** EthereumAdjudicator as a core Adjudicator, withdrawing with `signer` to `receiver` (default: the tx sender). */
export class EthereumAdjudicatorAdapter implements Adjudicator {
  readonly #adj: EthereumAdjudicator;
  readonly #signer: EthereumSigner;
  readonly #receiver: Address | undefined;

  constructor(adjudicator: EthereumAdjudicator, signer: EthereumSigner, receiver?: Address) {
    this.#adj = adjudicator;
    this.#signer = signer;
    this.#receiver = receiver;
  }

  async register(channel: SignedState, subChannels: SignedState[] = []): Promise<void> {
    await this.#adj.register(channel, subChannels);
  }

  async progress(req: ProgressRequest): Promise<void> {
    await this.#adj.progress(req.params, req.from, req.to, req.actorIdx, req.sig);
  }

  async conclude(params: Params, state: State, subStates: State[] = []): Promise<void> {
    await this.#adj.conclude(params, state, subStates);
  }

  async concludeFinal(params: Params, state: State, sigs: Hex[]): Promise<void> {
    await this.#adj.concludeFinal(params, state, sigs);
  }

  async withdraw(params: Params, state: State, idx: number): Promise<WithdrawnAmount[]> {
    const me = params.participants[idx];
    if (me === undefined || me.ethAddress.toLowerCase() !== this.#signer.address.toLowerCase()) {
      throw new ChainError('this backend signs for another participant', {
        idx,
        signer: this.#signer.address,
      });
    }
    const out = await this.#adj.withdraw(params, state, this.#signer, this.#receiver);
    return out.map((w) => ({ asset: w.asset, amount: w.amount }));
  }

  async dispute(channelID: Hex): Promise<OnChainDispute> {
    const d = await this.#adj.dispute(channelID);
    return { stage: d.registered ? STAGE[d.phase] : 'none', version: d.version, timeout: d.timeout };
  }

  now(): Promise<bigint> {
    return this.#adj.now();
  }
}

/** Adjudicator events on Ethereum: one AdjudicatorSubscription (log scan from a cursor) per subscribe. */
export class EthereumEventSource implements AdjudicatorEventSource {
  readonly #provider: Provider;
  readonly #adjudicator: Address;
  readonly #options: { confirmations?: number; pollIntervalMs?: number; maxRange?: number };

  constructor(
    provider: Provider,
    adjudicator: Address,
    options: { confirmations?: number; pollIntervalMs?: number; maxRange?: number } = {},
  ) {
    this.#provider = provider;
    this.#adjudicator = adjudicator;
    this.#options = options;
  }

  subscribe(options: EventSubscriptionOptions): EventSubscription {
    return new AdjudicatorSubscription(this.#provider, {
      ...this.#options,
      adjudicator: this.#adjudicator,
      fromBlock: options.fromBlock,
      channelIDs: options.channelIDs,
      onEvent: options.onEvent,
      onError: options.onError,
    });
  }

  head(): Promise<number> {
    return this.#provider.getBlockNumber();
  }
}

// Compile-time checks: the Ethereum classes satisfy the core interfaces structurally.
type Satisfies<T, _U extends T> = true;
export type _SignerFits = Satisfies<Signer, EthereumSigner>;
export type _FunderFits = Satisfies<Funder, EthereumFunder>;
