// The `perun-agent` executable (bin/perun-agent.js imports the build of this file): runs the
// command line against the real process and exits with the command's exit code.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './program.js';
import { processDeps } from './terminal.js';

/** This package's version, from the nearest package.json named perun-agent (src/ or dist/src/). */
function version(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'perun-agent') return pkg.version;
    } catch {
      // not here
    }
  }
  return undefined;
}

const flush = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write('', () => resolve()));

const code = await runCli(process.argv.slice(2), processDeps(version()));
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(code);
