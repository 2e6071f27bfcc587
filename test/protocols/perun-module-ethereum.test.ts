// PerunModule({ ethereum: { config, privateKey }, channels: { store } }): the module connects to the
// chain when the agent initializes and builds signer, funder, adjudicator and a local watcher
// itself. Alice and Bob, plain Credo agents with the module on their own chain accounts, open a
// channel (funded to the wei) and pay each other; Bob goes away and his old opening state is
// registered on chain: Alice's watcher, the module's, refutes it with the latest state, and Alice
// withdraws her latest balance. And the options the shorthand refuses before connecting.
import type { AgentContext } from '@credo-ts/core';
import { parseEther } from 'ethers';
import type { DataSource } from 'typeorm';
import { createPerunAgent, type PerunAgent } from '../../src/agent/credo/agent.js';
import { openAgentStore } from '../../src/agent/datasource.js';
import { InMemoryKmsKeyStorage, PerunKeyManagementService } from '../../src/agent/kms/index.js';
import type { ClientEvent } from '../../src/channels/client.js';
import {
  configOfDeployment,
  ethereumConfigToJson,
  type EthereumConfig,
} from '../../src/channels/ethereum/config.js';
import { fundingId } from '../../src/channels/ethereum/encoding.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import { DidCommChannelWire } from '../../src/protocols/perun/didcomm-wire.js';
import { PerunChannels } from '../../src/protocols/perun/perun-channels.js';
import { PerunModule } from '../../src/protocols/perun/perun-module.js';
import { ethAllocation } from '../channels/client-harness.js';
import { startWorld, type World } from '../ethereum/harness.js';

interface Side {
  agent: PerunAgent;
  ds: DataSource;
  store: TypeOrmChannelStore;
  address: string;
}

let world: World;
let config: EthereumConfig;
const sides: Side[] = [];

/** A plain Credo agent whose Perun module is given only the chain's configuration and `account`'s key. */
async function side(label: string, account: number): Promise<Side> {
  const ds = await openAgentStore(':memory:');
  const kms = await PerunKeyManagementService.open({
    storage: new InMemoryKmsKeyStorage(),
    passphrase: `${label} passphrase`,
    scrypt: { N: 2 ** 12 },
  });
  const store = new TypeOrmChannelStore(ds);
  const { address, privateKey } = world.chain.accounts[account]!;
  const agent = createPerunAgent({
    label,
    dataSource: ds,
    kms,
    perun: {
      ethereum: { config, privateKey, pollIntervalMs: 20 },
      channels: { store, onProposal: () => ({ accept: true }), concludeWaitMs: 1_000 },
    },
  });
  await agent.initialize();
  const s = { agent, ds, store, address };
  sides.push(s);
  return s;
}

const client = (s: Side) => s.agent.modules.perun.client!;

function event(s: Side, match: (e: ClientEvent) => boolean): Promise<ClientEvent> {
  return new Promise((resolve) => {
    const on = (e: ClientEvent) => {
      if (!match(e)) return;
      client(s).off('event', on);
      resolve(e);
    };
    client(s).on('event', on);
  });
}

const holdings = (id: string, participant: string): Promise<bigint> =>
  world.ethHolder.getFunction('holdings').staticCall(fundingId(id, participant)) as Promise<bigint>;

beforeAll(async () => {
  world = await startWorld();
  config = configOfDeployment(world.chain.url, world.deployment);
});

afterAll(async () => {
  for (const s of sides.reverse()) {
    await s.agent.shutdown().catch(() => undefined);
    await s.ds.destroy();
  }
  await world?.stop();
});

it('a channel opened through the ethereum shorthand is funded, paid, watched and settled to the wei', async () => {
  const alice = await side('Alice', 1);
  const bob = await side('Bob', 2);

  const invitation = await bob.agent.didcomm.oob.createInvitation({ label: 'Bob' });
  const { connectionRecord } = await alice.agent.didcomm.oob.receiveInvitation(
    invitation.outOfBandInvitation,
    { label: 'Alice' },
  );
  const toBob = await alice.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id);

  const bobOpened = event(bob, (e) => e.type === 'opened');
  const channel = await alice.agent.modules.perun.openChannel({
    connectionId: toBob.id,
    peerAddress: bob.address,
    allocation: ethAllocation(world, parseEther('1'), parseEther('2')),
    challengeDuration: 60n,
  });
  const id = channel.id;
  await bobOpened;
  expect(channel.params.participants.map((p) => p.ethAddress)).toEqual([alice.address, bob.address]);
  expect(await holdings(id, alice.address)).toBe(parseEther('1'));
  expect(await holdings(id, bob.address)).toBe(parseEther('2'));
  const opening = (await bob.store.getChannel(id))!.current!;
  expect(opening.state.version).toBe(0n);

  await bob.agent.modules.perun.pay(id, parseEther('0.5'));
  await bob.agent.modules.perun.pay(id, parseEther('0.5'));
  const latest = await alice.agent.modules.perun.pay(id, parseEther('0.25'));
  expect(latest.outcome.balances[0]).toEqual([parseEther('1.75'), parseEther('1.25')]);

  // Bob goes away; his opening state (2 ETH for him) is registered by somebody else's account.
  await bob.agent.shutdown();
  const registered = event(alice, (e) => e.type === 'registered' && e.channelId === id);
  const stranger = world.party(3, 'Stranger');
  await stranger.adjudicator.register({ params: channel.params, state: opening.state, sigs: opening.sigs });
  expect(await registered).toMatchObject({ version: 0n, by: 'chain' });

  // Alice's watcher, built by the module, refutes it with the latest state.
  const deadline = Date.now() + 20_000;
  let record = await stranger.adjudicator.dispute(id);
  while (record.version !== latest.version && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    record = await stranger.adjudicator.dispute(id);
  }
  expect(record.version).toBe(latest.version);

  await world.chain.increaseTime(61);
  expect(await client(alice).settlement(id)).toEqual([{ asset: 0, amount: parseEther('1.75') }]);
  expect(await holdings(id, alice.address)).toBe(0n);
  expect(await holdings(id, bob.address)).toBe(parseEther('1.25'));
}, 90_000);

describe('the options the shorthand refuses before connecting', () => {
  const privateKey = '0x' + '42'.repeat(32);

  it('ethereum needs channels with a store, and builds the chain parts itself', () => {
    const ethereum = { config: ethereumConfigToJson(config), privateKey };
    expect(() => new PerunModule({ ethereum })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }) as Error,
    );
    const withSigner = {
      ethereum,
      channels: { store: new MemoryChannelStore(), signer: EthereumSigner.random() },
    };
    expect(() => new PerunModule(withSigner as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: { given: ['signer'] } }) as Error,
    );
    const module = new PerunModule({ ethereum, channels: { store: new MemoryChannelStore() } });
    expect(module.channels.client).toBeUndefined();
  });

  it('a malformed configuration is refused when the module is made', () => {
    const make = (c: Record<string, unknown>) => () =>
      new PerunModule({ ethereum: { config: c, privateKey }, channels: { store: new MemoryChannelStore() } });
    expect(make({ ...ethereumConfigToJson(config), adjudicator: '0x1' })).toThrow(
      expect.objectContaining({ code: 'CONFIG', details: { field: 'adjudicator' } }) as Error,
    );
    expect(make({ ...config, rpcUrl: 'file:///chain' })).toThrow(
      expect.objectContaining({ code: 'CONFIG', details: { field: 'rpcUrl' } }) as Error,
    );
  });

  it('a gate without the identity module fails start before any connection', async () => {
    const channels = new PerunChannels(
      new DidCommChannelWire(),
      { store: new MemoryChannelStore() },
      { policy: { trustedIssuers: [] } },
      { config: { ...config, rpcUrl: 'http://127.0.0.1:1' }, privateKey },
    );
    const context = { dependencyManager: { isRegistered: () => false } } as unknown as AgentContext;
    await expect(channels.start(context)).rejects.toMatchObject({ code: 'NO_IDENTITY_MODULE' });
    expect(channels.client).toBeUndefined();
  });
});
