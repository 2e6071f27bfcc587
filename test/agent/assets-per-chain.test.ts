// The assets of an agent on several chains (src/agent/node/assets.ts): development chains deploy
// the contracts at the same addresses, so an asset is its chain ID and holder together; and the
// request checks of a channel on several assets (POST /channels `assets`, a payment's `asset` and
// `chainId`): refused with a typed 400 before anything is proposed.
import { jest } from '@jest/globals';
import type { ChannelInfo } from '../../src/channels/client.js';
import { ETH_BACKEND_ID, ethAsset } from '../../src/channels/ethereum/encoding.js';
import { ApiRequestError } from '../../src/agent/api/api-error.js';
import { OPEN_CHANNEL, checkBody } from '../../src/agent/api/validate.js';
import { Assets, type AssetInfo } from '../../src/agent/node/assets.js';
import { Channels } from '../../src/agent/node/channels.js';
import type { Connections } from '../../src/agent/node/connections.js';
import type { NodeContext } from '../../src/agent/node/context.js';
import { ChannelViews } from '../../src/agent/node/views.js';

const ETH_HOLDER = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const PRN_HOLDER = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';
const PRN = '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0';

/** ETH and PRN on chains 31337 and 31338, at the same addresses on both. */
function twoChains(): Assets {
  const on = (chainId: string): AssetInfo[] => [
    { symbol: 'ETH', decimals: 18, holder: ETH_HOLDER, chainId },
    { symbol: 'PRN', decimals: 18, holder: PRN_HOLDER, token: PRN, chainId },
  ];
  return Assets.of([...on('31337'), ...on('31338')]);
}

function refusal(f: () => unknown): ApiRequestError {
  try {
    f();
  } catch (err) {
    if (err instanceof ApiRequestError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('Assets on several chains', () => {
  const assets = twoChains();

  test('an asset is its chain and holder: the same holder on two chains is two assets', () => {
    expect(assets.byHolder(31337n, PRN_HOLDER)).toMatchObject({ symbol: 'PRN', chainId: '31337' });
    expect(assets.byHolder(31338n, PRN_HOLDER.toLowerCase())).toMatchObject({
      symbol: 'PRN',
      chainId: '31338',
    });
    expect(assets.byHolder(31338n, ETH_HOLDER)).toMatchObject({ symbol: 'ETH', chainId: '31338' });
    expect(assets.byHolder(1n, ETH_HOLDER)).toBeUndefined();
    expect(assets.ofAsset({ chainID: 31338n, ethHolder: PRN_HOLDER }).chainId).toBe('31338');
    expect(assets.ofAsset(undefined)).toBe(assets.eth);
    expect(assets.chainIds).toEqual(['31337', '31338']);
  });

  test('a named asset is on the primary chain unless a chain is named', () => {
    expect(assets.named('PRN')).toMatchObject({ symbol: 'PRN', chainId: '31337' });
    expect(assets.named(PRN.toLowerCase(), '31338')).toMatchObject({ symbol: 'PRN', chainId: '31338' });
    expect(assets.named(undefined, '31338')).toMatchObject({ symbol: 'ETH', chainId: '31338' });
  });

  test('a chain the agent is not connected to is a 400 UNKNOWN_CHAIN naming the chains it has', () => {
    const e = refusal(() => assets.named('ETH', '31399'));
    expect([e.status, e.code, e.details]).toEqual([
      400,
      'UNKNOWN_CHAIN',
      { chainId: '31399', chains: ['31337', '31338'] },
    ]);
    expect(refusal(() => assets.named('DAI', '31338')).code).toBe('UNSUPPORTED_ASSET');
  });
});

describe('POST /channels assets', () => {
  const base = { connectionId: 'c1' };

  test('each item is checked: fields, chain ID form, amounts in canonical form', () => {
    expect(
      checkBody(OPEN_CHANNEL, {
        ...base,
        assets: [
          { chainId: '31337', asset: 'ETH', fund: '1.50' },
          { chainId: '31338', asset: 'PRN', fund: '0', peerFund: '20' },
        ],
      }).assets,
    ).toEqual([
      { chainId: '31337', asset: 'ETH', fund: '1.5' },
      { chainId: '31338', asset: 'PRN', fund: '0', peerFund: '20' },
    ]);
    const field = (body: Record<string, unknown>) =>
      refusal(() => checkBody(OPEN_CHANNEL, body)).details['field'];
    expect(field({ ...base, assets: [] })).toBe('assets');
    expect(field({ ...base, assets: {} })).toBe('assets');
    expect(field({ ...base, assets: [{ asset: 'ETH', fund: '1' }] })).toBe('assets[0].chainId');
    expect(field({ ...base, assets: [{ chainId: '0x7a69', asset: 'ETH', fund: '1' }] })).toBe(
      'assets[0].chainId',
    );
    expect(field({ ...base, assets: [{ chainId: '1', asset: 'ETH', fund: '1', extra: 1 }] })).toBe(
      'assets[0].extra',
    );
    expect(field({ ...base, assets: ['ETH'] })).toBe('assets[0]');
  });
});

/** The node's channel part with a client and connections that record what reached them. */
function channels(info?: ChannelInfo) {
  const assets = twoChains();
  const propose = jest.fn(() => Promise.reject(new Error('not in this test')));
  const ready = jest.fn(() => Promise.resolve({ id: 'c1' }));
  const ctx = {
    assets,
    config: { challengeDuration: 60 },
    ledger: { backend: 'ethereum', ethereum: () => ({}) },
    client: { channel: () => info },
    agent: { modules: { identity: { proposeToVerifiedPeer: propose } } },
  } as unknown as NodeContext;
  const peers = { connectionIdOf: () => undefined, labelOf: () => undefined };
  const connections = { ready } as unknown as Connections;
  return { part: new Channels(ctx, connections, new ChannelViews(assets, '0x0', peers)), propose, ready };
}

describe('opening a channel on several assets', () => {
  const refused = async (req: Record<string, unknown>) => {
    const { part, propose, ready } = channels();
    const err = await part.open({ connectionId: 'c1', ...req }).catch((e: unknown) => e);
    // Nothing reached the peer: refused before the connection was even looked at.
    expect([ready.mock.calls.length, propose.mock.calls.length]).toEqual([0, 0]);
    return err as ApiRequestError;
  };

  test('an asset on a chain without a ledger: 400 UNKNOWN_CHAIN, nothing proposed', async () => {
    const e = await refused({
      assets: [
        { chainId: '31337', asset: 'ETH', fund: '1' },
        { chainId: '31399', asset: 'ETH', fund: '1' },
      ],
    });
    expect([e.status, e.code, e.details['chainId']]).toEqual([400, 'UNKNOWN_CHAIN', '31399']);
  });

  test('one asset named twice, no funds at all, or assets beside fund: 400, nothing proposed', async () => {
    const eth = { chainId: '31338', asset: 'ETH', fund: '1' };
    expect(await refused({ assets: [eth, { ...eth, asset: 'eth' }] })).toMatchObject({
      status: 400,
      details: { field: 'assets[1]' },
    });
    expect(await refused({ assets: [{ ...eth, fund: '0' }] })).toMatchObject({
      status: 400,
      details: { field: 'assets' },
    });
    expect(await refused({ fund: '1', assets: [eth] })).toMatchObject({
      status: 400,
      details: { field: 'assets' },
    });
    expect(await refused({})).toMatchObject({ status: 400, details: { field: 'fund' } });
  });

  test('a valid list proposes one allocation with each asset on its chain', async () => {
    const { part, propose } = channels();
    await part
      .open({
        connectionId: 'c1',
        assets: [
          { chainId: '31337', asset: 'ETH', fund: '2' },
          { chainId: '31338', asset: 'PRN', fund: '0', peerFund: '100' },
        ],
      })
      .catch(() => undefined);
    const proposal = (propose.mock.calls[0] as unknown[])[3] as { allocation: unknown };
    expect(proposal.allocation).toEqual({
      assets: [ethAsset(31337n, ETH_HOLDER), ethAsset(31338n, PRN_HOLDER)],
      backends: [ETH_BACKEND_ID, ETH_BACKEND_ID],
      balances: [
        [2n * 10n ** 18n, 0n],
        [0n, 100n * 10n ** 18n],
      ],
      locked: [],
    });
  });
});

describe('paying in one asset of a channel on several', () => {
  const info = {
    id: '0xc',
    idx: 0,
    state: {
      outcome: {
        assets: [ethAsset(31337n, ETH_HOLDER), ethAsset(31338n, ETH_HOLDER), ethAsset(31338n, PRN_HOLDER)],
        balances: [],
        locked: [],
      },
    },
  } as unknown as ChannelInfo;
  const { part } = channels(info);

  test('the asset, with its chain where it is on several, picks the index', () => {
    expect(part.assetIndex('0xc', {})).toBe(0);
    expect(part.assetIndex('0xc', { asset: 'PRN' })).toBe(2);
    expect(part.assetIndex('0xc', { asset: 'ETH', chainId: '31338' })).toBe(1);
  });

  test('ETH on two chains without a chain, or an asset the channel lacks: 400', () => {
    expect(refusal(() => part.assetIndex('0xc', { asset: 'ETH' }))).toMatchObject({
      status: 400,
      details: { field: 'chainId' },
    });
    expect(refusal(() => part.assetIndex('0xc', { asset: 'PRN', chainId: '31337' }))).toMatchObject({
      status: 400,
      code: 'UNSUPPORTED_ASSET',
    });
  });
});
