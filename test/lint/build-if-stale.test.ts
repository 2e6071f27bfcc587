// `npm run agent` builds first only when an input of the build changed since the build it last
// ran (scripts/build-if-stale.mjs), here on a stand-in project whose build counts its runs.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BUILD = [
  "const fs = require('node:fs');",
  "fs.mkdirSync('dist', { recursive: true }); fs.mkdirSync('build/contracts', { recursive: true });",
  "fs.mkdirSync('build/ton', { recursive: true }); fs.writeFileSync('build/ton/Perun.json', '{}');",
  "fs.writeFileSync('dist/.tsbuildinfo', ''); fs.writeFileSync('build/contracts/.inputs.sha256', '');",
  "fs.appendFileSync('builds', 'x');",
].join(' ');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'perun-build-if-stale-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'src'));
  copyFileSync(
    join(process.cwd(), 'scripts', 'build-if-stale.mjs'),
    join(dir, 'scripts', 'build-if-stale.mjs'),
  );
  writeFileSync(join(dir, 'build.cjs'), BUILD);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'stand-in', scripts: { build: 'node build.cjs' } }),
  );
  writeFileSync(join(dir, 'src', 'main.ts'), 'export {};\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(): number {
  const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build-if-stale.mjs')], { cwd: dir });
  expect(r.status).toBe(0);
  try {
    return readFileSync(join(dir, 'builds'), 'utf8').length;
  } catch {
    return 0;
  }
}

test('builds when nothing was built, then not again until a source changes', () => {
  expect(run()).toBe(1);
  expect(run()).toBe(1);
  // An edit after the last build (its stamp set back a minute, so the clock's resolution cannot hide it).
  const before = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'dist', '.built'), before, before);
  writeFileSync(join(dir, 'src', 'main.ts'), 'export const edited = true;\n');
  expect(run()).toBe(2);
  expect(run()).toBe(2);
});

test('builds when an output is missing', () => {
  rmSync(join(dir, 'dist', '.tsbuildinfo'));
  expect(run()).toBe(3);
  expect(run()).toBe(3);
  rmSync(join(dir, 'build', 'ton', 'Perun.json'));
  expect(run()).toBe(4);
  expect(run()).toBe(4);
});

test('builds when an example changed', () => {
  const before = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'dist', '.built'), before, before);
  mkdirSync(join(dir, 'examples'), { recursive: true });
  writeFileSync(join(dir, 'examples', 'pay.ts'), 'export {};\n');
  expect(run()).toBe(5);
});
