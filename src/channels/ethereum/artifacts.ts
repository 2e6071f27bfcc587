// Compiled contract artifacts (ABI and bytecode) from build/contracts, written by
// scripts/build-contracts.mjs with the pinned solc npm package.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InterfaceAbi } from 'ethers';
import { PerunError } from '../errors.js';

export type ContractName =
  | 'Adjudicator'
  | 'AssetHolderETH'
  | 'AssetHolderERC20'
  | 'TrivialApp'
  | 'CredentialPaymentApp'
  | 'App'
  | 'PerunToken'
  | 'ReentrantToken'
  | 'QuirkyToken';

export interface Artifact {
  contractName: string;
  abi: InterfaceAbi;
  bytecode: string;
}

function packageRoot(): string {
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

const cache = new Map<ContractName, Artifact>();

export function artifact(name: ContractName): Artifact {
  let a = cache.get(name);
  if (a === undefined) {
    const file = join(packageRoot(), 'build', 'contracts', `${name}.json`);
    if (!existsSync(file)) {
      throw new PerunError('ARTIFACTS', `contract artifact ${name} is missing; run npm run build:contracts`, {
        file,
      });
    }
    a = JSON.parse(readFileSync(file, 'utf8')) as Artifact;
    cache.set(name, a);
  }
  return a;
}
