// The REST table in docs/agent.md and the routes the API serves are one list: a route added to
// the code without its row, or a row left for a route that is gone, fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { API_ROUTES } from '../../src/agent/api/routes.js';

test('docs/agent.md names every route the API serves, and no other', () => {
  const doc = readFileSync(path.join(process.cwd(), 'docs', 'agent.md'), 'utf8');
  const table = doc.split('\n').filter((line) => line.startsWith('| `'));
  const documented = new Set(
    table.flatMap((line) =>
      [...line.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s{]*)/g)].map((m) => `${m[1]} ${m[2]}`),
    ),
  );
  const served = new Set(API_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`));
  expect(served.size).toBeGreaterThan(20);
  expect([...served].filter((r) => !documented.has(r))).toEqual([]);
  expect([...documented].filter((r) => !served.has(r))).toEqual([]);
});
