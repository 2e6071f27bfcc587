// One Credo agent as perun-agent runs it: our TypeORM storage in the agent's DataSource (the
// channel tables live there too), our KMS, DIDComm with our HTTP (and optionally WebSocket)
// inbound transports bound to 127.0.0.1 unless configured otherwise, Credo's outbound ones,
// connections accepted automatically, and the Perun protocol module.
import { Agent, ConsoleLogger, Kms, LogLevel } from '@credo-ts/core';
import {
  DidCommHttpOutboundTransport,
  DidCommModule,
  DidCommWsOutboundTransport,
  type DidCommInboundTransport,
} from '@credo-ts/didcomm';
import type { DataSource } from 'typeorm';
import { openDataSource } from '../../channels/persistence/datasource.js';
import { PerunModule } from '../../protocols/perun/perun-module.js';
import { perunKmsModuleConfig, type PerunKeyManagementService } from '../kms/index.js';
import { credoStorageEntities, credoStorageMigrations, TypeOrmStorageModule } from '../storage/index.js';
import { HttpInboundTransport, WsInboundTransport } from '../transport/index.js';
import { createAgentDependencies } from './dependencies.js';

export interface PerunAgentOptions {
  label: string;
  /** The agent's DataSource (openAgentDataSource): Credo's records and the channel tables. */
  dataSource: DataSource;
  kms: PerunKeyManagementService;
  /** Inbound HTTP; host defaults to 127.0.0.1, port 0 picks a free one. */
  http?: { host?: string; port?: number; endpoint?: string };
  /** Inbound WebSocket as well, same defaults. */
  ws?: { host?: string; port?: number; endpoint?: string };
  logLevel?: LogLevel;
}

/** Opens the DataSource for an agent: channel tables plus Credo's records, SQLite path or postgres:// URL. */
export function openAgentDataSource(url: string): Promise<DataSource> {
  return openDataSource({
    url,
    entities: [...credoStorageEntities],
    migrations: [...credoStorageMigrations],
  });
}

export function createPerunAgent(o: PerunAgentOptions) {
  const inbound: DidCommInboundTransport[] = [new HttpInboundTransport(o.http ?? {})];
  if (o.ws !== undefined) inbound.push(new WsInboundTransport(o.ws));
  return new Agent({
    config: { logger: new ConsoleLogger(o.logLevel ?? LogLevel.off), allowInsecureHttpUrls: true },
    dependencies: createAgentDependencies(),
    modules: {
      storage: new TypeOrmStorageModule(o.dataSource),
      kms: new Kms.KeyManagementModule(perunKmsModuleConfig(o.kms)),
      didcomm: new DidCommModule({
        transports: {
          inbound,
          outbound: [new DidCommHttpOutboundTransport(), new DidCommWsOutboundTransport()],
        },
        connections: { autoAcceptConnections: true },
        credentials: false,
        proofs: false,
        messagePickup: false,
        mediator: false,
        mediationRecipient: false,
      }),
      perun: new PerunModule(),
    },
  });
}

export type PerunAgent = ReturnType<typeof createPerunAgent>;
