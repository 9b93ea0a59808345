#!/usr/bin/env node
// `node bench/deflate-levels.mjs`: what each zlib setting costs for permessage-deflate as wsx
// runs it (one message per sync flush, RFC 7692 §7.2.1, on a kept context reset after each
// message, as without context takeover; dist/transport/zlib-sync.js). Per setting: server CPU
// microseconds per message (process CPU time, best of --rounds, so a shared machine inflates it
// less than wall time), compression ratio (payload bytes / compressed bytes, tail stripped), and
// the memory of one context (RSS growth over --contexts contexts that each compressed a
// message, in a child process per setting).
// Messages: the ~1 KiB JSON chat messages of bench/load/deflate-load.mjs, and 16 KiB messages
// made of 14 of them (a larger JSON document). Run pinned (taskset -c 0) for steadier numbers.
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeMessages } from './load/deflate-load.mjs';
import { runSync } from '../dist/transport/zlib-sync.js';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    n: { type: 'string', default: '3000' },
    contexts: { type: 'string', default: '200' },
    json: { type: 'boolean', default: false },
    'memory-of': { type: 'string' },
  },
});
const C = zlib.constants;
const small = makeMessages(64);
const large = Array.from({ length: 8 }, (_, i) => Buffer.concat(makeMessages(14, 100 + i)));
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** [name, zlib options] */
const SETTINGS = [
  ['level 6, memLevel 8 (zlib default)', { level: 6, memLevel: 8 }],
  ['level 1, memLevel 8', { level: 1, memLevel: 8 }],
  ['level 2, memLevel 8', { level: 2, memLevel: 8 }],
  ['level 3, memLevel 8', { level: 3, memLevel: 8 }],
  ['level 4, memLevel 8', { level: 4, memLevel: 8 }],
  ['level 9, memLevel 8', { level: 9, memLevel: 8 }],
  ['level 6, memLevel 4', { level: 6, memLevel: 4 }],
  ['level 1, memLevel 4', { level: 1, memLevel: 4 }],
  ['level 6, windowBits 10', { level: 6, windowBits: 10 }],
  ['level 6, Z_FILTERED', { level: 6, strategy: C.Z_FILTERED }],
  ['level 6, Z_RLE', { level: 6, strategy: C.Z_RLE }],
  ['level 6, Z_HUFFMAN_ONLY', { level: 6, strategy: C.Z_HUFFMAN_ONLY }],
];

function make(o) {
  return zlib.createDeflateRaw({ flush: C.Z_SYNC_FLUSH, ...o });
}
function compressAll(s, msgs) {
  let out = 0;
  for (const m of msgs) {
    out += runSync(s, m, C.Z_SYNC_FLUSH, Infinity, true).size - 4;
    s.reset();
  }
  return out;
}
const rawOf = (msgs) => msgs.reduce((n, m) => n + m.length, 0);

if (opt['memory-of'] !== undefined) {
  // Child: the RSS growth per context of one setting, in KiB, on stdout.
  const o = SETTINGS[Number(opt['memory-of'])][1];
  const k = Number(opt.contexts);
  make(o).close();
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const keep = [];
  for (let i = 0; i < k; i++) {
    const s = make(o);
    runSync(s, small[i & 63], C.Z_SYNC_FLUSH, Infinity, true);
    keep.push(s);
  }
  globalThis.gc?.();
  console.log(((process.memoryUsage().rss - before) / k / 1024).toFixed(1));
  process.exit(0);
}

const rounds = Number(opt.rounds);
const n = Number(opt.n);
const rows = SETTINGS.map(([name, o]) => {
  const s = make(o);
  return { name, o, s, ratioSmall: rawOf(small) / compressAll(s, small), ratioLarge: rawOf(large) / compressAll(s, large), usSmall: Infinity, usLarge: Infinity };
});
// Alternate settings round by round; keep each one's best round.
for (let r = 0; r < rounds; r++) {
  for (const row of rows) {
    let t0 = cpu();
    for (let i = 0; i < n; i++) {
      runSync(row.s, small[i & 63], C.Z_SYNC_FLUSH, Infinity, true);
      row.s.reset();
    }
    row.usSmall = Math.min(row.usSmall, (cpu() - t0) / n);
    t0 = cpu();
    for (let i = 0; i < n / 16; i++) {
      runSync(row.s, large[i & 7], C.Z_SYNC_FLUSH, Infinity, true);
      row.s.reset();
    }
    row.usLarge = Math.min(row.usLarge, (cpu() - t0) / (n / 16));
  }
}
// Inflating the same messages (what the server pays per received message, whatever the level).
const inflater = zlib.createInflateRaw({ flush: C.Z_SYNC_FLUSH });
const frames = small.map((m) => zlib.deflateRawSync(m, { finishFlush: C.Z_SYNC_FLUSH }));
let usInflate = Infinity;
for (let r = 0; r < rounds; r++) {
  const t0 = cpu();
  for (let i = 0; i < n; i++) {
    runSync(inflater, frames[i & 63], C.Z_SYNC_FLUSH, Infinity, true);
    inflater.reset();
  }
  usInflate = Math.min(usInflate, (cpu() - t0) / n);
}
// Memory of one context: RSS growth over `contexts` of them, each used once, in a fresh child
// process per setting (freed pages would otherwise be reused by the next setting).
const k = Number(opt.contexts);
for (const [i, row] of rows.entries()) {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-of', String(i), '--contexts', String(k)], { encoding: 'utf8' });
  row.kib = Number(r.stdout.trim());
}
// By message size, at the default level (1): is compressing worth it below the threshold?
// Messages are prefixes of the chat messages (JSON text, repetitive like real chat).
const bySize = [64, 128, 256, 512, 1024].map((size) => {
  const msgs = small.map((m) => m.subarray(0, size));
  const s = make({ level: 1 });
  const inf = zlib.createInflateRaw({ flush: C.Z_SYNC_FLUSH });
  // Each compressed on its own, tail kept (the receiver appends it, RFC 7692 §7.2.2).
  const payloads = msgs.map((m) => {
    const z = Buffer.from(runSync(s, m, C.Z_SYNC_FLUSH, Infinity, true).chunks[0]);
    s.reset();
    return z;
  });
  let us = Infinity;
  let usIn = Infinity;
  for (let r = 0; r < rounds; r++) {
    let t0 = cpu();
    for (let i = 0; i < n; i++) {
      runSync(s, msgs[i & 63], C.Z_SYNC_FLUSH, Infinity, true);
      s.reset();
    }
    us = Math.min(us, (cpu() - t0) / n);
    t0 = cpu();
    for (let i = 0; i < n; i++) {
      runSync(inf, payloads[i & 63], C.Z_SYNC_FLUSH, Infinity, true);
      inf.reset();
    }
    usIn = Math.min(usIn, (cpu() - t0) / n);
  }
  const wire = payloads.reduce((a, p) => a + p.length - 4, 0) / 64;
  return { size, usDeflate: us, usInflate: usIn, ratio: size / wire, savedBytes: size - wire };
});

const out = rows.map((r) => ({ setting: r.name, usPerMsg1KiB: r.usSmall, ratio1KiB: r.ratioSmall, usPerMsg16KiB: r.usLarge, ratio16KiB: r.ratioLarge, contextKiB: r.kib }));
if (opt.json) {
  console.log(JSON.stringify({ node: process.version, zlib: process.versions.zlib, usInflate1KiB: usInflate, settings: out, bySize }, null, 2));
} else {
  console.log(`Node ${process.version}, zlib ${process.versions.zlib}; best of ${rounds} rounds; CPU µs per message (deflate + reset)\n`);
  console.log('| setting | 1 KiB: µs/msg | ratio | 16 KiB: µs/msg | ratio | context KiB |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of out) console.log(`| ${r.setting} | ${r.usPerMsg1KiB.toFixed(1)} | ${r.ratio1KiB.toFixed(3)} | ${r.usPerMsg16KiB.toFixed(0)} | ${r.ratio16KiB.toFixed(2)} | ${r.contextKiB.toFixed(0)} |`);
  console.log(`\nInflating a 1 KiB message (any level): ${usInflate.toFixed(1)} µs`);
  console.log('\nBy message size, level 1 (prefixes of the chat messages):\n');
  console.log('| bytes | deflate µs | inflate µs | ratio | bytes saved |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const r of bySize) console.log(`| ${r.size} | ${r.usDeflate.toFixed(1)} | ${r.usInflate.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.savedBytes.toFixed(0)} |`);
}
