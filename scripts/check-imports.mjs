#!/usr/bin/env node
// The import rules `npm run lint` enforces, on the project's own files (src, bench, demo, test):
// the layers only import downwards (src/agent → src/protocols → src/channels; the channel core
// never imports a chain backend, nor one backend another; library code never imports tests, benchmarks or demos), and no
// module imports itself through a cycle (type-only imports count: a cycle of types is still a
// tangle). Usage: node scripts/check-imports.mjs [--root DIR]; exits 1 and names every breach.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const DIRS = ['src', 'bench', 'demo', 'test'];
const SOURCE = /\.(ts|mts|js|mjs)$/;

/** [importer prefix, forbidden prefixes, why], checked in order; the first matching importer rule applies. */
const LAYERS = [
  [
    'src/channels/ethereum/',
    ['src/channels/ton/', 'src/channels/cross/', 'src/protocols/', 'src/agent/', 'test/', 'bench/', 'demo/'],
    'a backend belongs to the channel layer and knows no other backend',
  ],
  [
    'src/channels/ton/',
    [
      'src/channels/ethereum/',
      'src/channels/cross/',
      'src/protocols/',
      'src/agent/',
      'test/',
      'bench/',
      'demo/',
    ],
    'a backend belongs to the channel layer and knows no other backend',
  ],
  [
    'src/channels/cross/',
    ['src/protocols/', 'src/agent/', 'test/', 'bench/', 'demo/'],
    'the Ethereum–TON backend joins the two backends, inside the channel layer',
  ],
  [
    'src/channels/',
    [
      'src/channels/ethereum/',
      'src/channels/ton/',
      'src/channels/cross/',
      'src/protocols/',
      'src/agent/',
      'test/',
      'bench/',
      'demo/',
    ],
    'the channel core knows no backend, DIDComm or agent',
  ],
  [
    'src/protocols/',
    ['src/agent/', 'test/', 'bench/', 'demo/'],
    'a protocol knows Credo and channels, not the agent',
  ],
  ['src/', ['test/', 'bench/', 'demo/'], 'library code imports no tests, benchmarks or demos'],
];

function files(root) {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const d of DIRS) if (existsSync(join(root, d))) walk(join(root, d));
  return out;
}

/** The file a relative specifier names (NodeNext style: `./x.js` is `./x.ts` in the sources), or undefined. */
function resolveSpecifier(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(js|mjs|ts|mts)$/, '');
  for (const candidate of [
    base,
    `${stem}.ts`,
    `${stem}.mts`,
    `${stem}.js`,
    `${stem}.mjs`,
    join(base, 'index.ts'),
  ]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

export function checkImports(root) {
  const all = files(root);
  const rel = (p) => relative(root, p).split(sep).join('/');
  const graph = new Map(all.map((f) => [f, []]));
  const problems = [];
  for (const file of all) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      const target = resolveSpecifier(file, fileName);
      if (target === undefined || !graph.has(target)) continue;
      graph.get(file).push(target);
      const from = rel(file);
      const to = rel(target);
      const rule = LAYERS.find(([prefix]) => from.startsWith(prefix));
      const banned = rule?.[1].find((prefix) => to.startsWith(prefix));
      if (rule !== undefined && banned !== undefined) {
        problems.push(`upward import: ${from} imports ${to} (${rule[2]})`);
      }
    }
  }
  for (const cycle of cycles(graph))
    problems.push(`import cycle: ${[...cycle, cycle[0]].map(rel).join(' → ')}`);
  return { files: all.length, problems };
}

/** One cycle through every strongly connected component of more than one file (Tarjan), and every self-import. */
function cycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const connect = (v) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v).includes(v)) found.push(cycleIn(graph, new Set(component), v));
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

/** A shortest path from `start` back to itself inside `component` (breadth first). */
function cycleIn(graph, component, start) {
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return path;
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

const rootArg = process.argv.indexOf('--root');
const root = resolve(
  rootArg === -1 ? join(dirname(new URL(import.meta.url).pathname), '..') : process.argv[rootArg + 1],
);
const { files: count, problems } = checkImports(root);
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`import rules: ${problems.length} breach(es) in ${count} files`);
  process.exit(1);
}
console.log(`import rules: ${count} files, layers import downwards, no cycles`);
