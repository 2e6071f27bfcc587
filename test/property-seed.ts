// The seeds and run counts of the suite's fast-check properties. Every test file draws a fresh
// random seed (or takes PROPERTY_SEED), every property in it runs on that seed, and a failing
// property's error ends with the command that replays it: the seed, the run counts set in the
// environment and the test. Installed for every test file by test/jest-setup.ts.
import { relative } from 'node:path';
import { expect } from '@jest/globals';
import fc from 'fast-check';

/** An integer environment variable, `fallback` when unset; anything else is refused. */
function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}=${raw}: expected an integer ≥ ${min}`);
  return n;
}

/** This test file's seed: PROPERTY_SEED when set, else a random 32-bit integer. */
export const propertySeed = intFromEnv('PROPERTY_SEED', (Math.random() * 2 ** 32) | 0, -(2 ** 31));

/** The number of cases a property runs: the environment variable `name`, else `fallback`. */
export const propertyRuns = (name: string, fallback: number): number => intFromEnv(name, fallback, 1);

/** The command that replays the failing property of the current test with `seed`. */
function replayCommand(seed: number): string {
  const { testPath, currentTestName } = expect.getState();
  const runs = Object.entries(process.env)
    .filter(([name]) => name.endsWith('_RUNS'))
    .map(([name, value]) => `${name}=${value} `)
    .join('');
  const file = testPath === undefined ? '' : ` ${relative(process.cwd(), testPath)}`;
  const test = currentTestName === undefined ? '' : ` -t '${currentTestName.replaceAll("'", "'\\''")}'`;
  return `PROPERTY_SEED=${seed} ${runs}npm test --${file}${test}`;
}

/** Adds the replay command to the error of a failing property (fast-check's own report kept). */
const replayHint: fc.Plugin<unknown> = () => ({
  onAllRunsComplete: (details) => {
    if (!details.failed) return;
    const report = fc.defaultReportMessage(details) ?? 'property failed';
    throw new Error(`${report}\n\nreplay with ${replayCommand(details.seed)}`, {
      cause: details.errorInstance,
    });
  },
});

/** Seeds every property of this test file and installs the replay hint. */
export function configureProperties(): void {
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: propertySeed });
  fc.installGlobalPlugin(replayHint);
}
