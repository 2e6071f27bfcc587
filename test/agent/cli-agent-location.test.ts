// Where the perun-agent command line finds the agent: the API URL and token from flags, the
// environment, the data directory or a running agent's api-url file, in that order.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT } from '../../src/agent/cli/output.js';
import { TOKEN, fake, tmp, cli, useFakeAgent } from './cli-support.js';

useFakeAgent();

describe('where the agent is', () => {
  function dataDir(name: string, config: Record<string, unknown>, token?: string) {
    const dir = path.join(tmp, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    if (token !== undefined) writeFileSync(path.join(dir, 'api-token'), `${token}\n`);
    return dir;
  }
  const port = () => Number(new URL(fake.url).port);

  it('flags beat the environment, which beats the data directory', async () => {
    const dir = dataDir('agent', { apiHost: '0.0.0.0', apiPort: port() }, TOKEN);
    const env = { PERUN_DATA_DIR: dir, PERUN_API_URL: `${fake.url}/env`, PERUN_API_TOKEN: TOKEN };
    const seen = async (argv: string[], e: NodeJS.ProcessEnv) => {
      fake.requests.length = 0;
      const r = await cli(argv, { env: e });
      return { code: r.code, url: fake.requests[0]?.url, auth: fake.requests[0]?.auth };
    };
    expect(await seen(['info', '--api-url', `${fake.url}/flag`], env)).toEqual({
      code: 0,
      url: '/flag/info',
      auth: `Bearer ${TOKEN}`,
    });
    expect(await seen(['info'], env)).toEqual({ code: 0, url: '/env/info', auth: `Bearer ${TOKEN}` });
    expect(await seen(['info'], { PERUN_DATA_DIR: dir })).toEqual({
      code: 0,
      url: '/info',
      auth: `Bearer ${TOKEN}`,
    });
    expect(await seen(['info', '--token', 'from-flag'], env)).toMatchObject({ auth: 'Bearer from-flag' });
    expect(await seen(['info'], { ...env, PERUN_API_TOKEN: 'from-env' })).toMatchObject({
      auth: 'Bearer from-env',
    });
    expect(await seen(['info', '--api-url', `${fake.url}/flag`], { PERUN_DATA_DIR: dir })).toMatchObject({
      url: '/flag/info',
      auth: `Bearer ${TOKEN}`,
    });
  });

  it('a running agent’s api-url file beats the configured port (the agent may run on another)', async () => {
    const dir = dataDir('running', { apiHost: '127.0.0.1', apiPort: 1 }, TOKEN);
    writeFileSync(path.join(dir, 'api-url'), `${fake.url}/running\n`);
    fake.requests.length = 0;
    expect((await cli(['info'], { env: { PERUN_DATA_DIR: dir } })).code).toBe(EXIT.OK);
    expect(fake.requests[0]?.url).toBe('/running/info');
  });

  it('--data-dir beats PERUN_DATA_DIR, which beats ./.perun-agent', async () => {
    const flagDir = dataDir('flag-dir', { apiPort: port() }, 'flag-dir-token');
    const envDir = dataDir('env-dir', { apiPort: port() }, 'env-dir-token');
    dataDir('.perun-agent', { apiHost: '127.0.0.1', apiPort: port() }, 'default-token');
    await cli(['info', '--data-dir', flagDir], { env: { PERUN_DATA_DIR: envDir } });
    await cli(['info'], { env: { PERUN_DATA_DIR: envDir } });
    await cli(['info'], { env: {} });
    expect(fake.requests.map((r) => r.auth)).toEqual([
      'Bearer flag-dir-token',
      'Bearer env-dir-token',
      'Bearer default-token',
    ]);
  });

  it('no token anywhere exits 7 without a request', async () => {
    const r = await cli(['info'], { env: { PERUN_API_URL: fake.url, PERUN_DATA_DIR: path.join(tmp, 'x') } });
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
    expect(r.stderr).toContain('no API token');
    expect(fake.requests).toEqual([]);
  });
});
