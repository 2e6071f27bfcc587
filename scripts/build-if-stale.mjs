// Builds only when something the build reads changed since the last build: what `npm run agent`
// runs first, so that a CLI command costs the CLI's own time, not a rebuild. Compares the newest
// modification time under the build's inputs with the stamp it leaves after a build it ran (and
// builds when an output is missing: tsc's, the Solidity contracts', the TON contract's).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.built');
const outputs = [
  'dist/.tsbuildinfo',
  'build/contracts/.inputs.sha256',
  'build/ton/Perun.json',
  'dist/.built',
].map((p) => join(root, p));
const inputs = [
  'src',
  'bench',
  'demo',
  'examples',
  'contracts',
  'scripts',
  'package.json',
  'package-lock.json',
];
inputs.push(...readdirSync(root).filter((f) => /^tsconfig.*\.json$/.test(f)));

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, e) => Math.max(m, newest(join(path, e))), s.mtimeMs);
}

const built = outputs.every(existsSync) ? statSync(stamp).mtimeMs : -1;
const changed = inputs
  .map((p) => join(root, p))
  .filter(existsSync)
  .some((p) => newest(p) > built);
if (changed) {
  const started = new Date();
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // Stamped with the build's start: an input edited during the build is seen next time.
  writeFileSync(stamp, started.toISOString() + '\n');
  utimesSync(stamp, started, started);
}
