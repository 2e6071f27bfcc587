// What `npm pack` would ship (package.json `files`), read from `npm pack --dry-run --json` after
// the build: every `exports` target and the `bin`, the compiled contracts the code loads, the
// files the web and docs pages serve, the README and docs; no tests, benchmarks, demos or source
// maps. The package stays private.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

interface PackageJson {
  private?: boolean;
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

let shipped: Set<string>;
beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [packed] = JSON.parse(out) as [{ files: { path: string }[] }];
  shipped = new Set(packed.files.map((f) => f.path));
}, 60_000);

const relative = (target: string) => target.replace(/^\.\//, '');

it('ships every exports target and the bin, and stays private', () => {
  expect(pkg.private).toBe(true);
  const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
  expect(targets.length).toBeGreaterThan(10);
  expect(targets.map(relative).filter((t) => !shipped.has(t))).toEqual([]);
  expect(Object.values(pkg.bin).filter((b) => !shipped.has(b))).toEqual([]);
});

it('ships the files the code reads at run time, the README, the licence and the docs', () => {
  for (const file of [
    'build/contracts/Adjudicator.json',
    'build/contracts/AssetHolderETH.json',
    'build/ton/Perun.json',
    'src/agent/web/index.html',
    'src/agent/web/app.js',
    'src/agent/api/docs-page/index.html',
    'dist/src/agent/cli/main.js',
    'README.md',
    'LICENSE',
    'docs/embedding.md',
    'examples/credo.ts',
  ])
    expect(shipped).toContain(file);
});

it('ships no tests, benchmarks, demos, TypeScript sources or source maps', () => {
  const unwanted = [...shipped].filter(
    (f) =>
      /^(dist\/)?(test|bench|demo)\//.test(f) ||
      f.endsWith('.map') ||
      (f.startsWith('src/') && f.endsWith('.ts')) ||
      f.startsWith('build/contracts/.'),
  );
  expect(unwanted).toEqual([]);
});
