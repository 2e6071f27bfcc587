// Summarises a V8 CPU profile (`node --cpu-prof`, or an agent's under PERUN_AGENT_NODE_ARGS='--cpu-prof
// --cpu-prof-dir=DIR'): self time by package (node_modules package, project directory, node
// internal), by function, or the project's functions by inclusive time (synchronous stacks only:
// what runs after an await starts a stack of its own), over the whole profile or a window of it
// in seconds from its start, and the busy share of each second (to find a window).
// Usage: node scripts/profile-summary.mjs FILE [--by package|function|inclusive|seconds]
//        [--from S] [--to S] [--top N]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const file = args[0];
if (file === undefined || file.startsWith('--')) {
  console.error(
    'usage: node scripts/profile-summary.mjs FILE [--by package|function|inclusive|seconds] [--from S] [--to S] [--top N]',
  );
  process.exit(2);
}
const by = option('by', 'package');
const from = Number(option('from', '0')) * 1e6;
const to = Number(option('to', 'Infinity')) * 1e6;
const top = Number(option('top', '30'));

const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const path = (n) => n.callFrame.url.replace(/^file:\/\//, '');
const own = (p) => /\/(dist|src|bench|test)\//.test(p) && !p.includes('node_modules/');
const where = (p) => p.replace(/.*node_modules\//, '').replace(/.*?\/(dist\/)?(?=(src|bench|test)\/)/, '');
function packageOf(n) {
  const p = path(n);
  const at = p.lastIndexOf('node_modules/');
  if (at >= 0) {
    const [scope, name] = p.slice(at + 13).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (own(p)) return where(p).split('/').slice(0, 3).join('/');
  return p === '' ? n.callFrame.functionName || '(native)' : p;
}
const functionOf = (n) =>
  `${n.callFrame.functionName || '(anonymous)'} ${where(path(n))}:${n.callFrame.lineNumber + 1}`;

const sums = new Map();
const add = (key, us) => sums.set(key, (sums.get(key) ?? 0) + us);
let t = 0;
let total = 0;
let busy = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const us = profile.timeDeltas[i] ?? 0;
  t += us;
  if (t < from || t > to) continue;
  const leaf = nodes.get(profile.samples[i]);
  const idle = leaf.callFrame.functionName === '(idle)';
  total += us;
  if (!idle) busy += us;
  if (by === 'seconds') {
    if (!idle) add(Math.floor(t / 1e6), us);
  } else if (by === 'inclusive') {
    if (idle) continue;
    const seen = new Set();
    for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
      const n = nodes.get(id);
      if (!own(path(n))) continue;
      const key = functionOf(n);
      if (!seen.has(key)) add(key, us);
      seen.add(key);
    }
  } else add(by === 'function' ? functionOf(leaf) : packageOf(leaf), us);
}

const s = (us) => (us / 1e6).toFixed(3).padStart(8);
console.log(`${s(total)} s sampled, ${s(busy)} s busy`);
if (by === 'seconds') {
  for (const [second, us] of [...sums].sort((a, b) => a[0] - b[0]))
    console.log(`${String(second).padStart(5)} s  ${((us / 1e6) * 100).toFixed(0).padStart(3)}% busy`);
} else {
  const base = by === 'inclusive' ? busy : total;
  for (const [key, us] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((us / base) * 100).toFixed(1).padStart(5)}% ${s(us)} s  ${key}`);
}
