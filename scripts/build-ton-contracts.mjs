// Compiles the TON contract (contracts/ton/perun.tolk) with the pinned @ton/tolk-js (the Tolk
// compiler in WebAssembly, no download) into build/ton/Perun.json ({ codeBoc64, codeHashHex,
// schema }). The cell layouts come from contracts/ton/schema.json, turned here into the Tolk
// structs the contract imports as "schema" (also written to build/ton/schema.tolk to read); the
// TypeScript backend builds its cells from the same schema in the artifact. Skips the work when
// the sources and the compiler version are unchanged since the last build.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTolkCompilerVersion, runTolkCompiler } from '@ton/tolk-js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'contracts', 'ton');
const outDir = join(root, 'build', 'ton');
const stampFile = join(outDir, '.inputs.sha256');

/** Tolk type of a schema field kind. */
function tolkType(kind) {
  if (kind.startsWith('ref:')) return `Cell<${kind.slice(4)}>`;
  if (/^(u?int\d+|bits\d+|bool|coins|address)$/.test(kind)) return kind;
  throw new Error(`schema: unknown field kind ${kind}`);
}

/** The Tolk declarations of the schema: its exit codes, every struct, messages with their opcode prefix. */
export function schemaToTolk(schema) {
  const out = [
    '// Generated from contracts/ton/schema.json by scripts/build-ton-contracts.mjs; do not edit.',
    'tolk 1.4',
    '',
  ];
  for (const [name, code] of Object.entries(schema.errors)) out.push(`const ERR_${name} = ${code}`);
  out.push('');
  for (const [name, def] of Object.entries(schema.structs)) {
    out.push(`struct ${def.op === undefined ? '' : `(${def.op}) `}${name} {`);
    for (const [field, kind] of def.fields) out.push(`    ${field}: ${tolkType(kind)}`);
    out.push('}', '');
  }
  return out.join('\n');
}

const schema = JSON.parse(readFileSync(join(srcDir, 'schema.json'), 'utf8'));
const generated = schemaToTolk(schema);
const sources = Object.fromEntries(
  readdirSync(srcDir)
    .filter((f) => f.endsWith('.tolk'))
    .sort()
    .map((f) => [f, readFileSync(join(srcDir, f), 'utf8')]),
);
sources['schema.tolk'] = generated;
const version = await getTolkCompilerVersion();
const stamp = createHash('sha256').update(JSON.stringify({ version, sources })).digest('hex');
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && !process.argv.includes('--force')) {
  process.exit(0);
}

const result = await runTolkCompiler({
  entrypointFileName: 'perun.tolk',
  fsReadCallback: (path) => {
    const name = path.replace(/^\.\//, '');
    const text = sources[name] ?? sources[`${name}.tolk`];
    if (text === undefined) throw new Error(`no such Tolk source: ${path}`);
    return text;
  },
});
if (result.status === 'error') {
  console.error(result.message);
  process.exit(1);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'schema.tolk'), generated);
writeFileSync(
  join(outDir, 'Perun.json'),
  JSON.stringify(
    {
      contractName: 'Perun',
      compiler: `tolk ${version}`,
      codeBoc64: result.codeBoc64,
      codeHashHex: result.codeHashHex,
      schema,
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(stampFile, stamp);
console.error(
  `compiled contracts/ton/perun.tolk (tolk ${version}, ${Buffer.from(result.codeBoc64, 'base64').length} bytes)`,
);
