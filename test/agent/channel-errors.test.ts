// The agent's channel errors in the user's terms: the channel core's refusals (in base units, with
// DIDs) become messages in the asset's units that name the peer and the connection, and their
// details keep the exact figures. The core's errors here are the ones it raises (see
// test/channels/batched-payments.test.ts for the balance refusal and the e2e CLI test for both
// ends of it).
import { ChannelClientError, InvalidTransitionError } from '../../src/channels/errors.js';
import { toApiError } from '../../src/agent/api/api-error.js';
import { Channels } from '../../src/agent/node/channels.js';
import type { Connections } from '../../src/agent/node/connections.js';
import type { NodeContext } from '../../src/agent/node/context.js';
import { ethereumLedger } from '../../src/agent/node/ledger.js';
import type { EthereumConnection } from '../../src/channels/ethereum/config.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import type { ChannelViews } from '../../src/agent/node/views.js';

const CHANNEL = '0xa999f5e1c0b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8';
const ETH = { symbol: 'ETH', decimals: 18, holder: '0x0000000000000000000000000000000000000001' };
const PEER_DID = `did:peer:2.${'Ez6LS'.repeat(60)}`;

function channels(client: Record<string, unknown>, proposeToVerifiedPeer?: () => Promise<never>): Channels {
  const ctx = {
    client: { channel: () => ({ id: CHANNEL }), ...client },
    assets: { named: () => ETH },
    config: { challengeDuration: 60, reverifyAfterSeconds: 300 },
    ledger: ethereumLedger({
      signer: new EthereumSigner(`0x${'11'.repeat(32)}`),
      chain: { config: { chainId: 1337n } } as unknown as EthereumConnection,
      chains: [],
    }),
    agent: { modules: { identity: { proposeToVerifiedPeer } } },
    policy: {},
    timeoutMs: 26_000,
    log: () => undefined,
  } as unknown as NodeContext;
  const connections = {
    ready: async (id: string) => ({ id, theirLabel: 'Bob', theirDid: PEER_DID }),
  } as unknown as Connections;
  const views = { assetOf: () => ETH } as unknown as ChannelViews;
  return new Channels(ctx, connections, views);
}

test('an overpayment says what the channel holds and what was asked, in ETH; the details keep wei', async () => {
  const core = new InvalidTransitionError('NEGATIVE_BALANCE', 'insufficient balance (base units)', {
    channelId: CHANNEL,
    asset: 0,
    available: '1650000000000000000',
    amount: '5000000000000000000',
  });
  const err = await channels({ sendPayment: () => Promise.reject(core) })
    .pay(CHANNEL, '5')
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ChannelClientError);
  const { status, body } = toApiError(err);
  expect(status).toBe(400);
  expect(body).toEqual({
    category: 'client',
    code: 'INSUFFICIENT_BALANCE',
    message: 'insufficient balance in channel 0xa999f5e1…: 1.65 ETH available, 5 ETH asked',
    details: {
      channelId: CHANNEL,
      asset: 'ETH',
      available: '1.65',
      asked: '5',
      availableBaseUnits: '1650000000000000000',
      askedBaseUnits: '5000000000000000000',
    },
  });
  expect((err as Error).cause).toBe(core);
});

test('other payment refusals pass unchanged', async () => {
  const busy = new ChannelClientError('CHANNEL_BUSY', 'busy');
  await expect(channels({ sendPayment: () => Promise.reject(busy) }).pay(CHANNEL, '1')).rejects.toBe(busy);
});

test('a proposal nobody answers names the peer, the connection and the wait, not the DID', async () => {
  const core = new ChannelClientError('PEER_TIMEOUT', 'the peer did not answer the proposal', {
    peer: PEER_DID,
  });
  const err = await channels({}, () => Promise.reject(core))
    .open({ connectionId: 'conn-7', fund: '1' })
    .catch((e: unknown) => e);
  const { status, body } = toApiError(err);
  expect(status).toBe(504);
  expect(body).toEqual({
    category: 'peer',
    code: 'PEER_TIMEOUT',
    message: 'Bob did not answer the channel proposal within 26 s (connection conn-7)',
    details: { connectionId: 'conn-7', peerLabel: 'Bob', timeoutSeconds: 26 },
  });
  expect(JSON.stringify(body)).not.toContain('did:peer');
});

test('a gate that times out keeps its own error', async () => {
  const gate = new ChannelClientError('PEER_TIMEOUT', 'the peer did not present its credential in time', {
    connectionId: 'conn-7',
  });
  await expect(
    channels({}, () => Promise.reject(gate)).open({ connectionId: 'conn-7', fund: '1' }),
  ).rejects.toBe(gate);
});
