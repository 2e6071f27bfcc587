// Compiles contracts/**/*.sol with the pinned solc npm package (no compiler download) into
// build/contracts/<Name>.json ({ abi, bytecode, deployedBytecode }). Skips the work when the
// sources, the compiler version and the settings are unchanged since the last build.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'contracts');
const outDir = join(root, 'build', 'contracts');
const stampFile = join(outDir, '.inputs.sha256');

export const SETTINGS = {
  optimizer: { enabled: true, runs: 1_000_000 },
  evmVersion: 'cancun',
  viaIR: true,
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

function listSources(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listSources(join(dir, e.name)) : e.name.endsWith('.sol') ? [join(dir, e.name)] : [],
    )
    .sort();
}

const files = listSources(srcDir);
const sources = Object.fromEntries(
  files.map((f) => [relative(srcDir, f).split('\\').join('/'), { content: readFileSync(f, 'utf8') }]),
);
const stamp = createHash('sha256')
  .update(JSON.stringify({ version: solc.version(), settings: SETTINGS, sources }))
  .digest('hex');

if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && !process.argv.includes('--force')) {
  process.exit(0);
}

const output = JSON.parse(
  solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: SETTINGS })),
);
const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
for (const e of output.errors ?? []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
let count = 0;
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (c.abi.length === 0) continue;
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: solc.version(),
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    };
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
    count++;
  }
}
writeFileSync(stampFile, stamp);
console.error(`compiled ${files.length} Solidity files into ${count} artifacts (solc ${solc.version()})`);
