// The REST API's token: anyone without it gets 401 before the node is asked (on unknown routes
// too), ?token= is taken on /events only, /openapi.json needs none, and the log never shows the
// token or a body.
import { TOKEN, type Api, startApi, stopApis, type CallOptions, call, SseReader } from './api-support.js';

afterAll(stopApis);

describe('auth', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });

  it.each<[string, CallOptions]>([
    ['no token', { token: null }],
    ['a wrong token', { token: 'tok-wrong' }],
    ['a token one character short', { token: TOKEN.slice(0, -1) }],
    ['a token of another scheme', { token: null, headers: { authorization: `Basic ${TOKEN}` } }],
    ['an empty bearer', { token: '' }],
  ])('%s is refused with 401 before the node is asked', async (_, options) => {
    const before = api.node.calls.length;
    const res = await call(api, 'GET', '/info', options);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ category: 'client', code: 'UNAUTHORIZED', details: {} });
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(api.node.calls.length).toBe(before);
  });

  it('refuses a POST without token before looking at its body', async () => {
    const res = await call(api, 'POST', '/channels/0xchannel/payments', { token: null, raw: 'not json' });
    expect(res.status).toBe(401);
  });

  it('accepts ?token= on /events only', async () => {
    const refused = await call(api, 'GET', `/info?token=${TOKEN}`, { token: null });
    expect(refused.status).toBe(401);

    const wrong = await call(api, 'GET', '/events?token=tok-wrong', { token: null });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ code: 'UNAUTHORIZED' });

    const stream = await SseReader.open(api, { query: `?token=${encodeURIComponent(TOKEN)}` });
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.cancel();
    await api.node.untilSubscribers(0);
  });

  it('asks for the token on unknown routes too, and then says 404', async () => {
    expect((await call(api, 'GET', '/nowhere', { token: null })).status).toBe(401);
    const res = await call(api, 'GET', '/nowhere');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      category: 'client',
      code: 'NOT_FOUND',
      message: 'no route GET /nowhere',
      details: {},
    });
    expect((await call(api, 'DELETE', '/channels/0xchannel')).json).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call(api, 'GET', '/channels/0xchannel/payments')).json).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('serves /openapi.json without the token', async () => {
    const res = await call(api, 'GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ openapi: '3.1.0' });
  });

  it('logs one line per request, never the token or a body', async () => {
    const marker = 'secret-message-body-7f3a';
    await call(api, 'POST', '/messages', { body: { connectionId: 'conn-1', content: marker } });
    await call(api, 'POST', '/messages', {
      body: { connectionId: 'conn-1', content: marker, extra: marker },
    });
    await call(api, 'GET', `/events?token=${TOKEN}&lastEventId=${marker}`, { token: null });
    await call(api, 'GET', '/info', { token: `${TOKEN}x` });
    await api.log.until((line) => line.startsWith('POST /messages 201 '));
    await api.log.until((line) => line.startsWith('POST /messages 400 '));
    await api.log.until((line) => line.startsWith('GET /events 400 '));
    await api.log.until((line) => line.startsWith('GET /info 401 '));
    for (const line of api.log.lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(marker);
    }
  });
});
