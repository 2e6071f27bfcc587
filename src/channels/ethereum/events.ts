// Subscription to the Adjudicator's ChannelUpdate events. It scans blocks from a cursor the
// caller can persist, only up to the head minus the confirmation depth, and restarts from any
// stored block number. Registered and progressed states are recovered from the calldata of the
// transaction that emitted the event (the event itself carries no state).
import { type Log, type Provider } from 'ethers';
import { ChainError } from '../errors.js';
import { PollingSubscription } from '../polling-subscription.js';
import { adjudicatorInterface } from './contracts.js';
import { paramsFromAbi, stateFromAbi, type Address, type Hex, type Params, type State } from './encoding.js';
import { DisputePhase } from './adjudicator.js';

export type AdjudicatorEventKind = 'registered' | 'progressed' | 'concluded';

export interface AdjudicatorEvent {
  kind: AdjudicatorEventKind;
  channelID: Hex;
  version: bigint;
  phase: DisputePhase;
  timeout: bigint;
  blockNumber: number;
  txHash: Hex;
  logIndex: number;
  /** The registered or progressed state, when the emitting transaction called the Adjudicator directly. */
  state?: State;
  params?: Params;
  /** Signatures on `state` (all of them for register, the actor's for progress). */
  sigs?: Hex[];
  actorIdx?: number;
}

export interface SubscriptionOptions {
  adjudicator: Address;
  /** First block to scan. */
  fromBlock: number;
  /** Only these channels (all when absent). */
  channelIDs?: Iterable<Hex>;
  /** Blocks an event must be buried under before it is delivered (1 = mined). */
  confirmations?: number;
  pollIntervalMs?: number;
  /** Largest block range per eth_getLogs request. */
  maxRange?: number;
  onEvent: (event: AdjudicatorEvent) => void | Promise<void>;
  onError?: (error: unknown) => void;
}

const iface = adjudicatorInterface();
const CHANNEL_UPDATE = iface.getEvent('ChannelUpdate')!;

const KIND: Record<DisputePhase, AdjudicatorEventKind> = {
  [DisputePhase.DISPUTE]: 'registered',
  [DisputePhase.FORCEEXEC]: 'progressed',
  [DisputePhase.CONCLUDED]: 'concluded',
};

export class AdjudicatorSubscription extends PollingSubscription {
  readonly #provider: Provider;
  readonly #opts: Required<Omit<SubscriptionOptions, 'channelIDs' | 'onError'>> &
    Pick<SubscriptionOptions, 'onError'>;

  constructor(provider: Provider, options: SubscriptionOptions) {
    const opts = { confirmations: 1, pollIntervalMs: 250, maxRange: 2_000, ...options };
    super(opts);
    this.#provider = provider;
    this.#opts = opts;
  }

  /** Scans all confirmed blocks from the cursor and delivers their events in order. */
  async poll(): Promise<void> {
    const head = await this.#provider.getBlockNumber();
    const safe = head - (this.#opts.confirmations - 1);
    while (this.cursor <= safe) {
      const to = Math.min(safe, this.cursor + this.#opts.maxRange - 1);
      const logs = await this.#provider.getLogs({
        address: this.#opts.adjudicator,
        topics: this.#topics(),
        fromBlock: this.cursor,
        toBlock: to,
      });
      for (const log of logs) {
        if (this.channels !== undefined && !this.channels.has(log.topics[1]!.toLowerCase())) continue;
        await this.#opts.onEvent(await this.decode(log));
      }
      this.cursor = to + 1;
    }
  }

  /** Turns a ChannelUpdate log into an event, with the state from the transaction's calldata. */
  async decode(log: Log): Promise<AdjudicatorEvent> {
    const parsed = iface.parseLog(log);
    if (parsed === null) throw new ChainError('not a ChannelUpdate log', { txHash: log.transactionHash });
    const channelID = (parsed.args[0] as string).toLowerCase();
    const phase = Number(parsed.args[2]) as DisputePhase;
    const event: AdjudicatorEvent = {
      kind: KIND[phase],
      channelID,
      version: parsed.args[1] as bigint,
      phase,
      timeout: parsed.args[3] as bigint,
      blockNumber: log.blockNumber,
      txHash: log.transactionHash,
      logIndex: log.index,
    };
    if (phase !== DisputePhase.CONCLUDED) Object.assign(event, await this.#stateFromCalldata(log, channelID));
    return event;
  }

  async #stateFromCalldata(log: Log, channelID: string): Promise<Partial<AdjudicatorEvent>> {
    const tx = await this.#provider.getTransaction(log.transactionHash);
    if (tx === null || tx.to?.toLowerCase() !== this.#opts.adjudicator.toLowerCase()) return {};
    const call = iface.parseTransaction({ data: tx.data });
    if (call?.name === 'register') {
      const all = [call.args[0], ...Array.from(call.args[1] as ArrayLike<unknown>)] as Array<{
        0: unknown;
        1: unknown;
        2: ArrayLike<string>;
      }>;
      for (const s of all) {
        const state = stateFromAbi(s[1]);
        if (state.channelID === channelID)
          return { state, params: paramsFromAbi(s[0]), sigs: Array.from(s[2]) };
      }
    } else if (call?.name === 'progress') {
      const state = stateFromAbi(call.args[2]);
      if (state.channelID === channelID) {
        return {
          state,
          params: paramsFromAbi(call.args[0]),
          sigs: [call.args[4] as string],
          actorIdx: Number(call.args[3]),
        };
      }
    }
    return {};
  }

  #topics(): Array<string | string[] | null> {
    const topic0 = CHANNEL_UPDATE.topicHash;
    const channels = this.channels;
    if (channels === undefined || channels.size === 0 || channels.size > 100) return [topic0];
    return [topic0, [...channels]];
  }
}
