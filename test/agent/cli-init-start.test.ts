// perun-agent init, start, chain and faucet with the node's functions replaced: what they pass to
// the node, the passphrase sources, the options, the output and the exit codes.
import { chmodSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT } from '../../src/agent/cli/output.js';
import type { NodeFunctions } from '../../src/agent/cli/program.js';
import { AgentConfigError, loadAgentConfig, type AgentConfig } from '../../src/agent/node/config.js';
import { WrongPassphraseError } from '../../src/agent/kms/errors.js';
import { ADDRESS, info, Output, tmp, cli, useFakeAgent } from './cli-support.js';

useFakeAgent();

describe('init and start', () => {
  const config = (dataDir: string): AgentConfig =>
    ({
      dataDir,
      configFile: path.join(dataDir, 'config.json'),
      tokenFile: path.join(dataDir, 'api-token'),
    }) as AgentConfig;

  function fakeNode(overrides: Partial<NodeFunctions> = {}) {
    const calls: Record<string, unknown[][]> = {};
    const record =
      <A extends unknown[], R>(name: string, f: (...a: A) => R) =>
      (...a: A) => {
        (calls[name] ??= []).push(a);
        return f(...a);
      };
    const stopped: string[] = [];
    const node = {
      initAgent: record('initAgent', async (o: { dataDir: string }) => ({
        dataDir: o.dataDir,
        configFile: path.join(o.dataDir, 'config.json'),
        address: ADDRESS,
        token: 'SECRET-TOKEN',
      })),
      loadAgentConfig: record('loadAgentConfig', (o: { dataDir: string }) => config(o.dataDir)),
      startAgent: record('startAgent', async () => ({
        info,
        node: undefined as never,
        apiUrl: 'http://127.0.0.1:8080',
        webUrl: 'http://127.0.0.1:8080/#token=SECRET-TOKEN',
        stop: async () => void stopped.push('agent'),
      })),
      runChain: record('runChain', async () => ({
        rpcUrl: 'http://127.0.0.1:8545',
        config: { rpcUrl: 'http://127.0.0.1:8545', chainId: '31337' },
        chain: undefined as never,
        stop: async () => void stopped.push('chain'),
      })),
      faucet: record('faucet', async () => 12n * 10n ** 18n),
      ...overrides,
    } as unknown as NodeFunctions;
    return { node, calls, stopped, loadNode: () => Promise.resolve(node) };
  }

  it('init passes the data directory, passphrase and settings, and never prints the token', async () => {
    const f = fakeNode();
    writeFileSync(path.join(tmp, 'pass'), 'correct horse\n', { mode: 0o600 });
    writeFileSync(path.join(tmp, 'key'), `0x${'ab'.repeat(32)}\n`);
    const r = await cli(
      [
        'init',
        '--data-dir',
        'a',
        '--label',
        'alice',
        '--passphrase-file',
        'pass',
        '--eth-key-file',
        'key',
        '--api-port',
        '8080',
        '--trusted-issuer',
        'did:key:one',
        '--trusted-issuer',
        'did:key:two',
        '--no-auto-accept',
        '--chain',
        'chain.json',
        '--json',
      ],
      { env: {}, deps: { loadNode: f.loadNode } },
    );
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.initAgent).toEqual([
      [
        {
          dataDir: path.join(tmp, 'a'),
          label: 'alice',
          passphrase: 'correct horse',
          ethKey: `0x${'ab'.repeat(32)}`,
          log: expect.any(Function),
          overrides: {
            apiPort: 8080,
            trustedIssuers: ['did:key:one', 'did:key:two'],
            autoAccept: false,
            chain: path.join(tmp, 'chain.json'),
          },
        },
      ],
    ]);
    expect(JSON.parse(r.stdout)).toEqual({
      dataDir: path.join(tmp, 'a'),
      configFile: path.join(tmp, 'a', 'config.json'),
      tokenFile: path.join(tmp, 'a', 'api-token'),
      address: ADDRESS,
    });
    expect(r.stdout + r.stderr).not.toContain('SECRET-TOKEN');
  });

  it('refuses a passphrase file that group or others may read, as ssh refuses such a key', async () => {
    const f = fakeNode();
    const file = path.join(tmp, 'open-pass');
    writeFileSync(file, 'correct horse\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const r = await cli(['init', '--passphrase-file', file, '--json'], {
      env: {},
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 'PASSPHRASE_FILE_PERMISSIONS',
      details: { mode: '644' },
    });
    expect(f.calls.initAgent).toBeUndefined();
    chmodSync(file, 0o600);
    const ok = await cli(['init', '--passphrase-file', file], { env: {}, deps: { loadNode: f.loadNode } });
    expect(ok.code).toBe(EXIT.OK);
    expect(f.calls.initAgent![0]![0]).toMatchObject({ passphrase: 'correct horse' });
  });

  it('reads the passphrase from --passphrase-fd, and takes PERUN_PASSPHRASE out of the environment', async () => {
    const f = fakeNode();
    const file = path.join(tmp, 'fd-pass');
    writeFileSync(file, 'from the fd\nnot this line\n', { mode: 0o600 });
    const fd = openSync(file, 'r');
    const env: NodeJS.ProcessEnv = { PERUN_PASSPHRASE: 'from the environment' };
    const r = await cli(['init', '--passphrase-fd', String(fd)], { env, deps: { loadNode: f.loadNode } });
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.initAgent![0]![0]).toMatchObject({ passphrase: 'from the fd' });
    expect(env.PERUN_PASSPHRASE).toBeUndefined();

    const seen: Array<string | undefined> = [];
    const g = fakeNode({
      initAgent: async (o: { dataDir: string }) => {
        seen.push(env2.PERUN_PASSPHRASE);
        return { dataDir: o.dataDir, configFile: '', address: ADDRESS, token: '' };
      },
    });
    const env2: NodeJS.ProcessEnv = { PERUN_PASSPHRASE: 'pw' };
    expect((await cli(['init'], { env: env2, deps: { loadNode: g.loadNode } })).code).toBe(EXIT.OK);
    expect(seen).toEqual([undefined]); // gone before the node (and any child process) starts
    expect(
      (await cli(['init', '--passphrase-fd', 'x'], { env: {}, deps: { loadNode: g.loadNode } })).code,
    ).toBe(EXIT.USAGE);
  });

  it('init asks twice on a terminal; different answers exit 2', async () => {
    const f = fakeNode();
    const answers = ['one', 'two'];
    const r = await cli(['init'], {
      env: {},
      deps: { loadNode: f.loadNode },
      prompt: async () => answers.shift()!,
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('the passphrases differ');
    expect(f.calls.initAgent).toBeUndefined();
  });

  it('without a terminal and no passphrase, init and start exit 2', async () => {
    const f = fakeNode();
    for (const cmd of ['init', 'start']) {
      const r = await cli([cmd], { env: {}, deps: { loadNode: f.loadNode } });
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toContain('no passphrase: give --passphrase-file <path> or PERUN_PASSPHRASE');
    }
    expect(f.calls.initAgent).toBeUndefined();
    expect(f.calls.startAgent).toBeUndefined();
  });

  it('start runs until interrupted, shows the web URL with its token only on a terminal', async () => {
    for (const outIsTTY of [false, true]) {
      const f = fakeNode();
      const interrupt = new AbortController();
      const output = new Output();
      void output.until('stdout', 'stop with Ctrl-C').then(() => interrupt.abort());
      const env = { PERUN_PASSPHRASE: 'pw', PERUN_API_PORT: '9999' };
      const r = await cli(['start', '--data-dir', 'a', '--didcomm-port', '7000'], {
        env,
        interrupt,
        output,
        outIsTTY,
        deps: { loadNode: f.loadNode },
      });
      expect(r.code).toBe(EXIT.OK);
      expect(f.calls.loadAgentConfig).toEqual([
        [{ dataDir: path.join(tmp, 'a'), flags: { didcommPort: 7000 }, env }],
      ]);
      expect(f.calls.startAgent![0]!.slice(0, 2)).toEqual([config(path.join(tmp, 'a')), 'pw']);
      expect(f.stopped).toEqual(['agent']);
      expect(r.stdout).toContain('http://127.0.0.1:8080');
      expect(r.stdout.includes('SECRET-TOKEN')).toBe(outIsTTY);
      expect(r.stderr).not.toContain('SECRET-TOKEN');
    }
  });

  it('--proposals-per-minute is a positive whole number; the environment sets it too', async () => {
    const f = fakeNode();
    const r = await cli(['init', '--proposals-per-minute', '600'], {
      env: { PERUN_PASSPHRASE: 'pw' },
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.initAgent![0]![0]).toMatchObject({ overrides: { proposalsPerMinute: 600 } });
    for (const bad of ['0', '1.5', 'many']) {
      const b = await cli(['init', '--proposals-per-minute', bad], {
        env: { PERUN_PASSPHRASE: 'pw' },
        deps: { loadNode: f.loadNode },
      });
      expect(b.code).toBe(EXIT.USAGE);
    }
    const dir = path.join(tmp, 'limits');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ proposalsPerMinute: 100 }));
    expect(loadAgentConfig({ dataDir: dir }).proposalsPerMinute).toBe(100);
    expect(
      loadAgentConfig({ dataDir: dir, env: { PERUN_PROPOSALS_PER_MINUTE: '5000' } }).proposalsPerMinute,
    ).toBe(5000);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({}));
    expect(loadAgentConfig({ dataDir: dir }).proposalsPerMinute).toBe(30);
    expect(() => loadAgentConfig({ dataDir: dir, env: { PERUN_PROPOSALS_PER_MINUTE: '0' } })).toThrow(
      'proposalsPerMinute: expected a positive whole number',
    );
  });

  it('--reverify-after takes whole seconds, 0 included; the environment sets it too', async () => {
    const f = fakeNode();
    for (const [given, seconds] of [
      ['0', 0],
      ['900', 900],
    ] as const) {
      const r = await cli(['init', '--reverify-after', given], {
        env: { PERUN_PASSPHRASE: 'pw' },
        deps: { loadNode: f.loadNode },
      });
      expect(r.code).toBe(EXIT.OK);
      expect(f.calls.initAgent!.at(-1)![0]).toMatchObject({ overrides: { reverifyAfterSeconds: seconds } });
    }
    for (const bad of ['-1', '1.5', 'soon']) {
      const b = await cli(['init', '--reverify-after', bad], {
        env: { PERUN_PASSPHRASE: 'pw' },
        deps: { loadNode: f.loadNode },
      });
      expect(b.code).toBe(EXIT.USAGE);
    }
    const dir = path.join(tmp, 'reverify');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({}));
    expect(loadAgentConfig({ dataDir: dir }).reverifyAfterSeconds).toBe(300);
    expect(
      loadAgentConfig({ dataDir: dir, env: { PERUN_REVERIFY_AFTER_SECONDS: '0' } }).reverifyAfterSeconds,
    ).toBe(0);
    expect(() => loadAgentConfig({ dataDir: dir, env: { PERUN_REVERIFY_AFTER_SECONDS: 'x' } })).toThrow(
      'reverifyAfterSeconds: expected whole seconds (0 for none)',
    );
  });

  it('start --json prints one JSON value without the token', async () => {
    const f = fakeNode();
    const interrupt = new AbortController();
    const output = new Output();
    void output.until('stdout', '}').then(() => interrupt.abort());
    const r = await cli(['start', '--json'], {
      env: { PERUN_PASSPHRASE: 'pw' },
      interrupt,
      output,
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({
      apiUrl: 'http://127.0.0.1:8080',
      webUrl: 'http://127.0.0.1:8080/',
    });
    expect(r.stdout + r.stderr).not.toContain('SECRET-TOKEN');
  });

  it("start's failures exit by their kind", async () => {
    const wrong = fakeNode({
      startAgent: () => Promise.reject(new WrongPassphraseError()),
    });
    const r = await cli(['start'], { env: { PERUN_PASSPHRASE: 'pw' }, deps: { loadNode: wrong.loadNode } });
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
    expect(r.stderr).toContain('wrong passphrase');

    const uninitialised = fakeNode({
      loadAgentConfig: () => {
        throw new AgentConfigError('NOT_INITIALISED', 'no agent in /x: run perun-agent init first');
      },
    });
    const u = await cli(['start'], {
      env: { PERUN_PASSPHRASE: 'pw' },
      deps: { loadNode: uninitialised.loadNode },
    });
    expect(u.code).toBe(EXIT.USAGE);
    expect(u.stderr).toContain('run perun-agent init first');
  });

  it('chain writes the chain file and runs until interrupted; faucet funds an address', async () => {
    const f = fakeNode();
    const interrupt = new AbortController();
    const output = new Output();
    void output.until('stdout', /\}\s*$/).then(() => interrupt.abort());
    const r = await cli(['chain', '--out', 'c.json', '--port', '8545', '--json'], {
      env: {},
      interrupt,
      output,
      deps: { loadNode: f.loadNode },
    });
    expect(r.code).toBe(EXIT.OK);
    expect(f.calls.runChain).toEqual([[{ host: '127.0.0.1', port: 8545, out: path.join(tmp, 'c.json') }]]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      rpcUrl: 'http://127.0.0.1:8545',
      chainFile: path.join(tmp, 'c.json'),
    });
    expect(f.stopped).toEqual(['chain']);

    const fa = await cli(['faucet', ADDRESS, '2', '--chain', 'c.json'], {
      env: {},
      deps: { loadNode: f.loadNode },
    });
    expect(fa.code).toBe(EXIT.OK);
    expect(f.calls.faucet).toEqual([
      [{ chain: path.join(tmp, 'c.json'), address: ADDRESS, amount: 2n * 10n ** 18n }],
    ]);
    expect(fa.stdout).toBe(`gave ${ADDRESS} 2 ETH: it has 12 ETH\n`);

    const bad = await cli(['faucet', '0x12', '2'], { env: {}, deps: { loadNode: f.loadNode } });
    expect(bad.code).toBe(EXIT.USAGE);
    expect(f.calls.faucet).toHaveLength(1);
  });
});
