// The import rules `npm run lint` enforces (scripts/check-imports.mjs), tried on small trees:
// each breach is named, a clean tree passes.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = join(process.cwd(), 'scripts', 'check-imports.mjs');

async function check(tree: Record<string, string>): Promise<{ code: number; out: string }> {
  const root = mkdtempSync(join(tmpdir(), 'imports-'));
  try {
    for (const [path, text] of Object.entries(tree)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    try {
      const { stdout, stderr } = await run(process.execPath, [SCRIPT, '--root', root]);
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const CLEAN = {
  'src/channels/types.ts': 'export type Hex = string;\n',
  'src/channels/ethereum/encoding.ts':
    "import type { Hex } from '../types.js';\nexport const h: Hex = '0x';\n",
  'src/protocols/perun/wire.ts':
    "import type { Hex } from '../../channels/types.js';\nexport const w: Hex = '0x';\n",
  'src/agent/node.ts':
    "import { w } from '../protocols/perun/wire.js';\nimport { h } from '../channels/ethereum/encoding.js';\nexport const n = w + h;\n",
  'test/node.test.ts': "import { n } from '../src/agent/node.js';\nexport const t = n;\n",
};

describe('import rules', () => {
  it('pass a tree whose layers import downwards without cycles', async () => {
    const { code, out } = await check(CLEAN);
    expect(code).toBe(0);
    expect(out).toContain('5 files');
  });

  it.each([
    [
      'the channel core imports the agent',
      'src/channels/types.ts',
      "import '../agent/node.js';\n",
      'src/agent/node.ts',
    ],
    [
      'the channel core imports a backend',
      'src/channels/types.ts',
      "import './ethereum/encoding.js';\n",
      'src/channels/ethereum/encoding.ts',
    ],
    [
      'a backend imports a protocol',
      'src/channels/ethereum/encoding.ts',
      "import '../../protocols/perun/wire.js';\n",
      'src/protocols/perun/wire.ts',
    ],
    [
      'a protocol imports the agent (type only)',
      'src/protocols/perun/wire.ts',
      "import type { n } from '../../agent/node.js';\n",
      'src/agent/node.ts',
    ],
    [
      'library code imports a test',
      'src/agent/node.ts',
      "import '../../test/node.test.js';\n",
      'test/node.test.ts',
    ],
  ])('refuse an upward import: %s', async (_what, file, line, target) => {
    const { code, out } = await check({ ...CLEAN, [file]: line + CLEAN[file as keyof typeof CLEAN] });
    expect(code).toBe(1);
    expect(out).toContain(`upward import: ${file} imports ${target}`);
  });

  it('refuse a cycle, type-only imports included, and name its path', async () => {
    const { code, out } = await check({
      ...CLEAN,
      'src/channels/a.ts': "import type { B } from './b.js';\nexport type A = B[];\n",
      'src/channels/b.ts': "import { c } from './c.js';\nexport type B = typeof c;\n",
      'src/channels/c.ts': "import type { A } from './a.js';\nexport const c: A | undefined = undefined;\n",
    });
    expect(code).toBe(1);
    expect(out).toMatch(/import cycle: src\/channels\/(a|b|c)\.ts → .* → .* → src\/channels\/(a|b|c)\.ts/);
    expect(out).not.toContain('upward import');
  });

  it('refuse a module that imports itself', async () => {
    const { code, out } = await check({
      ...CLEAN,
      'src/channels/types.ts': "import './types.js';\nexport type Hex = string;\n",
    });
    expect(code).toBe(1);
    expect(out).toContain('import cycle: src/channels/types.ts → src/channels/types.ts');
  });
});
