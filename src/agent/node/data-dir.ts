// The data directory at rest, owner only (as ssh and lnd keep theirs): the directory 700, every
// file in it 600. `secureDataDir` fixes both at init and at every start and says what it fixed;
// `prepareSqliteFile` creates an SQLite database file 600 before SQLite opens it, since SQLite
// creates its `-wal` and `-shm` files with the database file's mode.
import { chmodSync, closeSync, existsSync, lstatSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Makes `dataDir` 700 and each regular file in it (and in its subdirectories) 600; symbolic
 * links are left alone. Returns one line per path it had to fix (none when all was right).
 */
export function secureDataDir(dataDir: string): string[] {
  const fixed: string[] = [];
  if (!existsSync(dataDir)) return fixed;
  const fix = (path: string, want: number) => {
    const mode = lstatSync(path).mode & 0o777;
    if ((mode & ~want) === 0) return;
    chmodSync(path, want);
    fixed.push(`${path} was mode ${mode.toString(8)}, now ${want.toString(8)}`);
  };
  const walk = (dir: string) => {
    fix(dir, DIR_MODE);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) fix(path, FILE_MODE);
    }
  };
  walk(dataDir);
  return fixed;
}

/** Creates the SQLite file at `path` (a file path, not a URL) with mode 600 if it does not exist. */
export function prepareSqliteFile(path: string): void {
  if (path === ':memory:' || /^[a-z]+:\/\//i.test(path)) return;
  closeSync(openSync(path, 'a', FILE_MODE));
}
