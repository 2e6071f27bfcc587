// Example for `perun-agent/credo`: Perun payments in Credo agents of one's own, with one module.
// Each agent is a plain `new Agent(...)` with DIDComm and
// `perun: new PerunModule({ ethereum: { config, privateKey }, channels: { store } })`: the module
// connects to the chain named by the configuration when the agent initializes, builds the signer,
// funder, adjudicator and a watcher, runs the channel client on its DIDComm wire, and
// `agent.modules.perun` opens, pays and closes. Alice and Bob connect, open a channel on an
// embedded Ethereum chain, pay each other and settle. Storage, KMS and the inbound transport here
// are the agent's (`perun-agent/agent`); a Credo user may bring their own.
// Run: `npm run build && node dist/examples/credo.js`.
import { Agent, ConsoleLogger, Kms, LogLevel } from '@credo-ts/core';
import { DidCommHttpOutboundTransport, DidCommModule } from '@credo-ts/didcomm';
import { formatEther, parseEther } from 'ethers';
import {
  HttpInboundTransport,
  InMemoryKmsKeyStorage,
  PerunKeyManagementService,
  TypeOrmStorageModule,
  createAgentDependencies,
  openAgentStore,
  perunKmsModuleConfig,
} from 'perun-agent/agent';
import { TypeOrmChannelStore, type ClientEvent } from 'perun-agent/channels';
import { PerunModule } from 'perun-agent/credo';
import {
  ETH_BACKEND_ID,
  EmbeddedChain,
  configOfDeployment,
  deployContracts,
  ethAsset,
  type EthereumConfig,
} from 'perun-agent/ethereum';

/** A Credo agent with DIDComm over HTTP and Perun payments on `account`'s chain account. */
async function credoAgent(label: string, account: number, config: EthereumConfig) {
  const dataSource = await openAgentStore(':memory:');
  const { address, privateKey } = chain.accounts[account]!;
  const keys = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${label} passphrase`,
  });
  const agent = new Agent({
    config: { logger: new ConsoleLogger(LogLevel.off), allowInsecureHttpUrls: true },
    dependencies: createAgentDependencies(),
    modules: {
      storage: new TypeOrmStorageModule(dataSource),
      kms: new Kms.KeyManagementModule(perunKmsModuleConfig(keys)),
      didcomm: new DidCommModule({
        transports: {
          inbound: [new HttpInboundTransport({})],
          outbound: [new DidCommHttpOutboundTransport()],
        },
        connections: { autoAcceptConnections: true },
        credentials: false,
        proofs: false,
      }),
      perun: new PerunModule({
        ethereum: { config, privateKey, pollIntervalMs: 50 },
        channels: {
          store: new TypeOrmChannelStore(dataSource),
          onProposal: () => ({ accept: true }),
          concludeWaitMs: 500,
        },
      }),
    },
  });
  await agent.initialize();
  return { agent, dataSource, address };
}

const chain = await EmbeddedChain.start();
const stops: (() => Promise<unknown>)[] = [() => chain.stop()];
try {
  const contracts = await deployContracts(chain.wallet(0));
  // What `perun-agent chain` writes to its chain file: RPC URL, chain ID, contract addresses.
  const config = configOfDeployment(chain.url, contracts);

  const participant = async (account: number, label: string) => {
    const made = await credoAgent(label, account, config);
    stops.push(
      () => made.dataSource.destroy(),
      () => made.agent.shutdown(),
    );
    return made;
  };
  const alice = await participant(1, 'Alice');
  const bob = await participant(2, 'Bob');

  // Bob invites, Alice accepts: the DIDComm connection the channel's messages travel on.
  const invitation = await bob.agent.didcomm.oob.createInvitation({ label: 'Bob' });
  const { connectionRecord } = await alice.agent.didcomm.oob.receiveInvitation(
    invitation.outOfBandInvitation,
    {
      label: 'Alice',
    },
  );
  const toBob = await alice.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id);
  console.log(`Alice connected to Bob (connection ${toBob.id})`);

  const opened = new Promise<void>((resolve) =>
    bob.agent.modules.perun.client!.on('event', (e: ClientEvent) => e.type === 'opened' && resolve()),
  );
  const { id } = await alice.agent.modules.perun.openChannel({
    connectionId: toBob.id,
    peerAddress: bob.address,
    allocation: {
      assets: [ethAsset(contracts.chainId, contracts.assetHolderETH)],
      backends: [ETH_BACKEND_ID],
      balances: [[parseEther('1'), parseEther('1')]],
      locked: [],
    },
    challengeDuration: 60n,
  });
  await opened;
  console.log(`channel ${id} open over DIDComm`);

  await alice.agent.modules.perun.pay(id, parseEther('0.3'));
  await bob.agent.modules.perun.pay(id, parseEther('0.1'));
  const withdrawn = await alice.agent.modules.perun.close(id);
  await bob.agent.modules.perun.client!.settlement(id);
  console.log(`settled: alice withdrew ${formatEther(withdrawn[0]!.amount)} ETH`);
} finally {
  for (const stop of stops.reverse()) await stop();
}
