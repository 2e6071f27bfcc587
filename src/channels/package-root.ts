// Where the perun-agent package lives on disk (build/ holds the compiled contracts of every
// backend): the nearest directory upwards from this module whose package.json names it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerunError } from './errors.js';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'perun-agent'
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new PerunError('ARTIFACTS', 'cannot find the perun-agent package root');
    dir = parent;
  }
}
