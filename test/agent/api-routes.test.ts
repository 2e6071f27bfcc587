// The REST API over a node that records what it is asked: a user with the token reaches every
// route and gets the node's answer, with the security headers.
import {
  ADDRESS,
  INFO,
  INVITATION,
  CONNECTION,
  NEW_CONNECTION,
  CREDENTIAL,
  CHANNEL,
  PAYMENT,
  SETTLEMENT,
  PROPOSAL,
  BALANCE,
  MESSAGE,
  CHANNEL_ID_FOR_SALE,
  SALE,
  asJson,
  type Call,
  type Api,
  startApi,
  stopApis,
  call,
} from './api-support.js';

afterAll(stopApis);

describe('a user with the token', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  it.each<[string, string, unknown, Call, number, unknown]>([
    ['GET', '/info', undefined, { method: 'info', args: [] }, 200, INFO],
    ['GET', '/balance', undefined, { method: 'balance', args: [] }, 200, BALANCE],
    ['POST', '/invitations', undefined, { method: 'createInvitation', args: [] }, 201, INVITATION],
    [
      'POST',
      '/connections',
      { invitationUrl: INVITATION.url },
      { method: 'acceptInvitation', args: [INVITATION.url] },
      201,
      NEW_CONNECTION,
    ],
    [
      'GET',
      '/connections',
      undefined,
      { method: 'connections', args: [] },
      200,
      [CONNECTION, NEW_CONNECTION],
    ],
    ['GET', '/connections/conn-1', undefined, { method: 'connection', args: ['conn-1'] }, 200, CONNECTION],
    ['GET', '/credentials', undefined, { method: 'credentials', args: [] }, 200, [CREDENTIAL]],
    [
      'POST',
      '/credentials/issue',
      {
        connectionId: 'conn-1',
        name: 'Bob',
        spendingLimit: '5.50',
        ethereumAddress: ADDRESS.toLowerCase(),
        expirationDate: '2026-01-02T03:04:05.000Z',
      },
      {
        method: 'issueCredential',
        args: [
          {
            connectionId: 'conn-1',
            name: 'Bob',
            spendingLimit: '5.5',
            ethereumAddress: ADDRESS,
            expirationDate: '2026-01-02T03:04:05.000Z',
          },
        ],
      },
      201,
      CREDENTIAL,
    ],
    [
      'POST',
      '/credentials/request',
      { connectionId: 'conn-1', name: 'Bob' },
      { method: 'requestCredential', args: ['conn-1', 'Bob'] },
      201,
      CREDENTIAL,
    ],
    ['GET', '/channels', undefined, { method: 'channels', args: [] }, 200, [CHANNEL]],
    ['GET', '/channels/0xchannel', undefined, { method: 'channel', args: ['0xchannel'] }, 200, CHANNEL],
    ['GET', '/channels/a%20b', undefined, { method: 'channel', args: ['a b'] }, 200, CHANNEL],
    [
      'POST',
      '/channels',
      { connectionId: 'conn-1', fund: '1.0', peerFund: '0', challengeDuration: 60 },
      {
        method: 'openChannel',
        args: [{ connectionId: 'conn-1', fund: '1', peerFund: '0', challengeDuration: 60 }],
      },
      201,
      CHANNEL,
    ],
    [
      'POST',
      '/virtual-channels',
      { connectionId: 'conn-2', via: '0xchannel', fund: '0.5', peerFund: '0.25' },
      {
        method: 'openVirtualChannel',
        args: [{ connectionId: 'conn-2', via: '0xchannel', fund: '0.5', peerFund: '0.25' }],
      },
      201,
      CHANNEL,
    ],
    [
      'POST',
      '/channels/0xchannel/sub-channels',
      { fund: '0.5' },
      { method: 'openSubChannel', args: ['0xchannel', { fund: '0.5' }] },
      201,
      CHANNEL,
    ],
    [
      'POST',
      '/channels/0xchannel/payments',
      { amount: '0.250' },
      { method: 'pay', args: ['0xchannel', '0.25'] },
      201,
      PAYMENT,
    ],
    [
      'POST',
      '/channels/0xchannel/payments',
      { amount: '1', id: 'invoice-7:item.2' },
      { method: 'pay', args: ['0xchannel', '1', 'invoice-7:item.2'] },
      201,
      PAYMENT,
    ],
    [
      'POST',
      '/channels/0xchannel/close',
      undefined,
      { method: 'close', args: ['0xchannel'] },
      200,
      SETTLEMENT,
    ],
    ['POST', '/channels/0xchannel/close', {}, { method: 'close', args: ['0xchannel'] }, 200, SETTLEMENT],
    [
      'POST',
      '/channels/0xchannel/dispute',
      undefined,
      { method: 'dispute', args: ['0xchannel'] },
      200,
      SETTLEMENT,
    ],
    ['GET', '/payments', undefined, { method: 'payments', args: [undefined] }, 200, [PAYMENT]],
    [
      'GET',
      '/payments?channelId=0xchannel',
      undefined,
      { method: 'payments', args: ['0xchannel'] },
      200,
      [PAYMENT],
    ],
    ['GET', '/proposals', undefined, { method: 'proposals', args: [] }, 200, [PROPOSAL]],
    [
      'POST',
      '/proposals/prop-1/accept',
      undefined,
      { method: 'decideProposal', args: ['prop-1', true, undefined] },
      200,
      { ...PROPOSAL, status: 'accepted' },
    ],
    [
      'POST',
      '/proposals/prop-1/reject',
      { reason: 'too much' },
      { method: 'decideProposal', args: ['prop-1', false, 'too much'] },
      200,
      { ...PROPOSAL, status: 'rejected' },
    ],
    [
      'POST',
      '/proposals/prop-1/reject',
      undefined,
      { method: 'decideProposal', args: ['prop-1', false, undefined] },
      200,
      { ...PROPOSAL, status: 'rejected' },
    ],
    ['GET', '/messages', undefined, { method: 'messages', args: [undefined] }, 200, [MESSAGE]],
    [
      'GET',
      '/messages?connectionId=conn-1',
      undefined,
      { method: 'messages', args: ['conn-1'] },
      200,
      [MESSAGE],
    ],
    [
      'POST',
      '/messages',
      { connectionId: 'conn-1', content: 'hello' },
      { method: 'sendMessage', args: ['conn-1', 'hello'] },
      201,
      MESSAGE,
    ],
    ['GET', '/credential-sales', undefined, { method: 'credentialSales', args: [] }, 200, [SALE]],
    [
      'POST',
      '/credential-sales',
      { connectionId: 'conn-1', claims: '{"degree":"MSc"}', price: '0.05' },
      {
        method: 'offerCredential',
        args: [{ connectionId: 'conn-1', claims: '{"degree":"MSc"}', price: '0.05' }],
      },
      201,
      SALE,
    ],
    [
      'POST',
      `/credential-sales/${SALE.id}/buy`,
      undefined,
      { method: 'buyCredential', args: [SALE.id] },
      200,
      { ...SALE, role: 'holder', status: 'paying', channelId: CHANNEL_ID_FOR_SALE },
    ],
  ])('%s %s reaches the node and answers its view', async (method, path, body, expected, status, view) => {
    const before = api.node.calls.length;
    const res = await call(api, method, path, { body });
    expect(res.status).toBe(status);
    expect(res.json).toEqual(asJson(view));
    expect(api.node.calls.slice(before)).toEqual([expected]);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
