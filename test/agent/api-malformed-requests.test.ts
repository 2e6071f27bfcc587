// The REST API's input checks: every malformed request is a 400 naming the field and never
// reaches the node; a body that is not JSON is a 415, one over 64 kB a 413; a payment's
// Idempotency-Key reaches the node.
import { ADDRESS, type Api, startApi, stopApis, type CallOptions, call } from './api-support.js';

afterAll(stopApis);

describe('a malformed request', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  const pay = '/channels/0xchannel/payments';
  const open = { connectionId: 'conn-1', fund: '1' };
  const issue = { connectionId: 'conn-1', name: 'Bob', spendingLimit: '5' };

  it.each<[string, string, string, CallOptions, string]>([
    ['a missing field', 'POST', pay, { body: {} }, 'amount'],
    ['a missing body', 'POST', pay, {}, 'amount'],
    ['an empty string', 'POST', '/channels', { body: { ...open, connectionId: '' } }, 'connectionId'],
    ['a number for an amount', 'POST', '/channels', { body: { ...open, fund: 1 } }, 'fund'],
    [
      'a string for an integer',
      'POST',
      '/channels',
      { body: { ...open, challengeDuration: '60' } },
      'challengeDuration',
    ],
    [
      'a fraction for an integer',
      'POST',
      '/channels',
      { body: { ...open, challengeDuration: 1.5 } },
      'challengeDuration',
    ],
    [
      'a zero challenge duration',
      'POST',
      '/channels',
      { body: { ...open, challengeDuration: 0 } },
      'challengeDuration',
    ],
    [
      'null for a string',
      'POST',
      '/messages',
      { body: { connectionId: null, content: 'x' } },
      'connectionId',
    ],
    [
      'an object for a string',
      'POST',
      '/connections',
      { body: { invitationUrl: { url: 'x' } } },
      'invitationUrl',
    ],
    [
      'a string too long',
      'POST',
      '/messages',
      { body: { connectionId: 'c', content: 'x'.repeat(10_001) } },
      'content',
    ],
    [
      'an unknown field',
      'POST',
      '/messages',
      { body: { connectionId: 'c', content: 'x', urgent: true } },
      'urgent',
    ],
    [
      'a field on a route without body',
      'POST',
      '/channels/0xchannel/close',
      { body: { force: true } },
      'force',
    ],
    ['a __proto__ field', 'POST', pay, { raw: '{"amount":"1","__proto__":{"x":1}}' }, '__proto__'],
    ['a constructor field', 'POST', pay, { body: { amount: '1', constructor: 'x' } }, 'constructor'],
    ['an exponent amount', 'POST', pay, { body: { amount: '1e18' } }, 'amount'],
    ['a negative amount', 'POST', pay, { body: { amount: '-1' } }, 'amount'],
    ['an amount below one wei', 'POST', pay, { body: { amount: '0.0000000000000000001' } }, 'amount'],
    ['a zero payment', 'POST', pay, { body: { amount: '0' } }, 'amount'],
    ['an amount with a leading space', 'POST', pay, { body: { amount: ' 1' } }, 'amount'],
    ['an amount with a trailing space', 'POST', pay, { body: { amount: '1 ' } }, 'amount'],
    ['an amount with a newline', 'POST', pay, { body: { amount: '1\n' } }, 'amount'],
    ['a fund with a tab', 'POST', '/channels', { body: { ...open, fund: '\t1' } }, 'fund'],
    ['a payment ID with a space', 'POST', pay, { body: { amount: '1', id: 'a b' } }, 'id'],
    ['a payment ID of 65 characters', 'POST', pay, { body: { amount: '1', id: 'x'.repeat(65) } }, 'id'],
    [
      'a hex amount',
      'POST',
      '/credentials/issue',
      { body: { ...issue, spendingLimit: '0x10' } },
      'spendingLimit',
    ],
    [
      'a bad address',
      'POST',
      '/credentials/issue',
      { body: { ...issue, ethereumAddress: '0x1234' } },
      'ethereumAddress',
    ],
    [
      'an address with a wrong checksum',
      'POST',
      '/credentials/issue',
      { body: { ...issue, ethereumAddress: ADDRESS.replace('aA', 'Aa') } },
      'ethereumAddress',
    ],
    [
      'a date that is no date',
      'POST',
      '/credentials/issue',
      { body: { ...issue, expirationDate: 'tomorrow' } },
      'expirationDate',
    ],
    ['a URL that is no URL', 'POST', '/connections', { body: { invitationUrl: 'no url' } }, 'invitationUrl'],
    ['an array body', 'POST', pay, { body: [{ amount: '1' }] }, '(body)'],
    ['malformed JSON', 'POST', pay, { raw: '{"amount": "1",' }, '(body)'],
    ['a JSON string body', 'POST', pay, { raw: '"1"' }, '(body)'],
    ['an unknown query parameter', 'GET', '/channels?all=1', {}, 'query.all'],
    ['a repeated query parameter', 'GET', '/payments?channelId=a&channelId=b', {}, 'query.channelId'],
    [
      'a Last-Event-ID that is no ID',
      'GET',
      '/events',
      { headers: { 'last-event-id': 'abc' } },
      'Last-Event-ID',
    ],
    ['a malformed path', 'GET', '/channels/%E0%A4%A', {}, '(path)'],
    [
      'an Idempotency-Key of 256 characters',
      'POST',
      pay,
      { body: { amount: '1' }, headers: { 'idempotency-key': 'k'.repeat(256) } },
      'Idempotency-Key',
    ],
    [
      'an Idempotency-Key that is not printable ASCII',
      'POST',
      pay,
      { body: { amount: '1' }, headers: { 'idempotency-key': 'caf\u00e9' } },
      'Idempotency-Key',
    ],
    [
      'an Idempotency-Key on a route that does not take one',
      'POST',
      '/messages',
      { body: { connectionId: 'c', content: 'x' }, headers: { 'idempotency-key': 'k-1' } },
      'Idempotency-Key',
    ],
  ])('%s is a 400 naming the field, and the node is not asked', async (_, method, path, options, field) => {
    const before = api.node.calls.length;
    const res = await call(api, method, path, options);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ category: 'client', code: 'INVALID_REQUEST', details: { field } });
    expect(typeof res.json.message).toBe('string');
    expect(api.node.calls.slice(before)).toEqual([]);
  });

  it("passes a payment's Idempotency-Key to the node", async () => {
    const before = api.node.calls.length;
    const key = 'order 7: retry-safe';
    const res = await call(api, 'POST', pay, { body: { amount: '1' }, headers: { 'idempotency-key': key } });
    expect(res.status).toBe(201);
    expect(api.node.calls.slice(before)).toEqual([
      { method: 'pay', args: ['0xchannel', '1', undefined, { idempotencyKey: key }] },
    ]);
  });

  it('a body that is not JSON is a 415', async () => {
    const res = await call(api, 'POST', pay, {
      raw: 'amount=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({ category: 'client', code: 'UNSUPPORTED_MEDIA_TYPE' });
    const text = await call(api, 'POST', pay, { raw: '{"amount":"1"}', contentType: 'text/plain' });
    expect(text.status).toBe(415);
  });

  it('a body over 64 kB is a 413', async () => {
    const res = await call(api, 'POST', '/messages', {
      body: { connectionId: 'conn-1', content: 'x'.repeat(70_000) },
    });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ category: 'client', code: 'PAYLOAD_TOO_LARGE' });
  });
});
