#!/usr/bin/env node
// Summarises .cpuprofile files (from `node --cpu-prof`, e.g. `npm run bench -- --cpu-prof DIR`):
// the functions with the most self time, aggregated by name and location.
// Usage: node bench/profile-summary.mjs <file-or-dir> [--top 25]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
if (positionals.length === 0) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile | dir> [--top N]');
  process.exit(2);
}
const files = positionals.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));
const self = new Map();
let total = 0;
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  // Self time: sum of the sample intervals attributed to each node.
  const dt = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const d = prof.timeDeltas[i + 1] ?? 0;
    dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + d);
  }
  for (const [id, us] of dt) {
    const n = byId.get(id);
    const f = n.callFrame;
    let where = f.url ? f.url.replace(/^file:\/\//, '') : '';
    if (where) where = `${relative(process.cwd(), where)}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
}
const busy = [...self].filter(([k]) => !k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle\n`);
console.log('self ms   % busy  function');
for (const [k, us] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${(us / 1000).toFixed(0).padStart(7)}  ${((us / busy) * 100).toFixed(1).padStart(6)}%  ${k}`);
}
