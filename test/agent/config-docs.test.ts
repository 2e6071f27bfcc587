// docs/agent.md's configuration table and the settings the agent reads are one list: a setting
// added to config.ts (and so to the environment and, by the --help test in cli-errors.test.ts, to
// --help) without a row in the table fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configEnvNames } from '../../src/agent/node/config.js';

test("docs/agent.md's configuration table names every config.json field", () => {
  const doc = readFileSync(path.join(process.cwd(), 'docs', 'agent.md'), 'utf8');
  const start = doc.indexOf('## Configuration');
  const table = doc.slice(start, doc.indexOf('\n## ', start + 1));
  // PERUN_DIDCOMM_MAX_MESSAGE_BYTES → didcommMaxMessageBytes
  const fields = configEnvNames().map((env) =>
    env
      .slice('PERUN_'.length)
      .toLowerCase()
      .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
  );
  expect(fields).toContain('logLevel');
  expect(fields.filter((f) => !table.includes(`\`${f}\``))).toEqual([]);
});
