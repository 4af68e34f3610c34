// Self time of a .cpuprofile, by function and by origin (this project's
// dist/, ws, other packages, Node's own JavaScript, native code and syscalls):
//   node bench/cpuprofile-summary.mjs FILE [TOP] [--inclusive NAME,NAME,...]
// --inclusive adds the time spent in each named function and everything it
// called (counted once where a name recurses), as a share of the busy time.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const inclusiveAt = args.indexOf('--inclusive');
const inclusive = inclusiveAt >= 0 ? (args.splice(inclusiveAt, 2)[1] ?? '').split(',').filter(Boolean) : [];
const [file, top = '40'] = args;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byFunction = new Map();
const byOrigin = new Map();
let total = 0;
let idle = 0;
const add = (map, key, hits) => map.set(key, (map.get(key) ?? 0) + hits);
const originOf = (functionName, url) => {
  if (url.includes('/dist/')) return 'samesong (dist/)';
  if (url.includes('node_modules/ws/')) return 'ws';
  if (url.includes('node_modules/')) return 'other packages';
  if (url.startsWith('node:')) return 'Node (JavaScript)';
  if (functionName === '(garbage collector)' || functionName === '(program)') return functionName;
  return 'native, syscalls (writev, write, …)';
};
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${lineNumber + 1}`;
  add(byFunction, name, node.hitCount);
  total += node.hitCount;
  if (functionName === '(idle)') idle += node.hitCount;
  else add(byOrigin, originOf(functionName, url), node.hitCount);
}
const pct = (hits, of) => `${((hits / of) * 100).toFixed(1).padStart(5)}%`;
console.log(`busy: ${pct(total - idle, total)} of the samples; by origin, share of busy:`);
for (const [origin, hits] of [...byOrigin].sort((a, b) => b[1] - a[1])) {
  console.log(`${pct(hits, total - idle)}  ${origin}`);
}
console.log('\nself time by function, share of all samples:');
const rows = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(top));
for (const [name, hits] of rows) console.log(`${pct(hits, total)}  ${name}`);

if (inclusive.length > 0) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const spent = new Map();
  const walk = (id, inside) => {
    const node = byId.get(id);
    const name = node.callFrame.functionName;
    const now = inclusive.includes(name) && !inside.has(name) ? new Set([...inside, name]) : inside;
    for (const n of now) add(spent, n, node.hitCount);
    for (const child of node.children ?? []) walk(child, now);
  };
  walk(profile.nodes[0].id, new Set());
  console.log('\ninclusive time (the function and its callees), share of busy:');
  for (const name of inclusive) console.log(`${pct(spent.get(name) ?? 0, total - idle)}  ${name}`);
}
