// Adjudicator events on TON: the Perun contract's external-out log messages (RegisteredEvent,
// ConcludedEvent), read from its transactions in logical-time order from a cursor the caller can
// store. A transaction's logical time stands for the core's block number: the cursor is the next
// logical time to scan. A registered event carries the state; its params and signatures come from
// the Register message that caused it (as the Ethereum backend reads calldata).
import type { Address as TonAddress, Cell } from '@ton/core';
import type {
  AdjudicatorEvent,
  AdjudicatorEventSource,
  EventSubscription,
  EventSubscriptionOptions,
} from '../interfaces.js';
import { PollingSubscription } from '../polling-subscription.js';
import type { Hex } from '../types.js';
import { tonArtifact } from './artifact.js';
import type { TonChain, TonTransaction } from './chain.js';
import { paramsFromCell, stateFromCell } from './encoding.js';
import { decodeStruct, structOf, type StructValue } from './schema.js';

const hex32 = (v: bigint): Hex => `0x${v.toString(16).padStart(64, '0')}`;
const sigHex = (v: StructValue): Hex => `0x${(v.bits as Buffer).toString('hex')}`;

/** The adjudicator events of one transaction. */
export function eventsOf(tx: TonTransaction): AdjudicatorEvent[] {
  const { schema } = tonArtifact();
  const out: AdjudicatorEvent[] = [];
  for (const log of tx.logs) {
    const kind = structOf(schema, log);
    if (kind !== 'RegisteredEvent' && kind !== 'ConcludedEvent') continue;
    const v = decodeStruct(schema, kind, log);
    const event: AdjudicatorEvent = {
      kind: kind === 'RegisteredEvent' ? 'registered' : 'concluded',
      channelID: hex32(v.channelID as bigint),
      version: v.version as bigint,
      timeout: v.timeout as bigint,
      blockNumber: Number(tx.lt),
    };
    if (kind === 'RegisteredEvent') {
      event.state = stateFromCell(log.refs[0]!); // the event's one ref: the state cell
      Object.assign(event, registerCall(tx.inBody));
    }
    out.push(event);
  }
  return out;
}

function registerCall(body: Cell | undefined): Pick<AdjudicatorEvent, 'params' | 'sigs'> {
  const { schema } = tonArtifact();
  if (body === undefined || structOf(schema, body) !== 'Register') return {};
  const sigs = decodeStruct(schema, 'Register', body).sigs as StructValue;
  return {
    params: paramsFromCell(body.refs[0]!), // Register's refs: params, state, sigs
    sigs: [sigHex(sigs.sig0 as StructValue), sigHex(sigs.sig1 as StructValue)],
  };
}

class TonSubscription extends PollingSubscription {
  readonly #chain: TonChain;
  readonly #address: TonAddress;
  readonly #onEvent: EventSubscriptionOptions['onEvent'];

  constructor(chain: TonChain, address: TonAddress, opts: EventSubscriptionOptions, pollIntervalMs: number) {
    super({ ...opts, pollIntervalMs });
    this.#chain = chain;
    this.#address = address;
    this.#onEvent = opts.onEvent;
  }

  async poll(): Promise<void> {
    for (const tx of await this.#chain.transactions(this.#address, BigInt(this.cursor))) {
      for (const event of eventsOf(tx)) {
        if (this.channels !== undefined && !this.channels.has(event.channelID)) continue;
        await this.#onEvent(event);
      }
      this.cursor = Number(tx.lt) + 1;
    }
  }
}

/** The Perun contract's events, one cursor-based subscription per subscribe. */
export class TonEventSource implements AdjudicatorEventSource {
  readonly #chain: TonChain;
  readonly #address: TonAddress;
  readonly #pollIntervalMs: number;

  constructor(chain: TonChain, address: TonAddress, options: { pollIntervalMs?: number } = {}) {
    this.#chain = chain;
    this.#address = address;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
  }

  subscribe(options: EventSubscriptionOptions): EventSubscription {
    return new TonSubscription(this.#chain, this.#address, options, this.#pollIntervalMs);
  }

  async head(): Promise<number> {
    return Number(await this.#chain.headLt(this.#address));
  }
}
