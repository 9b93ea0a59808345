#!/usr/bin/env node
// Runs the C load generator (bench/lib/wsl.mjs) and speaks the same JSON lines as main.mjs:
// {"event":"open"} at once, {"event":"start"} after wsl's fixed 2 s warm-up, {"event":"end",
// "result":{...}} when it prints its result; "stop" on stdin ends it early (hold mode).
// Usage: node bench/load/wsl-driver.mjs --bin PATH --mode echo|fanout|hold --port P
//        [--conns 100] [--depth 16] [--size 32] [--text] [--duration 5]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    bin: { type: 'string' },
    mode: { type: 'string', default: 'echo' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    conns: { type: 'string', default: '100' },
    depth: { type: 'string', default: '16' },
    size: { type: 'string', default: '32' },
    text: { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    // Accepted for symmetry with main.mjs; wsl's warm-up is fixed at 2 s.
    warmup: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
  },
});
const WARMUP_S = 2;
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const mode = a.mode;
const path = mode === 'fanout' ? '/sub' : '/';
const secs = mode === 'hold' ? '3600' : a.duration;
const args = [mode, a.host, a.port, path, a.conns, mode === 'hold' ? '0' : a.depth, a.size, secs];
if (a.text) args.push('text');
const child = spawn(a.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let err = '';
child.stdout.on('data', (d) => (out += d));
child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));

/** CPU seconds used so far by the wsl process (utime + stime from /proc). */
function cpuSeconds() {
  try {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Open file descriptors of the wsl process (one socket per connection, once it has connected). */
function fdCount() {
  try {
    return readdirSync(`/proc/${child.pid}/fd`).length;
  } catch {
    return -1;
  }
}

emit({ event: 'open', open: Number(a.conns) });
let cpu0 = NaN;
let cpu1 = NaN;
if (mode !== 'hold') {
  // wsl's clock starts once its connect loop is done (every socket created; fan-out then waits
  // 0.5 s for the publisher): watch its descriptors to know when, then add its 2 s warm-up.
  const want = Number(a.conns) + (mode === 'fanout' ? 1 : 0) + 4; // + stdio and the epoll fd
  const t0 = Date.now();
  const poll = setInterval(() => {
    if (fdCount() < want && Date.now() - t0 < 60_000) return;
    clearInterval(poll);
    const startIn = WARMUP_S * 1000;
    setTimeout(() => {
      cpu0 = cpuSeconds();
      emit({ event: 'start' });
    }, startIn);
    // Just before the end of the window, while the process still exists.
    setTimeout(() => (cpu1 = cpuSeconds()), startIn + Number(a.duration) * 1000 - 100);
  }, 5);
}
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() === 'stop') child.kill('SIGTERM');
});
child.on('exit', (code, signal) => {
  if (mode === 'hold') process.exit(0);
  const line = out.trim().split('\n').pop() ?? '';
  let r;
  try {
    r = JSON.parse(line);
  } catch {
    emit({ event: 'error', message: `wsl exited (${signal ?? code}) without a result: ${err.trim()}` });
    process.exit(1);
  }
  const seconds = Number(a.duration);
  emit({
    event: 'end',
    result: {
      open: r.open,
      seconds,
      messages: Math.round(r.msgs_per_s * seconds),
      msgsPerSec: r.msgs_per_s,
      mbPerSec: r.MB_per_s,
      p50Ms: r.p50_ms,
      p99Ms: r.p99_ms,
      errors: r.errors + (r.open < Number(a.conns) ? Number(a.conns) - r.open : 0),
      loadCpu: (cpu1 - cpu0) / (seconds - 0.1),
      load: 'wsl',
    },
  });
  process.exit(0);
});
