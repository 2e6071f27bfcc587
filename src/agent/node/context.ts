// What the node's parts share: the pieces of one running agent, built once by PerunNode.start
// (./node.ts) and handed to each part (connections, credentials, channels, proposals, messages).
import type { DataSource } from 'typeorm';
import type { ChannelClient } from '../../channels/client.js';
import type { TypeOrmChannelStore } from '../../channels/persistence/typeorm-store.js';
import type { PeerCredentialIssuer, PeerPolicy } from '../../protocols/identity/index.js';
import type { PerunIdentityAgent } from '../credo/agent.js';
import type { Assets } from './assets.js';
import type { AgentConfig } from './config.js';
import type { EventLog } from './event-log.js';
import type { NodeLedger } from './ledger.js';
import type { Mediation } from './mediation.js';
import type { PaymentHistory } from './payment-history.js';

/** The DIDs an agent keeps across restarts (a generic record). */
export interface NodeIdentity {
  did: string;
  issuerDid: string;
}

export interface NodeContext {
  config: AgentConfig;
  agent: PerunIdentityAgent;
  client: ChannelClient;
  /** The chain we settle on, whatever its backend (./ledger.ts). */
  ledger: NodeLedger;
  store: TypeOrmChannelStore;
  /** The agent's database (the agent's own tables: idempotency keys). */
  db: DataSource;
  history: PaymentHistory;
  assets: Assets;
  issuer: PeerCredentialIssuer;
  identity: NodeIdentity;
  policy: PeerPolicy;
  /** Waits for peers, proofs and credentials. */
  timeoutMs: number;
  log: (line: string) => void;
  events: EventLog;
  /** The endpoint peers reach us at: ours, or the mediator's where we have one. */
  didcommEndpoint: string;
  /** Our mediation role, if any (./mediation.ts). */
  mediation: Mediation | undefined;
}
