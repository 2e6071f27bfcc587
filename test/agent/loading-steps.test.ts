// The node's warm-up loads Credo and TypeORM in steps (src/agent/node/load-in-steps.ts), finding a
// package's own modules in its ES module entry. That depends on how the packages ship: these
// checks fail when an upgrade leaves the warm-up with one big step (requests held for seconds
// again while the node starts) or with steps that are not modules of the package.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadInSteps, loadingSteps } from '../../src/agent/node/load-in-steps.js';

const PACKAGES = ['reflect-metadata', 'typeorm', '@credo-ts/core', '@credo-ts/didcomm'];
/** Credo's entries re-export a couple of hundred modules each; TypeORM's wraps its CommonJS one. */
const AT_LEAST: Record<string, number> = { '@credo-ts/core': 20, '@credo-ts/didcomm': 20, typeorm: 1 };

test('each heavy package comes in several steps of its own modules, the package itself last, in order', () => {
  const steps = loadingSteps();
  expect(steps.filter((s) => !s.startsWith('file:'))).toEqual(PACKAGES);
  let from = 0;
  for (const name of PACKAGES) {
    const at = steps.indexOf(name);
    const own = steps.slice(from, at);
    expect(own.length).toBeGreaterThanOrEqual(AT_LEAST[name] ?? 0);
    for (const url of own) {
      expect(url).toContain(`/node_modules/${name}/`);
      expect(existsSync(fileURLToPath(url))).toBe(true);
    }
    from = at + 1;
  }
});

test('the warm-up waits for the requests in flight after every step', async () => {
  let waits = 0;
  await loadInSteps(async () => {
    waits++;
  });
  expect(waits).toBe(loadingSteps().length);
}, 60_000);
