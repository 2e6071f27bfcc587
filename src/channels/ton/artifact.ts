// The compiled TON contract (build/ton/Perun.json, written by scripts/build-ton-contracts.mjs
// with the pinned @ton/tolk-js): its code cell and the cell schema it was compiled with.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cell } from '@ton/core';
import { PerunError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { Schema } from './schema.js';

export interface TonArtifact {
  code: Cell;
  codeHashHex: string;
  compiler: string;
  schema: Schema;
}

let cached: TonArtifact | undefined;

export function tonArtifact(): TonArtifact {
  if (cached !== undefined) return cached;
  const file = join(packageRoot(), 'build', 'ton', 'Perun.json');
  if (!existsSync(file)) {
    throw new PerunError('ARTIFACTS', 'the TON contract artifact is missing; run npm run build:contracts', {
      file,
    });
  }
  const raw = JSON.parse(readFileSync(file, 'utf8')) as {
    codeBoc64: string;
    codeHashHex: string;
    compiler: string;
    schema: Schema;
  };
  cached = {
    code: Cell.fromBase64(raw.codeBoc64),
    codeHashHex: raw.codeHashHex,
    compiler: raw.compiler,
    schema: raw.schema,
  };
  return cached;
}
