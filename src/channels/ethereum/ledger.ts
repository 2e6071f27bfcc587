// One chain of a multi-ledger set-up (../multi/) on Ethereum: the funder, the adjudicator
// (withdrawing with the participant's signer) and the event source of one chain's deployment,
// all sending from one account on that chain.
import type { Ledger } from '../multi/ledgers.js';
import { EthereumAdjudicator } from './adjudicator.js';
import { EthereumAdjudicatorAdapter, EthereumEventSource } from './backend.js';
import type { Address } from './encoding.js';
import { EthereumFunder } from './funder.js';
import type { EthereumSigner } from './signer.js';
import type { TxSender } from './tx.js';

export interface EthereumLedgerOptions {
  chainId: bigint;
  /** Sends this participant's transactions on the chain. */
  tx: TxSender;
  adjudicator: Address;
  /** The participant key: signs withdrawals. */
  signer: EthereumSigner;
  /** Where withdrawals go (default: the tx sender). */
  receiver?: Address;
  fundingTimeoutMs?: number;
  pollIntervalMs?: number;
}

export function ethereumLedger(o: EthereumLedgerOptions): Ledger {
  const poll = o.pollIntervalMs === undefined ? {} : { pollIntervalMs: o.pollIntervalMs };
  return {
    chainID: o.chainId,
    funder: new EthereumFunder(o.tx, {
      ...poll,
      ...(o.fundingTimeoutMs === undefined ? {} : { timeoutMs: o.fundingTimeoutMs }),
    }),
    adjudicator: new EthereumAdjudicatorAdapter(
      new EthereumAdjudicator(o.tx, o.adjudicator),
      o.signer,
      o.receiver,
    ),
    events: new EthereumEventSource(o.tx.provider, o.adjudicator, poll),
  };
}
