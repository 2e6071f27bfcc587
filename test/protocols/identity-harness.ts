// Credo agents with the identity module in one process, for the gating suites: each on its own
// in-memory database, with its identity DID, and (given a chain account) a peer holder signing
// with that account's key and a channel client whose proposals go through `gate`.
import type { DidCommConnectionRecord } from '@credo-ts/didcomm';
import { Wallet } from 'ethers';
import type { DataSource } from 'typeorm';
import { createPerunAgent, type PerunIdentityAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import {
  ChannelClient,
  type ClientEvent,
  type Decision,
  type IncomingProposal,
} from '../../src/channels/client.js';
import { EthereumAdjudicatorAdapter, ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { PeerHolder } from '../../src/protocols/identity/index.js';
import { ethAllocation } from '../channels/client-harness.js';
import type { Party, World } from '../ethereum/harness.js';

export interface Side {
  name: string;
  ds: DataSource;
  agent: PerunIdentityAgent;
  /** The DID the agent uses on every connection: its credential's subject. */
  did: string;
  party?: Party;
  holder?: PeerHolder;
  client?: ChannelClient;
  store?: TypeOrmChannelStore;
}

/** A channel client's environment on `party`'s chain account, with the suites' short timings. */
export function channelEnvironment(party: Party, store: TypeOrmChannelStore) {
  return {
    signer: party.signer,
    backend: ethereumBackend,
    funder: party.funder,
    adjudicator: new EthereumAdjudicatorAdapter(
      party.adjudicator,
      party.signer,
      Wallet.createRandom().address,
    ),
    store,
    chainPollMs: 20,
    concludeWaitMs: 3_000,
    responseTimeoutMs: 15_000,
  };
}

/** Agents started here, for closeSides. */
const started: Side[] = [];

export async function agentSide(
  world: World,
  name: string,
  account?: number,
  gate?: (agent: PerunIdentityAgent) => (p: IncomingProposal) => Promise<Decision>,
): Promise<Side> {
  const ds = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${name} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const agent = createPerunAgent({ label: name, dataSource: ds, kms, identity: true });
  await agent.initialize();
  const side: Side = { name, ds, agent, did: await agent.modules.identity.createIdentityDid() };
  started.push(side);
  if (account !== undefined) {
    const party = world.party(account, name);
    side.party = party;
    side.store = new TypeOrmChannelStore(ds);
    side.holder = agent.modules.identity.enablePeerHolder({ signer: party.signer });
    side.client = new ChannelClient({
      wire: agent.modules.perun.wire,
      ...channelEnvironment(party, side.store),
      onProposal: gate?.(agent),
    });
    await side.client.start();
  }
  return side;
}

/** Closes every agent started here, the last first. */
export async function closeSides(): Promise<void> {
  for (const s of started.splice(0).reverse()) {
    await s.client?.close();
    await s.agent.shutdown();
    await s.ds.destroy();
  }
}

/** `invitee` accepts `inviter`'s invitation with its identity DID; both records once completed. */
export async function connect(
  inviter: Side,
  invitee: Side,
): Promise<[DidCommConnectionRecord, DidCommConnectionRecord]> {
  const oob = await inviter.agent.didcomm.oob.createInvitation({ label: inviter.name });
  const url = oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' });
  const { connectionRecord } = await invitee.agent.didcomm.oob.receiveInvitationFromUrl(url, {
    label: invitee.name,
    ourDid: invitee.did,
  });
  const theirs = await invitee.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, {
    timeoutMs: 20_000,
  });
  const [pending] = await inviter.agent.didcomm.connections.findAllByOutOfBandId(oob.id);
  const ours = await inviter.agent.didcomm.connections.returnWhenIsConnected(pending!.id, {
    timeoutMs: 20_000,
  });
  return [ours, theirs];
}

export function nextEvent(s: Side, type: ClientEvent['type']): Promise<ClientEvent> {
  return new Promise((resolve) => {
    const on = (e: ClientEvent) => {
      if (e.type !== type) return;
      s.client!.off('event', on);
      resolve(e);
    };
    s.client!.on('event', on);
  });
}

/** A proposal from `from` to `to` whose participant 0 is a random address, not `from`'s; `id` fills its ID. */
export function proposalAtRandomAddress(
  world: World,
  from: Side,
  to: Side,
  id: string,
  fund = 1n,
): IncomingProposal {
  return {
    peer: from.did,
    proposalID: '0x' + id.repeat(32),
    participants: [EthereumSigner.random().address, to.party!.signer.address],
    allocation: ethAllocation(world, 1n, fund),
    fundingAgreement: [[1n, fund]],
    challengeDuration: 60n,
    app: '0x' + '00'.repeat(20),
    initData: '0x',
  };
}
