// The perun-agent command line's exit codes: for the API's error categories, an answer that is
// not an API error, a wrong token, an unreachable agent, no API URL, usage errors; --help.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { EXIT } from '../../src/agent/cli/output.js';
import { configEnvNames } from '../../src/agent/node/config.js';
import { TOKEN, CH1, FakeAgent, fake, tmp, cli, useFakeAgent } from './cli-support.js';

useFakeAgent();

describe('errors', () => {
  const err = (category: string, code: string) => ({
    category,
    code,
    message: `it went wrong: ${code}`,
    details: {},
  });
  it.each([
    [400, err('client', 'INVALID_REQUEST'), EXIT.USAGE],
    [409, err('client', 'CHANNEL_BUSY'), EXIT.USAGE],
    [401, err('client', 'UNAUTHORIZED'), EXIT.UNAUTHORIZED],
    [404, err('client', 'UNKNOWN_CHANNEL'), EXIT.NOT_FOUND],
    [502, err('peer', 'UPDATE_REJECTED'), EXIT.PEER],
    [403, err('peer', 'PEER_UNTRUSTED_ISSUER'), EXIT.PEER],
    [422, err('protocol', 'INVALID_SIGNATURE'), EXIT.PEER],
    [502, err('chain', 'CHAIN'), EXIT.CHAIN],
    [500, err('internal', 'INTERNAL'), EXIT.INTERNAL],
  ])('HTTP %d %j exits %d', async (status, body, exitCode) => {
    fake.overrides.set(`POST /channels/${CH1}/payments`, { status, body });
    const human = await cli(['pay', 'abc1', '1']);
    expect(human.code).toBe(exitCode);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`error: it went wrong: ${body.code} (${body.category} ${body.code})`);

    const machine = await cli(['pay', 'abc1', '1', '--json']);
    expect(machine.code).toBe(exitCode);
    expect(JSON.parse(machine.stdout)).toEqual(body);
  });

  it('shows the details of an error', async () => {
    fake.overrides.set('POST /channels', {
      status: 400,
      body: { category: 'client', code: 'INVALID_REQUEST', message: 'bad field', details: { field: 'fund' } },
    });
    const r = await cli(['open', 'beef', '--fund', '1']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('error: bad field (client INVALID_REQUEST)\n  field: fund\n');
  });

  it('an answer that is not an API error exits by its status', async () => {
    fake.overrides.set('GET /balance', { status: 502, raw: '<html>bad gateway</html>' });
    const r = await cli(['balance']);
    expect(r.code).toBe(EXIT.INTERNAL);
    expect(r.stderr).toContain('HTTP 502');
  });

  it('page prints the web page URL with the token, once the token is known to work', async () => {
    const r = await cli(['page']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe(`${fake.url}/#token=${TOKEN}\n`);
    expect(JSON.parse((await cli(['page', '--json'])).stdout)).toEqual({
      url: `${fake.url}/#token=${TOKEN}`,
    });
    const wrong = await cli(['page', '--token', 'wrong']);
    expect(wrong.code).toBe(EXIT.UNAUTHORIZED);
    expect(wrong.stdout).toBe('');
  });

  it('a wrong token exits 7', async () => {
    const r = await cli(['info', '--token', 'wrong']);
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
    expect(fake.requests.map((q) => q.auth)).toEqual(['Bearer wrong']);
  });

  it('an agent that does not answer exits 3', async () => {
    const gone = await new FakeAgent().start();
    await gone.close();
    const r = await cli(['info', '--api-url', gone.url]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toContain(`cannot reach the agent at ${gone.url}`);
    const machine = await cli(['info', '--api-url', gone.url, '--json']);
    expect(JSON.parse(machine.stdout)).toMatchObject({ category: 'transport', code: 'AGENT_UNREACHABLE' });
  });

  it('no API URL anywhere exits 3 and says where it looked', async () => {
    const r = await cli(['info'], { env: { PERUN_DATA_DIR: path.join(tmp, 'none') } });
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toContain(path.join(tmp, 'none', 'config.json'));
  });

  it('usage errors exit 2, with a JSON error under --json', async () => {
    expect((await cli(['open', 'beef'])).code).toBe(EXIT.USAGE);
    expect((await cli(['nonsense'])).code).toBe(EXIT.USAGE);
    expect((await cli([])).code).toBe(EXIT.USAGE);
    const r = await cli(['pay', 'abc1', '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(JSON.parse(r.stdout)).toMatchObject({ category: 'client', code: 'USAGE' });
    expect(r.stderr).toContain("missing required argument 'amount'");
    expect(fake.requests).toEqual([]);
  });

  it('--help exits 0 and documents the exit codes', async () => {
    const r = await cli(['pay', '--help']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain('Usage: perun-agent pay');
    expect(r.stdout).toContain('7    unauthorized');
    const root = await cli(['--help']);
    expect(root.stdout).toContain('PERUN_API_TOKEN');
    expect(root.stdout).toContain('3    cannot reach the agent');
  });

  it('--help names every environment variable the agent reads (but the test knobs)', async () => {
    const testKnobs = [
      'PERUN_AGENT_NODE_ARGS',
      'PERUN_FAILPOINTS_FILE',
      'PERUN_SIGNATURE_JOURNAL',
      'PERUN_START_GATE_FILE',
    ];
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts'))
          for (const m of readFileSync(p, 'utf8').matchAll(/['"`](PERUN_[A-Z_]+)['"`]|env\.(PERUN_[A-Z_]+)/g))
            read.add(m[1] ?? m[2]!);
      }
    };
    walk(path.join(process.cwd(), 'src', 'agent'));
    for (const v of configEnvNames()) read.add(v);
    expect(read).toContain('PERUN_DIDCOMM_SOURCE_RATE');
    expect(read).toContain('PERUN_API_TOKEN');
    const help = (await cli(['--help'])).stdout;
    const missing = [...read].filter((v) => !testKnobs.includes(v) && !help.includes(v));
    expect(missing).toEqual([]);
  });
});
