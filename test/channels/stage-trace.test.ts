// The stage marks' recorder (src/channels/stage-trace.ts) in a process of its own: with
// PERUN_STAGE_TRACE naming a file, every mark reaches it in order, also past the buffer's size
// and when the process ends by process.exit; without the variable nothing is written anywhere.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const built = pathToFileURL(resolve('dist/src/channels/stage-trace.js')).href;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'perun-stage-trace-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` in a node process that imported `stage`, in `dir`, with `env` added. */
function run(body: string, env: Record<string, string>): void {
  const program = `import { stage } from ${JSON.stringify(built)};\n${body}`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('PERUN_STAGE_TRACE' in env)) delete childEnv['PERUN_STAGE_TRACE'];
  execFileSync(process.execPath, ['--input-type=module', '-e', program], { cwd: dir, env: childEnv });
}

it('40,000 marks, then process.exit: all in the file, in order, times not going back', () => {
  const file = join(dir, 'alice.stages');
  run(`for (let i = 0; i < 20000; i++) { stage('api.pay'); stage('api.answer'); }\nprocess.exit(0);`, {
    PERUN_STAGE_TRACE: file,
  });
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(40_000);
  const names = lines.map((l) => l.split(' ')[0]);
  expect(names.filter((n, i) => n !== (i % 2 === 0 ? 'api.pay' : 'api.answer'))).toEqual([]);
  const times = lines.map((l) => BigInt(l.split(' ')[1]!));
  expect(times.filter((t, i) => i > 0 && t < times[i - 1]!)).toEqual([]);
});

it('without PERUN_STAGE_TRACE the marks are written nowhere', () => {
  run(`for (let i = 0; i < 20000; i++) stage('api.pay');`, {});
  expect(readdirSync(dir)).toEqual([]);
});
