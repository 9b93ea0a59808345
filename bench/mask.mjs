#!/usr/bin/env node
// Masking micro-benchmark (RFC 6455 §5.3; after `npm run build`): wsx's masking functions with
// WebAssembly SIMD and with the JavaScript word loop it falls back to, against a plain byte
// loop and bufferutil (ws's native helper, C), in place (how a server unmasks what it reads)
// and copying (how a client masks what it sends; 'wsx MaskHome' is how a client masks frames of
// 64 KiB and more: into a WebAssembly memory that the socket then writes from), per payload size. Prints ns per call and GB/s,
// the median of --rounds rounds. Usage: node bench/mask.mjs [--rounds 5] [--sizes 32,1024,...]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { applyMaskKey, copyMasked, packMaskKey, SIMD_MASK_MIN, SIMD_UNMASK_MIN } from '../dist/protocol/frame.js';
import { MaskHome, setSimdMasking, simdMasker } from '../dist/protocol/mask-simd.js';

const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, sizes: { type: 'string', default: '32,125,256,512,1024,4096,16384,65536,1048576' } } });
const require = createRequire(import.meta.url);
let bufferutil = null;
try {
  bufferutil = require('bufferutil');
} catch {}

const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const key = packMaskKey(mask);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function naiveInPlace(buf, n) {
  for (let i = 0; i < n; i++) buf[i] ^= mask[i & 3];
}
function naiveCopy(src, dst, n) {
  for (let i = 0; i < n; i++) dst[i] = src[i] ^ mask[i & 3];
}

/** ns per call of fn, median of rounds, each ~40 ms. */
function time(fn, size) {
  const iters = Math.max(10, Math.floor(4e7 / (size + 256)));
  for (let i = 0; i < Math.min(iters, 1000); i++) fn();
  const rs = [];
  for (let r = 0; r < Number(opt.rounds); r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn();
    rs.push(Number(process.hrtime.bigint() - t) / iters);
  }
  return median(rs);
}

const hasSimd = simdMasker() !== null;
console.log(`WebAssembly SIMD: ${hasSimd ? 'yes' : 'no'}; SIMD from ${SIMD_UNMASK_MIN} bytes in place, ${SIMD_MASK_MIN} copying; bufferutil: ${bufferutil ? 'native' : 'not installed'}; Node ${process.version}`);
console.log('(ns per call, GB/s in brackets; the machine may be shared: compare columns of one run)\n');
const cols = ['byte loop', 'wsx JS words', 'wsx (SIMD path)', 'wsx MaskHome', 'bufferutil'];
const home = MaskHome.create(Math.max(...opt.sizes.split(',').map(Number)) + 16);
for (const mode of ['in place (unmask)', 'copy (mask on send)']) {
  console.log(`${mode}:`);
  console.log(['size'.padStart(8), ...cols.map((c) => c.padStart(20))].join(''));
  for (const size of opt.sizes.split(',').map(Number)) {
    const src = Buffer.alloc(size, 0x61);
    const dst = Buffer.allocUnsafe(size);
    const row = [];
    if (mode.startsWith('in place')) {
      row.push(time(() => naiveInPlace(dst, size), size));
      setSimdMasking(false);
      row.push(time(() => applyMaskKey(dst, 0, size, key, 0), size));
      setSimdMasking(true);
      row.push(time(() => applyMaskKey(dst, 0, size, key, 0), size));
      row.push(NaN);
      row.push(bufferutil ? time(() => bufferutil.unmask(dst, mask), size) : NaN);
    } else {
      row.push(time(() => naiveCopy(src, dst, size), size));
      setSimdMasking(false);
      row.push(time(() => copyMasked(src, 0, size, dst, 0, mask, 0), size));
      setSimdMasking(true);
      row.push(time(() => copyMasked(src, 0, size, dst, 0, mask, 0), size));
      row.push(home ? time(() => home.copyMasked(src, 0, size, 16, key), size) : NaN);
      row.push(bufferutil ? time(() => bufferutil.mask(src, mask, dst, 0, size), size) : NaN);
    }
    console.log([String(size).padStart(8), ...row.map((ns) => (Number.isNaN(ns) ? '-' : `${ns.toFixed(0)} (${(size / ns).toFixed(2)})`).padStart(20))].join(''));
  }
  console.log('');
}
