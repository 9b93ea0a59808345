#!/usr/bin/env node
// The load generator process: spreads connections over --workers threads (bench/load/worker.mjs),
// then prints JSON lines on stdout for the orchestrator (bench/run.mjs):
//   {"event":"open","open":N}             all connections are open (hold mode waits for "stop" on stdin)
//   {"event":"start"}                     the measured window starts (after the warm-up)
//   {"event":"end","result":{...}}        the window ended: messages, bytes, latency percentiles
// Usage: node bench/load/main.mjs --mode echo|hold|fanout --port P [--host 127.0.0.1] [--path /]
//        [--conns 100] [--depth 16] [--size 32] [--text] [--deflate] [--workers 1]
//        [--warmup 1] [--duration 5]
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values: a } = parseArgs({
  options: {
    mode: { type: 'string', default: 'echo' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string', default: '/' },
    conns: { type: 'string', default: '100' },
    depth: { type: 'string', default: '16' },
    size: { type: 'string', default: '32' },
    text: { type: 'boolean', default: false },
    deflate: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    parallel: { type: 'string', default: '128' },
  },
});

const mode = a.mode;
const conns = Number(a.conns);
const nWorkers = Math.max(1, Math.min(Number(a.workers), conns));
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const workers = [];
const pending = new Map(); // worker -> resolver of its next message of a type
let fatal = null;

function waitAll(type) {
  return Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve, reject) => {
          pending.set(w, { type, resolve, reject });
        }),
    ),
  );
}

// Fanout: the publisher and the first subscriber (whose progress paces the publisher) get a
// thread of their own, so the publisher answers as soon as that subscriber reads instead of
// after this thread has read all the other subscribers (which would put the generator and the
// server in lockstep). The other subscribers are spread over the --workers threads.
const shares = [];
if (mode === 'fanout') {
  shares.push({ conns: 1, leader: true });
  for (let i = 0; i < nWorkers; i++) shares.push({ conns: Math.floor((conns - 1) / nWorkers) + (i < (conns - 1) % nWorkers ? 1 : 0), leader: false });
} else {
  for (let i = 0; i < nWorkers; i++) shares.push({ conns: Math.floor(conns / nWorkers) + (i < conns % nWorkers ? 1 : 0), leader: false });
}

for (let i = 0; i < shares.length; i++) {
  const share = shares[i].conns;
  const w = new Worker(new URL('./worker.mjs', import.meta.url), {
    workerData: {
      mode,
      host: a.host,
      port: Number(a.port),
      path: a.path,
      conns: share,
      depth: Number(a.depth),
      size: Number(a.size),
      text: a.text,
      deflate: a.deflate,
      leader: shares[i].leader,
      parallel: Math.max(1, Math.ceil(Number(a.parallel) / nWorkers)),
    },
  });
  w.on('message', (msg) => {
    if (msg.type === 'error') {
      fatal = new Error(`load worker ${i}: ${msg.message}`);
      for (const p of pending.values()) p.reject(fatal);
      return;
    }
    const p = pending.get(w);
    if (p !== undefined && p.type === msg.type) {
      pending.delete(w);
      p.resolve(msg);
    }
  });
  w.on('error', (err) => {
    fatal = err;
    for (const p of pending.values()) p.reject(err);
  });
  workers.push(w);
}

function stopAll() {
  for (const w of workers) w.postMessage('stop');
  setTimeout(() => process.exit(fatal ? 1 : 0), 300).unref();
}

function percentile(hist, total, q) {
  if (total === 0) return 0;
  const target = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= target) return i / 1000; // ms
  }
  return (hist.length - 1) / 1000;
}

async function main() {
  const ready = await waitAll('ready');
  const open = ready.reduce((s, m) => s + m.open, 0);
  emit({ event: 'open', open });
  if (mode === 'hold') {
    const rl = createInterface({ input: process.stdin });
    await new Promise((resolve) => {
      rl.on('line', (l) => l.trim() === 'stop' && resolve());
      rl.on('close', resolve);
    });
    rl.close();
    stopAll();
    return;
  }
  if (mode === 'fanout') workers[0].postMessage('go');
  await sleep(Number(a.warmup) * 1000);
  for (const w of workers) w.postMessage('measure');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  emit({ event: 'start' });
  await sleep(Number(a.duration) * 1000);
  const reports = waitAll('report');
  for (const w of workers) w.postMessage('report');
  const rs = await reports;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const hist = new Uint32Array(rs[0].hist.length);
  let messages = 0;
  let bytes = 0;
  let errors = 0;
  let closed = 0;
  let compressed = 0;
  for (const r of rs) {
    messages += r.messages;
    bytes += r.bytes;
    errors += r.errors;
    closed += r.closed;
    compressed += r.compressed;
    for (let i = 0; i < hist.length; i++) hist[i] += r.hist[i];
  }
  const latencyCount = mode === 'echo' ? messages : 0;
  emit({
    event: 'end',
    result: {
      open,
      seconds,
      messages,
      msgsPerSec: messages / seconds,
      mbPerSec: bytes / seconds / 1e6,
      p50Ms: percentile(hist, latencyCount, 0.5),
      p99Ms: percentile(hist, latencyCount, 0.99),
      errors,
      closed,
      compressed,
      loadCpu: (cpu.user + cpu.system) / 1e6 / seconds, // cores used by the generator
      workers: nWorkers,
      threads: workers.length,
    },
  });
  stopAll();
}

main().catch((err) => {
  process.stderr.write(`load: ${err.message}\n`);
  emit({ event: 'error', message: err.message });
  stopAll();
  process.exitCode = 1;
});
