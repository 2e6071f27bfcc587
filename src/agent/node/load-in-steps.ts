// The node's heaviest packages loaded in steps, with the event loop let run between them, while
// the starting view answers (./starting-api.ts). Evaluating a module graph is synchronous:
// imported as one graph with the node's modules, Credo and TypeORM held every request for seconds
// (2 s for @credo-ts/core alone on a loaded machine). Here an ES module package's entry has its
// own modules imported one at a time in the entry's order (the order its evaluation would take),
// then the package, so a request waits for one step at most (0.4 s there), and no step starts
// while a request is being answered (TypeORM's entry wraps its CommonJS build: one step). Only a
// warm-up: what fails to load here is left to the node's own imports, which report it; how the
// packages ship is checked by test/agent/loading-steps.test.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** In the order the node's modules need them (the polyfill Credo's decorators need first). */
const HEAVY_PACKAGES = ['reflect-metadata', 'typeorm', '@credo-ts/core', '@credo-ts/didcomm'] as const;

/** Lets the event loop take what waits (new connections, requests), then waits for `idle`. */
async function letRequestsIn(idle: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await idle();
}

/** The relative modules an ES module entry imports or re-exports, in its order. */
function ownModulesOf(entry: string): string[] {
  if (!entry.endsWith('.mjs')) return [];
  const source = readFileSync(fileURLToPath(entry), 'utf8');
  const found = [...source.matchAll(/(?:\bfrom|\bimport)\s*['"](\.{1,2}\/[^'"]+)['"]/g)];
  return [...new Set(found.map((m) => new URL(m[1]!, entry).href))];
}

/** Imports `specifier`; false where it cannot be (its error is the node's import's to report). */
async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

/** What is imported, in turn: each heavy package's own modules (by URL), then the package. */
export function loadingSteps(): string[] {
  return HEAVY_PACKAGES.flatMap((name) => {
    let entry: string;
    try {
      entry = import.meta.resolve(name);
    } catch {
      return [];
    }
    return [...ownModulesOf(entry), name];
  });
}

/**
 * Loads the node's heavy packages step by step, letting requests in between the steps; each step
 * waits for `idle` (no request being answered: a listing of 10,000 channels is megabytes, written
 * over many turns of the event loop).
 */
export async function loadInSteps(idle: () => Promise<void>): Promise<void> {
  for (const step of loadingSteps()) {
    await tryImport(step);
    await letRequestsIn(idle);
  }
}
