// `perun-agent chain --ton`: the TON chain server runs until interrupted, prints where it is and
// writes a chain file of kind "ton" whose endpoint answers the Perun contract's get-methods.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/agent/cli/output.js';
import { runCli, type CliDeps } from '../../src/agent/cli/program.js';
import { connectTon, parseTonConfig } from '../../src/channels/ton/config.js';

it('chain --ton writes a TON chain file, serves it until interrupted, then stops', async () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'cli-ton-'));
  const interrupt = new AbortController();
  let stdout = '';
  let served: Promise<bigint> | undefined;
  const deps: CliDeps = {
    io: {
      out: (t) => {
        stdout += t;
        const file = path.join(cwd, 'ton.json');
        served = connectTon(parseTonConfig(JSON.parse(readFileSync(file, 'utf8')))).then((c) => c.chainID);
        void served.finally(() => interrupt.abort());
      },
      err: () => undefined,
      outIsTTY: false,
      errIsTTY: false,
      promptSecret: undefined,
    },
    env: {},
    cwd,
    interrupt: interrupt.signal,
    loadNode: () => Promise.reject(new Error('chain --ton does not load the node')),
  };
  const code = await runCli(['chain', '--ton', '--out', 'ton.json', '--json'], deps);
  expect(code).toBe(EXIT.OK);
  const printed = JSON.parse(stdout) as { endpoint: string; chainFile: string; config: { kind: string } };
  expect(printed).toMatchObject({ chainFile: path.join(cwd, 'ton.json'), config: { kind: 'ton' } });
  expect(printed.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2$/);
  expect(await served).toBeGreaterThan(0n);
  await expect(fetch(`${printed.endpoint}/getMasterchainInfo`)).rejects.toThrow();
}, 30_000);
