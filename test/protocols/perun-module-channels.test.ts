// PerunModule's channel calls (src/protocols/perun/perun-channels.ts) where they must refuse: a
// module made without `channels` runs no channel client, and a connection with no peer on the
// Perun wire cannot carry a channel. The whole path (two Credo agents opening, paying and closing
// through `agent.modules.perun`) runs in examples/credo.ts, under test/examples.
import type { AgentContext } from '@credo-ts/core';
import { DidCommConnectionService } from '@credo-ts/didcomm';
import { MemoryChannelStore } from '../../src/channels/persistence/memory-store.js';
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { Adjudicator, Funder } from '../../src/channels/interfaces.js';
import { DidCommChannelWire } from '../../src/protocols/perun/didcomm-wire.js';
import { PerunChannels, PerunModuleError } from '../../src/protocols/perun/perun-channels.js';
import { PerunModule } from '../../src/protocols/perun/perun-module.js';

/** An agent context whose connection service knows one connection, without a DID on the other end. */
const contextWith = (connection: { id: string; theirDid?: string }) =>
  ({
    resolve: (token: unknown) => {
      if (token !== DidCommConnectionService) throw new Error('unexpected resolve');
      return { getById: async () => connection };
    },
  }) as unknown as AgentContext;

const open = { peerAddress: '0x' + '11'.repeat(20), allocation: {} as never, challengeDuration: 60n };

it('a module without channels runs no channel client and refuses the channel calls', async () => {
  const module = new PerunModule();
  expect(module.channels.client).toBeUndefined();
  const refusal = { code: 'NO_CHANNEL_CLIENT' };
  await expect(module.channels.pay('0x01', 1n)).rejects.toMatchObject(refusal);
  await expect(module.channels.close('0x01')).rejects.toMatchObject(refusal);
  await expect(
    module.channels.openChannel(contextWith({ id: 'c1', theirDid: 'did:peer:bob' }), {
      connectionId: 'c1',
      ...open,
    }),
  ).rejects.toBeInstanceOf(PerunModuleError);
});

it('a module with channels runs its client on its own wire, and will not open on a connection with no peer', async () => {
  const signer = EthereumSigner.random();
  const wire = new DidCommChannelWire();
  const channels = new PerunChannels(wire, {
    signer,
    backend: ethereumBackend,
    funder: {} as Funder,
    adjudicator: {} as Adjudicator,
    store: new MemoryChannelStore(),
  });
  expect(channels.client).toBeDefined();
  const refused = await channels
    .openChannel(contextWith({ id: 'c2' }), { connectionId: 'c2', ...open })
    .catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(PerunModuleError);
  expect(refused).toMatchObject({ code: 'NO_PEER', details: { connectionId: 'c2' } });
});
