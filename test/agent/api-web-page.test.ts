// The REST API's web page: served without the token, nothing else is, and nothing outside its
// directory.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Api, startApi, stopApis, call } from './api-support.js';

afterAll(stopApis);

describe('the web page', () => {
  let api: Api;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perun-api-web-'));
    mkdirSync(join(dir, 'web'));
    writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>perun-agent</title>');
    writeFileSync(join(dir, 'web', 'app.js'), 'console.log("hi");');
    writeFileSync(join(dir, 'secret.txt'), 'not for the web');
    api = await startApi({ webRoot: join(dir, 'web') });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is served without the token', async () => {
    const page = await call(api, 'GET', '/', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<title>perun-agent</title>');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-powered-by')).toBeNull();

    const script = await call(api, 'GET', '/app.js', { token: null });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
  });

  it('leaves everything else behind the token', async () => {
    expect((await call(api, 'GET', '/info', { token: null })).status).toBe(401);
    expect((await call(api, 'GET', '/missing.js', { token: null })).status).toBe(401);
    expect((await call(api, 'GET', '/info')).status).toBe(200);
  });

  it('serves nothing outside its directory', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${api.url}${path}`, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect([path, body.includes('not for the web')]).toEqual([path, false]);
      expect([path, status]).not.toEqual([path, 200]);
    }
  });
});
