// Compiled contract artifacts (ABI and bytecode) from build/contracts, written by
// scripts/build-contracts.mjs with the pinned solc npm package.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InterfaceAbi } from 'ethers';
import { PerunError } from '../errors.js';
import { packageRoot } from '../package-root.js';

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
