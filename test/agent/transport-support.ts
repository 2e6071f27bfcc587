// Credo agents for the transport tests, built from the project's real parts: TypeORM storage in an
// in-memory agent DataSource, the Perun KMS on in-memory key storage and the project's agent
// dependencies. Only the DIDComm module is assembled here, so the tests can pass in their own
// inbound transports.
import 'reflect-metadata';

import { Agent, ConsoleLogger, Kms, LogLevel } from '@credo-ts/core';
import {
  DidCommHttpOutboundTransport,
  DidCommModule,
  type DidCommInboundTransport,
  DidCommWsOutboundTransport,
} from '@credo-ts/didcomm';
import type { DataSource } from 'typeorm';

import { createAgentDependencies } from '../../src/agent/credo/dependencies.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import {
  InMemoryKmsKeyStorage,
  PerunKeyManagementService,
  perunKmsModuleConfig,
} from '../../src/agent/kms/index.js';
import { TypeOrmStorageModule } from '../../src/agent/storage/index.js';

export interface TestAgentOptions {
  label: string;
  inbound: DidCommInboundTransport[];
  logLevel?: LogLevel;
}

function buildAgent(options: TestAgentOptions, dataSource: DataSource, kms: PerunKeyManagementService) {
  return new Agent({
    config: { logger: new ConsoleLogger(options.logLevel ?? LogLevel.off), allowInsecureHttpUrls: true },
    dependencies: createAgentDependencies(),
    modules: {
      storage: new TypeOrmStorageModule(dataSource),
      kms: new Kms.KeyManagementModule(perunKmsModuleConfig(kms)),
      didcomm: new DidCommModule({
        transports: {
          inbound: options.inbound,
          outbound: [new DidCommHttpOutboundTransport(), new DidCommWsOutboundTransport()],
        },
        connections: { autoAcceptConnections: true },
        credentials: false,
        proofs: false,
        messagePickup: false,
        mediator: false,
        mediationRecipient: false,
      }),
    },
  });
}

export type TestAgent = ReturnType<typeof buildAgent>;

export interface TestAgentHandle {
  agent: TestAgent;
  dataSource: DataSource;
  /** Shuts the agent down (if initialized) and destroys its DataSource. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Builds (does not initialize) a Credo agent with the project's KMS and TypeORM storage (own
 * ':memory:' DataSource) and the given inbound transports.
 */
export async function createTestAgent(options: TestAgentOptions): Promise<TestAgentHandle> {
  const dataSource = await openAgentStore(':memory:');
  try {
    const kms = await PerunKeyManagementService.open({
      storage: new InMemoryKmsKeyStorage(),
      passphrase: `${options.label} passphrase`,
      scrypt: { N: 2 ** 12 },
    });
    const agent = buildAgent(options, dataSource, kms);
    return {
      agent,
      dataSource,
      close: async () => {
        try {
          if (agent.isInitialized) await agent.shutdown();
        } finally {
          if (dataSource.isInitialized) await dataSource.destroy();
        }
      },
    };
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
}
