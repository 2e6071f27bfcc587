// The REST API's answers to the node's typed errors: each comes back with its status and
// category, an unexpected error as a 500 that shows nothing of it.
import type { AgentNodeApi } from '../../src/agent/node/types.js';
import { ChainError, ChannelClientError } from '../../src/channels/errors.js';
import { PeerNotAuthorizedError } from '../../src/protocols/identity/errors.js';
import { type Api, startApi, stopApis, type CallOptions, call } from './api-support.js';

afterAll(stopApis);

describe("the node's errors", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  it.each<[string, keyof AgentNodeApi, string, string, CallOptions, unknown, number, object]>([
    [
      'an unknown channel',
      'channel',
      'GET',
      '/channels/0xnone',
      {},
      new ChannelClientError('UNKNOWN_CHANNEL', 'no channel 0xnone', { channelId: '0xnone' }),
      404,
      { category: 'client', code: 'UNKNOWN_CHANNEL', details: { channelId: '0xnone' } },
    ],
    [
      'a busy channel',
      'pay',
      'POST',
      '/channels/0xchannel/payments',
      { body: { amount: '1' } },
      new ChannelClientError('CHANNEL_BUSY', 'an update is in flight'),
      409,
      { category: 'client', code: 'CHANNEL_BUSY' },
    ],
    [
      'a peer that does not answer',
      'pay',
      'POST',
      '/channels/0xchannel/payments',
      { body: { amount: '1' } },
      new ChannelClientError('PEER_TIMEOUT', 'no answer'),
      504,
      { category: 'peer', code: 'PEER_TIMEOUT' },
    ],
    [
      'a peer without credential',
      'openChannel',
      'POST',
      '/channels',
      { body: { connectionId: 'conn-1', fund: '1' } },
      new PeerNotAuthorizedError('no-credential', 'bob presented nothing'),
      403,
      { category: 'peer', code: 'PEER_NO_CREDENTIAL' },
    ],
    [
      'a failed transaction',
      'close',
      'POST',
      '/channels/0xchannel/close',
      {},
      new ChainError('reverted', { reason: 'not final' }),
      502,
      { category: 'chain', code: 'CHAIN', details: { reason: 'not final' } },
    ],
    [
      'a fault of the node',
      'connections',
      'GET',
      '/connections',
      {},
      new Error('db password is hunter2'),
      500,
      { category: 'internal', code: 'INTERNAL', message: 'internal error', details: {} },
    ],
    [
      'a synchronous fault',
      'info',
      'GET',
      '/info',
      {},
      new TypeError('x is undefined'),
      500,
      { category: 'internal', code: 'INTERNAL', message: 'internal error', details: {} },
    ],
  ])('%s comes back with its status', async (_, method, verb, path, options, err, status, body) => {
    api.node.failNext(method, err);
    const res = await call(api, verb, path, options);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject(body);
    expect(Object.keys(res.json).sort()).toEqual(['category', 'code', 'details', 'message']);
    expect(res.text).not.toContain('hunter2');
  });
});
