// One Credo agent as perun-agent runs it: our TypeORM storage in the agent's DataSource (the
// channel tables live there too), our KMS, DIDComm with our HTTP (and optionally WebSocket)
// inbound transports bound to 127.0.0.1 unless configured otherwise, Credo's outbound ones,
// connections accepted automatically, and the Perun protocol module with its lean path for the
// channel messages (src/protocols/perun/lean; our KMS's box keys, our carrier), and the replay guard
// in front of both inbound paths (src/protocols/replay; its IDs in our database, those of the
// version-guarded Perun messages written behind). With `identity: true` it also
// runs the identity and credential-sale modules (src/protocols/identity, src/protocols/credential-sale)
// on issue-credential v2 (JSON-LD credentials) and present-proof v2 (DIF presentation exchange),
// with did:key and did:peer and a JSON-LD document loader that works offline. With `mediation` it
// is a mediator or a mediator's recipient (./mediation.ts); a recipient may have no inbound
// transport at all (`http: false`).
import {
  Agent,
  ConsoleLogger,
  DidsModule,
  KeyDidRegistrar,
  KeyDidResolver,
  Kms,
  LogLevel,
  type Logger,
  PeerDidNumAlgo,
  PeerDidRegistrar,
  PeerDidResolver,
  W3cCredentialsModule,
} from '@credo-ts/core';
import {
  DidCommHttpOutboundTransport,
  DidCommModule,
  DidCommWsOutboundTransport,
  type DidCommInboundTransport,
} from '@credo-ts/didcomm';
import type { DataSource } from 'typeorm';
import { CredentialSaleModule } from '../../protocols/credential-sale/credential-sale-module.js';
import { perunDocumentLoader } from '../../protocols/identity/context.js';
import { peerCredentialProtocols, peerProofProtocols } from '../../protocols/identity/exchange-protocols.js';
import { IdentityModule } from '../../protocols/identity/identity-module.js';
import { repeatChangesNothing } from '../../protocols/perun/lean/lean-path.js';
import { PerunModule, type PerunModuleOptions } from '../../protocols/perun/perun-module.js';
import type { DroppedMessage } from '../../protocols/replay/replay-events.js';
import { ReplayModule } from '../../protocols/replay/replay-module.js';
import { perunKmsModuleConfig, type PerunKeyManagementService } from '../kms/index.js';
import { TypeOrmStorageModule } from '../storage/index.js';
import { TypeOrmReplayStore } from '../storage/inbound-messages.js';
import {
  HttpInboundTransport,
  LeanOutboundTransport,
  WsInboundTransport,
  type HttpInboundTransportOptions,
  type WsInboundTransportOptions,
} from '../transport/index.js';
import { InboundLog } from '../transport/inbound-log.js';
import { keepAliveAgents, type KeepAliveAgents } from '../transport/keep-alive-agents.js';
import { createAgentDependencies } from './dependencies.js';
import { mediationModules, type MediationOptions } from './mediation.js';

export interface PerunAgentOptions {
  label: string;
  /** The agent's DataSource (openAgentStore in ../datasource.ts): channels, Credo's records, keys. */
  dataSource: DataSource;
  kms: PerunKeyManagementService;
  /**
   * Inbound HTTP; host defaults to 127.0.0.1, port 0 picks a free one; its bounds and log. False:
   * no inbound transport (a mediator's recipient, reached through it).
   */
  http?: HttpInboundTransportOptions | false;
  /** Inbound WebSocket as well, same defaults. */
  ws?: WsInboundTransportOptions;
  logLevel?: LogLevel;
  /** Credo's logger (the node's: ./credo-logger.ts); default a console logger at `logLevel`, off. */
  logger?: Logger;
  /**
   * Credentials and proofs: issue-credential v2 with JSON-LD credentials, present-proof v2 with
   * DIF presentation exchange, did:key and did:peer, and the offline document loader serving the
   * peer-credential context. Off by default.
   */
  identity?: boolean;
  /**
   * The Perun protocol's lean path for channel updates, accepts, update refusals and syncs (keys
   * cached per connection, persistent outbound connections); default true. False: every message
   * through Credo's pipeline, as an agent without it.
   */
  lean?: boolean;
  /**
   * The lean path's carrier asks a peer's HTTP endpoint for a WebSocket upgrade and sends frames
   * on it, each acknowledged as a POST's answer would be (src/agent/transport/frame-acks.ts);
   * default true. false: a POST each.
   */
  leanUpgrade?: boolean;
  /** Where dropped replays are logged (rate-limited); default the HTTP transport's log. */
  log?: (line: string) => void;
  /** The agent's mediation role, if any. */
  mediation?: MediationOptions;
  /** The Perun module's channel client and gate (PerunModuleOptions); default none: the caller runs the client. */
  perun?: Omit<PerunModuleOptions, 'lean'>;
}

// Inbound messages are processed concurrently: with Credo's default (one at a time), a handler
// that sends a message and waits for the peer's HTTP answer holds up every later inbound message,
// up to the peer's transport timeout (seen as a 10 s stall when a peer abandons a proof). Channel
// messages need no global order: the channel core orders them per channel.

/**
 * Connections accepted automatically, with did:peer:2 DIDs in DID exchange: its short form
 * resolves without decoding a long document on every message, as did:peer:4 does.
 */
const CONNECTIONS = {
  autoAcceptConnections: true,
  peerNumAlgoForDidExchangeRequests: PeerDidNumAlgo.MultipleInceptionKeyWithoutDoc,
};

function transports(o: PerunAgentOptions) {
  const inbound: DidCommInboundTransport[] = o.http === false ? [] : [new HttpInboundTransport(o.http ?? {})];
  if (o.ws !== undefined) inbound.push(new WsInboundTransport(o.ws));
  return { inbound, outbound: [new DidCommHttpOutboundTransport(), new DidCommWsOutboundTransport()] };
}

/**
 * What every agent has: config, dependencies, our storage and KMS, and the replay guard (listed
 * before the DIDComm module, whose initialize starts the inbound transports, so that its IDs are
 * loaded first); `sockets`, the one pool of kept-alive outbound sockets that the dependencies'
 * fetch (Credo's HTTP outbound) and the lean path's carrier share.
 */
function base(o: PerunAgentOptions) {
  const log = o.log ?? (o.http === false ? undefined : o.http?.log);
  const sockets = keepAliveAgents();
  return {
    sockets,
    config: {
      logger: o.logger ?? new ConsoleLogger(o.logLevel ?? LogLevel.off),
      allowInsecureHttpUrls: true,
    },
    dependencies: createAgentDependencies(undefined, sockets),
    storage: new TypeOrmStorageModule(o.dataSource),
    kms: new Kms.KeyManagementModule(perunKmsModuleConfig(o.kms)),
    replay: new ReplayModule({
      store: new TypeOrmReplayStore(o.dataSource),
      writeBehind: repeatChangesNothing,
      ...(log === undefined ? {} : { onDropped: replayLog(log) }),
    }),
  };
}

/** Dropped replays on the agent's log, rate-limited like the transports' refusals. */
function replayLog(log: (line: string) => void): (d: DroppedMessage) => void {
  const lines = new InboundLog({ log });
  return (d) =>
    lines.record({
      transport: '',
      outcome: 'dropped',
      connectionId: d.connectionId,
      reason:
        d.reason === 'repeat'
          ? `a replay of message ${d.messageId}`
          : `message ${d.messageId} is ${d.reason}`,
    });
}

/** The DIDComm settings every agent shares; the identity agent adds credentials and proofs. */
function didcommOptions(o: PerunAgentOptions) {
  return {
    transports: transports(o),
    connections: CONNECTIONS,
    processDidCommMessagesConcurrently: true,
    ...mediationModules(o.mediation),
  } as const;
}

/**
 * The Perun module, with the lean path on our KMS and a carrier on `sockets` unless `lean: false`;
 * the carrier asks a peer's HTTP endpoint for a WebSocket (ours take one).
 */
function perunModule(o: PerunAgentOptions, sockets: KeepAliveAgents): PerunModule {
  return new PerunModule({
    ...o.perun,
    ...(o.lean === false
      ? {}
      : {
          lean: {
            keys: o.kms,
            carrier: new LeanOutboundTransport(sockets, { upgrade: o.leanUpgrade !== false }),
          },
        }),
  });
}

function createPlainAgent(o: PerunAgentOptions) {
  const { config, dependencies, storage, kms, replay, sockets } = base(o);
  return new Agent({
    config,
    dependencies,
    modules: {
      storage,
      kms,
      replay,
      didcomm: new DidCommModule({ ...didcommOptions(o), credentials: false, proofs: false }),
      perun: perunModule(o, sockets),
    },
  });
}

function createIdentityAgent(o: PerunAgentOptions) {
  const { config, dependencies, storage, kms, replay, sockets } = base(o);
  return new Agent({
    config,
    dependencies,
    modules: {
      storage,
      kms,
      replay,
      dids: new DidsModule({
        registrars: [new KeyDidRegistrar(), new PeerDidRegistrar()],
        resolvers: [new KeyDidResolver(), new PeerDidResolver()],
      }),
      w3cCredentials: new W3cCredentialsModule({ documentLoader: perunDocumentLoader }),
      didcomm: new DidCommModule({
        ...didcommOptions(o),
        credentials: { credentialProtocols: peerCredentialProtocols() },
        proofs: { proofProtocols: peerProofProtocols() },
      }),
      perun: perunModule(o, sockets),
      identity: new IdentityModule(),
      credentialSale: new CredentialSaleModule(),
    },
  });
}

export type PerunAgent = ReturnType<typeof createPlainAgent>;
/**
 * An agent created with `identity: true`: `didcomm.credentials` and `didcomm.proofs` exist, and
 * `modules.identity` and `modules.credentialSale`.
 */
export type PerunIdentityAgent = ReturnType<typeof createIdentityAgent>;

export function createPerunAgent(o: PerunAgentOptions & { identity: true }): PerunIdentityAgent;
export function createPerunAgent(o: PerunAgentOptions & { identity?: false }): PerunAgent;
export function createPerunAgent(o: PerunAgentOptions): PerunAgent | PerunIdentityAgent;
export function createPerunAgent(o: PerunAgentOptions): PerunAgent | PerunIdentityAgent {
  return o.identity === true ? createIdentityAgent(o) : createPlainAgent(o);
}
