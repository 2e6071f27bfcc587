// The data directory at rest is the owner's alone: `init` into a directory that exists already
// leaves it 700 and every file in it 600, the SQLite database and its -wal and -shm files
// included; a directory opened up later is fixed again at start, with a line for each fix.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAgentStore } from '../../src/agent/datasource.js';
import { initAgent } from '../../src/agent/node/config.js';
import { prepareSqliteFile, secureDataDir } from '../../src/agent/node/data-dir.js';

let root: string;
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'perun-data-dir-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('init into an existing open directory leaves it 700 and every file 600', async () => {
  const dataDir = join(root, 'existing');
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  writeFileSync(join(dataDir, 'notes.txt'), 'mine', { mode: 0o644 });
  chmodSync(join(dataDir, 'notes.txt'), 0o644);
  await initAgent({ dataDir, label: 'a', passphrase: 'pw', scrypt: { N: 2 ** 10 }, overrides: {} });
  expect(mode(dataDir)).toBe('700');
  const files = readdirSync(dataDir);
  expect(files).toEqual(expect.arrayContaining(['agent.sqlite', 'api-token', 'config.json', 'notes.txt']));
  for (const f of files) expect([f, mode(join(dataDir, f))]).toEqual([f, '600']);
});

it("SQLite's -wal and -shm files are created 600, like the database file", async () => {
  const dataDir = join(root, 'wal');
  mkdirSync(dataDir, { mode: 0o700 });
  const db = join(dataDir, 'agent.sqlite');
  prepareSqliteFile(db);
  const ds = await openAgentStore(db);
  try {
    await ds.query('CREATE TABLE t (x integer)');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) {
      expect(existsSync(f)).toBe(true);
      expect([f, mode(f)]).toEqual([f, '600']);
    }
  } finally {
    await ds.destroy();
  }
});

it('fixes a directory and files opened to others, and says what it fixed', () => {
  const dataDir = join(root, 'opened');
  mkdirSync(join(dataDir, 'sub'), { recursive: true });
  writeFileSync(join(dataDir, 'agent.sqlite'), '');
  writeFileSync(join(dataDir, 'sub', 'x'), '');
  chmodSync(join(dataDir, 'agent.sqlite'), 0o644);
  chmodSync(join(dataDir, 'sub', 'x'), 0o666);
  chmodSync(dataDir, 0o755);
  const fixed = secureDataDir(dataDir);
  expect(fixed.sort()).toEqual(
    [
      `${dataDir} was mode 755, now 700`,
      `${join(dataDir, 'agent.sqlite')} was mode 644, now 600`,
      `${join(dataDir, 'sub')} was mode 755, now 700`,
      `${join(dataDir, 'sub', 'x')} was mode 666, now 600`,
    ].sort(),
  );
  expect([mode(dataDir), mode(join(dataDir, 'agent.sqlite')), mode(join(dataDir, 'sub', 'x'))]).toEqual([
    '700',
    '600',
    '600',
  ]);
  expect(secureDataDir(dataDir)).toEqual([]);
});
