#!/usr/bin/env node
// `npm run bench`: wsx against ws in the same run. Every server runs in its own child process
// (pinned to one CPU with taskset when possible), the load generator in another (pinned to
// another CPU); implementations alternate round by round (A B A B ...) and each scenario
// reports the median of its rounds and the ratio wsx/ws, beside its target.
// See docs/PERFORMANCE.md, and `node bench/run.mjs --help`.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { findBun } from './lib/bun.mjs';
import { canPin, killChildren, serverStats, startLoad, startServer } from './lib/procs.mjs';
import { findWsl } from './lib/wsl.mjs';

const HELP = `Usage: node bench/run.mjs [options]   (npm run bench -- [options])

Scenarios (default: all, in this order):
  echo-small      100 conns, 16 in flight, 32 B binary echo: msgs/s, p99 latency
  echo-large      100 conns, 4 in flight, 16 KiB binary echo: MB/s
  echo-text       1,000 conns, 1 in flight, 32 B text echo: msgs/s
  echo-deflate    echo-small-like load with permessage-deflate, 100 conns, 4 in flight, 2 KiB: msgs/s
  memory          10,000 idle conns: server RSS and heap per connection (KiB)
  memory-deflate  the same with permessage-deflate negotiated
  fanout          1,000 subscribers, 1 publisher 64 ahead, 64 B: deliveries/s
  client          wsx client vs ws client vs undici WebSocket, 50 conns x 16 in flight, 32 B,
                  all against the wsx echo server: msgs/s
  client-large    wsx client vs ws client, 4 conns x 2 in flight, 1 MiB binary echo (the
                  client masks every byte): MB/s of the client process
  deflate-modes   bench/deflate.mjs (npm run bench:deflate): permessage-deflate per mode,
                  wsx vs ws vs Bun, msgs/s, compression ratio, RSS per connection

Servers compared: wsx, ws (with bufferutil), the Node floor (see --no-floor) and Bun (Bun.serve, uWebSockets), installed on
demand into .bench-cache/ (bench/lib/bun.mjs; WSX_BENCH_BUN=0 skips it). Load: the C load
generator ../shared/tools/wsl when it is found (bench/lib/wsl.mjs; WSX_BENCH_WSL=0 forces the
Node one), else bench/load (Node); deflate scenarios always use the Node load.

Options:
  --scenario <name>      run only this scenario (repeat or comma-separate for several)
  --rounds <n>           rounds per implementation, alternated (default 5)
  --duration <s>         measured seconds per round (default 5)
  --warmup <s>           warm-up seconds before measuring (default 1)
  --load-workers <n>     load generator threads (default 1)
  --conns <n>            connections (or subscribers / idle connections) for the chosen scenarios
  --depth <n>            messages in flight per connection (fanout: messages ahead)
  --size <bytes>         message size
  --check-load           run each scenario with --load-workers N and 2N, print both ratios
  --cpu-prof <dir>       profile the wsx server children (node --cpu-prof) into <dir>
  --no-pin               do not pin processes with taskset
  --server-cpu <n>       CPU for the servers (default 0)
  --load-cpu <list>      CPU list for the load generator (default 1)
  --retries <n>          re-run a round that looks starved by other processes (the process
                         under test and the load both under 80% of a CPU), at most n times (default 1)
  --baseline <dir>       also run another build of wsx as "base" (a dist/ directory, e.g. of
                         the previous commit): shows what a change bought, in the same run
  --no-bun               do not compare with Bun
  --no-floor             do not run the Node floor (bench/servers/node-echo.mjs: node:http
                         upgrade + one write per read, no validation) in echo-small and memory,
                         nor node-fanout.mjs (one write per subscriber per publisher read) in fanout
  --node-load            use the Node load generator even when the C one is available
  --json                 print the results as JSON on stdout (progress stays on stderr)
  -h, --help             this help`;

const { values: opt } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    'load-workers': { type: 'string', default: '1' },
    conns: { type: 'string' },
    depth: { type: 'string' },
    size: { type: 'string' },
    'check-load': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    'no-bun': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    'no-floor': { type: 'boolean', default: false },
    'node-load': { type: 'boolean', default: false },
    retries: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

/**
 * Scenarios. `metric` is the field of the round result compared; `higher` whether more is
 * better; `target` the wsx/other ratio it must reach per other implementation (>= when higher
 * is better, else <=); with `perCpu` the target applies to the per-CPU-second ratio.
 */
const SCENARIOS = {
  'echo-small': { kind: 'echo', conns: 100, depth: 16, size: 32, metric: 'msgsPerSec', unit: 'msgs/s', higher: true, target: { ws: 7, bun: 0.8 }, perCpu: true, floor: true, extra: ['p99Ms'] },
  'echo-large': { kind: 'echo', conns: 100, depth: 4, size: 16384, metric: 'mbPerSec', unit: 'MB/s', higher: true, target: { ws: 1.15 }, extra: ['msgsPerSec'] },
  'echo-text': { kind: 'echo', conns: 1000, depth: 1, size: 32, text: true, metric: 'msgsPerSec', unit: 'msgs/s', higher: true, target: { ws: 1.15 }, extra: ['p99Ms'] },
  'echo-deflate': { kind: 'echo', conns: 100, depth: 4, size: 2048, deflate: true, metric: 'msgsPerSec', unit: 'msgs/s', higher: true, target: {}, extra: ['p99Ms'] },
  memory: { kind: 'memory', conns: 10000, metric: 'rssPerConnKiB', unit: 'KiB RSS/conn', higher: false, target: { ws: 0.7, bun: 1 }, floor: true, extra: ['heapPerConnKiB'] },
  'memory-deflate': { kind: 'memory', conns: 10000, deflate: true, metric: 'rssPerConnKiB', unit: 'KiB RSS/conn', higher: false, target: {}, extra: ['heapPerConnKiB'] },
  fanout: { kind: 'fanout', conns: 1000, depth: 64, size: 64, metric: 'msgsPerSec', unit: 'deliveries/s', higher: true, target: { ws: 10, bun: 1 }, floor: true, extra: [] },
  client: { kind: 'client', conns: 50, depth: 16, size: 32, metric: 'msgsPerSec', unit: 'msgs/s', higher: true, target: { ws: 2 }, extra: [] },
  'client-large': { kind: 'client', conns: 4, depth: 2, size: 1048576, impls: ['wsx', 'ws'], metric: 'mbPerSec', unit: 'MB/s', higher: true, target: { ws: 1 }, perCpu: true, extra: [] },
};

// Scenarios with a runner of their own, run after the table as child processes with the same
// rounds: permessage-deflate per mode (wsx vs ws vs Bun, ratio, RSS per connection).
const DELEGATED = { 'deflate-modes': ['bench/deflate.mjs'] };
const asked = (opt.scenario ?? [...Object.keys(SCENARIOS), ...Object.keys(DELEGATED)]).flatMap((s) => s.split(',')).filter(Boolean);
const delegated = asked.filter((s) => s in DELEGATED);
const selected = asked.filter((s) => !(s in DELEGATED));
for (const s of selected) {
  if (!(s in SCENARIOS)) {
    console.error(`unknown scenario "${s}"; one of: ${[...Object.keys(SCENARIOS), ...Object.keys(DELEGATED)].join(', ')}`);
    process.exit(2);
  }
}
const rounds = Math.max(1, Number(opt.rounds));
const duration = Number(opt.duration);
const warmup = Number(opt.warmup);
const loadWorkers = Math.max(1, Number(opt['load-workers']));
const nCpu = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
const pin = !opt['no-pin'] && canPin(nCpu);
const serverCpu = pin ? opt['server-cpu'] : null;
const loadCpu = pin ? opt['load-cpu'] : null;
const cpuProfDir = opt['cpu-prof'] ?? null;
const retries = Math.max(0, Number(opt.retries));
const STARVED = 0.8;
if (cpuProfDir !== null) mkdirSync(cpuProfDir, { recursive: true });
const bun = opt['no-bun'] ? { skipped: '--no-bun' } : await findBun();
const wsl = opt['node-load'] ? { skipped: '--node-load' } : findWsl();
/** Whether a scenario's load runs on the C generator (it speaks no permessage-deflate). */
const useWsl = (sc) => wsl.path !== undefined && !sc.deflate;

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v) => {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
};

// ---- one measured run ----------------------------------------------------------------------

function params(sc) {
  return {
    conns: Number(opt.conns ?? sc.conns),
    depth: Number(opt.depth ?? sc.depth),
    size: Number(opt.size ?? sc.size),
  };
}

/** Runs the load child until its "end" line; samples server stats at start and end. */
async function measure(server, load) {
  const total = (warmup + duration + 120) * 1000;
  try {
    const first = await load.next((m) => m.event === 'open' || m.event === 'skipped' || m.event === 'error', 120_000);
    if (first.event === 'skipped') return { skipped: first.reason };
    if (first.event === 'error') throw new Error(first.message);
    await load.next((m) => m.event === 'start', total);
    const s0 = await serverStats(server);
    const end = await load.next((m) => m.event === 'end' || m.event === 'error', total);
    if (end.event === 'error') throw new Error(end.message);
    const s1 = await serverStats(server);
    const r = end.result;
    const cpuSec = (s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 1e6;
    // The gc() in the stats request is outside the window; the server's CPU use in the
    // window is close to cpuSec / seconds.
    r.serverCpu = cpuSec / r.seconds;
    if (s1.dropped !== undefined) r.dropped = s1.dropped - s0.dropped;
    return r;
  } finally {
    await load.stop();
  }
}

const baseline = opt.baseline === undefined ? null : pathToFileURL(`${resolve(opt.baseline)}/index.js`).href;
/** Environment that makes the wsx bench files load the baseline build. */
const baseEnv = () => ({ WSX_BENCH_DIST: baseline });

/** Starts `<impl>-<kind>.mjs` (under Bun for impl "bun"; the wsx files on the baseline build for "base"). */
function startImpl(impl, kind, args, cpu, prof) {
  const file = impl === 'base' ? `wsx-${kind}.mjs` : `${impl}-${kind}.mjs`;
  return startServer(file, args, { cpu, cpuProfDir: impl === 'wsx' && prof ? cpuProfDir : null, bun: impl === 'bun' ? bun.path : null, env: impl === 'base' ? baseEnv() : null });
}

/** Starts the load child for `mode`: the C generator when available, else bench/load/main.mjs. */
function startModeLoad(sc, mode, args) {
  if (useWsl(sc)) return startLoad('wsl-driver.mjs', ['--bin', wsl.path, '--mode', mode, ...args], { cpu: loadCpu });
  return startLoad('main.mjs', ['--mode', mode, ...args], { cpu: loadCpu });
}

async function runEcho(sc, impl, workers) {
  const p = params(sc);
  const server = await startImpl(impl, 'echo', sc.deflate ? ['--deflate'] : [], serverCpu, true);
  try {
    const args = ['--port', String(server.port), '--conns', String(p.conns), '--depth', String(p.depth), '--size', String(p.size), '--workers', String(workers), '--warmup', String(warmup), '--duration', String(duration)];
    if (sc.text) args.push('--text');
    if (sc.deflate) args.push('--deflate');
    const r = await measure(server, startModeLoad(sc, 'echo', args));
    r.server = server.ready;
    return r;
  } finally {
    await server.stop();
  }
}

async function runFanout(sc, impl, workers) {
  const p = params(sc);
  const server = await startImpl(impl, 'fanout', [], serverCpu, true);
  try {
    const args = ['--port', String(server.port), '--conns', String(p.conns), '--depth', String(p.depth), '--size', String(p.size), '--workers', String(workers), '--warmup', String(warmup), '--duration', String(duration)];
    const r = await measure(server, startModeLoad(sc, 'fanout', args));
    r.server = server.ready;
    return r;
  } finally {
    await server.stop();
  }
}

async function runMemory(sc, impl, workers) {
  const p = params(sc);
  const server = await startImpl(impl, 'echo', sc.deflate ? ['--deflate'] : [], serverCpu, false);
  try {
    await sleep(300);
    const base = await serverStats(server);
    const args = ['--port', String(server.port), '--conns', String(p.conns), '--workers', String(workers)];
    if (sc.deflate) args.push('--deflate');
    const load = startModeLoad(sc, 'hold', args);
    try {
      const first = await load.next((m) => m.event === 'open' || m.event === 'error', 180_000);
      if (first.event === 'error') throw new Error(first.message);
      // Wait (bounded) until the server counts every connection, then let it settle.
      for (let i = 0; i < 600 && (await serverStats(server)).clients < p.conns; i++) await sleep(100);
      await sleep(1000);
      const s = await serverStats(server);
      if (s.clients !== p.conns) throw new Error(`server reports ${s.clients} open connections, expected ${p.conns}`);
      const kib = (field) => (s.mem[field] - base.mem[field]) / p.conns / 1024;
      return {
        open: s.clients,
        rssPerConnKiB: kib('rss'),
        heapPerConnKiB: kib('heapUsed'),
        externalPerConnKiB: (s.mem.external - base.mem.external) / p.conns / 1024,
        rssMiB: s.mem.rss / 1048576,
        baseRssMiB: base.mem.rss / 1048576,
        errors: 0,
        server: server.ready,
      };
    } finally {
      await load.stop(10_000);
    }
  } finally {
    await server.stop(10_000);
  }
}

async function runClient(sc, impl) {
  const p = params(sc);
  // The same server for all three clients: the wsx echo server, so the client is what is measured.
  // Large messages: a backpressure limit above what is in flight, so none is dropped.
  const server = await startServer('wsx-echo.mjs', p.size > 65536 ? ['--max-backpressure', String(p.conns * (p.depth + 1) * p.size * 2)] : [], { cpu: serverCpu });
  try {
    const args = ['--impl', impl === 'base' ? 'wsx' : impl, '--port', String(server.port), '--conns', String(p.conns), '--depth', String(p.depth), '--size', String(p.size), '--warmup', String(warmup), '--duration', String(duration)];
    const r = await measure(server, startLoad('client-driver.mjs', args, { cpu: loadCpu, env: impl === 'base' ? baseEnv() : null }));
    r.loadCpu ??= NaN;
    return r;
  } finally {
    await server.stop();
  }
}

function runOnce(name, impl, workers) {
  const sc = SCENARIOS[name];
  if (sc.kind === 'echo') return runEcho(sc, impl, workers);
  if (sc.kind === 'fanout') return runFanout(sc, impl, workers);
  if (sc.kind === 'memory') return runMemory(sc, impl, workers);
  return runClient(sc, impl);
}

/** Whether the built wsx has permessage-deflate (the server accepts the option). */
async function wsxHasDeflate() {
  try {
    const { WebSocketServer } = await import('../dist/index.js');
    const s = new WebSocketServer({ noServer: true, perMessageDeflate: true });
    await s.close();
    return true;
  } catch {
    return false;
  }
}

/** Whether a round's CPU figures say another process took the CPU away from it. */
function starved(sc, res) {
  if (res.skipped || res.serverCpu === undefined || res.loadCpu === undefined) return false;
  if (sc.kind === 'client') return res.loadCpu < STARVED;
  return res.serverCpu < STARVED && res.loadCpu < STARVED;
}

// ---- the run ---------------------------------------------------------------------------------

const plan = [];
for (const name of selected) {
  const sc = SCENARIOS[name];
  const impls = [...(sc.impls ?? (sc.kind === 'client' ? ['wsx', 'ws', 'undici'] : bun.path !== undefined ? ['wsx', 'ws', 'bun'] : ['wsx', 'ws']))];
  if (baseline !== null) impls.splice(1, 0, 'base');
  // "node": the floor of a Node.js server (bench/servers/node-echo.mjs), for reference.
  if (sc.floor && !opt['no-floor']) impls.push('node');
  const variants = opt['check-load'] && SCENARIOS[name].kind !== 'client' && SCENARIOS[name].kind !== 'memory' ? [loadWorkers, loadWorkers * 2] : [loadWorkers];
  plan.push({ name, impls, variants });
}
const totalRuns = plan.reduce((s, p) => s + p.impls.length * p.variants.length * rounds, 0);
let done = 0;
const progress = (msg) => process.stderr.write(`[${String(done).padStart(String(totalRuns).length)}/${totalRuns}] ${msg}\n`);

const results = [];
const deflateAvailable = await wsxHasDeflate();
process.stderr.write(
  `wsx bench: ${selected.join(', ')}; ${rounds} rounds x ${duration} s (+${warmup} s warm-up); load workers ${loadWorkers}; ` +
    (pin ? `servers on CPU ${serverCpu}, load on CPU ${loadCpu}` : 'not pinned') +
    `; ${nCpu} CPUs, ${cpus()[0]?.model ?? '?'}, Node ${process.version}\n` +
    `load generator: ${wsl.path !== undefined ? `C (wsl, ${wsl.source}) except deflate scenarios (Node)` : `Node (bench/load; C generator not used: ${wsl.skipped})`}\n` +
    `Bun: ${bun.path !== undefined ? `${bun.version} (${bun.path})` : `not compared (${bun.skipped})`}\n`,
);

for (const { name, impls, variants } of plan) {
  const sc = SCENARIOS[name];
  for (const workers of variants) {
    const entry = { scenario: name, unit: sc.unit, metric: sc.metric, higher: sc.higher, loadWorkers: workers, params: params(sc), rounds: {}, median: {}, extra: {}, serverCpu: {}, loadCpu: {}, perCpu: {}, errors: 0, skipped: null };
    if (sc.deflate && !deflateAvailable) {
      entry.skipped = 'wsx permessage-deflate not built';
      done += impls.length * rounds;
      progress(`${name}: skipped (${entry.skipped})`);
      results.push(entry);
      continue;
    }
    for (const impl of impls) entry.rounds[impl] = [];
    outer: for (let r = 1; r <= rounds; r++) {
      for (const impl of impls) {
        if (entry.rounds[impl] === null) {
          done++;
          continue;
        }
        let res;
        try {
          res = await runOnce(name, impl, workers);
          // A round in which the process under test got well under a CPU while nothing else
          // of ours was saturated was starved by other processes: run it again (bounded).
          for (let retry = 0; retry < retries && starved(sc, res); retry++) {
            progress(`${name} ${impl} round ${r}/${rounds}: ${fmt(res[sc.metric])} ${sc.unit} looks starved (server CPU ${(res.serverCpu * 100).toFixed(0)}%, load CPU ${(res.loadCpu * 100).toFixed(0)}%), running it again`);
            entry.discarded = [...(entry.discarded ?? []), { impl, round: r, result: res }];
            res = await runOnce(name, impl, workers);
          }
        } catch (err) {
          done++;
          progress(`${name} ${impl} round ${r}/${rounds}: FAILED ${err.message}`);
          entry.errors++;
          entry.failures = [...(entry.failures ?? []), `${impl}: ${err.message}`];
          continue;
        }
        done++;
        if (res.skipped) {
          progress(`${name} ${impl}: skipped (${res.skipped})`);
          entry.rounds[impl] = null;
          if (impl === 'wsx') {
            entry.skipped = `skipped: ${res.skipped}`;
            done += (rounds - r) * impls.length + (impls.length - 1 - impls.indexOf(impl));
            break outer;
          }
          continue;
        }
        entry.rounds[impl].push(res);
        entry.errors += res.errors ?? 0;
        const extra = sc.extra.map((k) => `${k} ${fmt(res[k])}`).join(', ');
        const cpuNote = res.serverCpu !== undefined ? `, server CPU ${(res.serverCpu * 100).toFixed(0)}%, load CPU ${(res.loadCpu * 100).toFixed(0)}%` : '';
        progress(`${name}${variants.length > 1 ? ` (${workers} load workers)` : ''} ${impl} round ${r}/${rounds}: ${fmt(res[sc.metric])} ${sc.unit}${extra ? `, ${extra}` : ''}${cpuNote}${sc.deflate && res.compressed !== undefined ? `, ${res.compressed} compressed frames seen` : ''}${res.errors ? `, ${res.errors} ERRORS` : ''}${res.dropped ? `, ${res.dropped} dropped` : ''}`);
      }
    }
    if (entry.skipped === null) {
      for (const impl of impls) {
        const rs = entry.rounds[impl];
        if (!rs || rs.length === 0) continue;
        entry.median[impl] = median(rs.map((x) => x[sc.metric]));
        entry.extra[impl] = Object.fromEntries(sc.extra.map((k) => [k, median(rs.map((x) => x[k]))]));
        if (rs[0].serverCpu !== undefined) entry.serverCpu[impl] = median(rs.map((x) => x.serverCpu));
        if (rs[0].loadCpu !== undefined) entry.loadCpu[impl] = median(rs.map((x) => x.loadCpu));
        // Work per CPU-second of the process under test (the server; the client process in
        // the client scenario): robust when other processes steal CPU time on a shared machine.
        const cpuField = sc.kind === 'client' ? 'loadCpu' : 'serverCpu';
        if (rs[0][cpuField] !== undefined) entry.perCpu[impl] = median(rs.map((x) => x[sc.metric] / x[cpuField]));
      }
      entry.native = entry.rounds.ws?.[0]?.server?.native;
      entry.comparisons = impls.slice(1).map((other) => {
        const ratio = entry.median.wsx / entry.median[other];
        const target = sc.target[other] ?? null;
        const cpuRatio = entry.perCpu.wsx !== undefined ? entry.perCpu.wsx / entry.perCpu[other] : null;
        const judged = sc.perCpu && cpuRatio !== null ? cpuRatio : ratio;
        const met = target === null || Number.isNaN(judged) ? null : sc.higher ? judged >= target : judged <= target;
        return { vs: other, ratio, cpuRatio, target, targetOp: sc.higher ? '>=' : '<=', targetOn: sc.perCpu && cpuRatio !== null ? 'per-CPU' : 'ratio', met };
      });
    }
    results.push(entry);
  }
}

// ---- report ----------------------------------------------------------------------------------

const machine = { cpus: nCpu, model: cpus()[0]?.model ?? '?', node: process.version, pinned: pin, rounds, duration, warmup, loadWorkers, load: wsl.path !== undefined ? 'wsl (C)' : 'node', bun: bun.version ?? null, bunSkipped: bun.skipped ?? null };

if (opt.json) {
  process.stdout.write(JSON.stringify({ machine, results }, null, 2) + '\n');
} else {
  const rows = [['scenario', 'unit', 'wsx', 'other', 'ratio', 'target', 'status', 'per-CPU ratio', 'notes']];
  for (const e of results) {
    const label = e.scenario + (opt['check-load'] && e.loadWorkers !== loadWorkers ? ` (x2 load)` : '');
    if (e.skipped) {
      rows.push([label, e.unit, '-', '-', '-', '-', e.skipped, '-', '']);
      continue;
    }
    for (const c of e.comparisons) {
      const notes = [];
      for (const impl of ['wsx', c.vs]) {
        const x = e.extra[impl] ?? {};
        for (const [k, v] of Object.entries(x)) notes.push(`${impl} ${k} ${fmt(v)}`);
        if (e.serverCpu[impl] !== undefined) notes.push(`${impl} srv ${(e.serverCpu[impl] * 100).toFixed(0)}%/load ${(e.loadCpu[impl] * 100).toFixed(0)}% CPU`);
      }
      if (e.errors) notes.push(`${e.errors} errors`);
      rows.push([
        label,
        e.unit,
        fmt(e.median.wsx),
        `${c.vs} ${fmt(e.median[c.vs])}`,
        Number.isNaN(c.ratio) ? '-' : `${c.ratio.toFixed(2)}x`,
        c.target === null ? '(none)' : `${c.targetOp} ${c.target}x${c.targetOn === 'per-CPU' ? ' per CPU' : ''}`,
        c.met === null ? '-' : c.met ? 'met' : 'NOT MET',
        c.cpuRatio === null || c.cpuRatio === undefined || Number.isNaN(c.cpuRatio) ? '-' : `${c.cpuRatio.toFixed(2)}x`,
        notes.join('; '),
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === r.length - 1 ? c : String(c).padEnd(widths[i]))).join('  ');
  console.log(`\nMachine: ${machine.cpus} CPUs (${machine.model}), Node ${machine.node}; ${pin ? 'server and load pinned to separate CPUs' : 'not pinned'}; median of ${rounds} rounds x ${duration} s`);
  console.log(`Load generator: ${wsl.path !== undefined ? 'C (wsl) except deflate scenarios (Node)' : `Node (${wsl.skipped})`}; Bun: ${bun.version ?? `not compared (${bun.skipped})`}`);
  const native = results.find((e) => e.native)?.native;
  if (native) console.log(`ws helpers: bufferutil ${native.bufferutil}; UTF-8 validation ${native.utf8}`);
  console.log('');
  console.log(line(rows[0]));
  console.log(line(rows[0].map((_, i) => (i === rows[0].length - 1 ? '-----' : '-'.repeat(widths[i])))));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(
    '\nratio = wsx/other of the medians (for memory, lower is better). per-CPU ratio = the same per CPU-second used by the process\n' +
      'under test (server; client process for "client"); it is steadier when other processes share the CPUs. srv/load CPU:\n' +
      "cores used by the server and the load generator; a server well under 100% means it was starved or not the bottleneck.",
  );
  if (opt['check-load']) {
    console.log('\nLoad check: ratios with N and 2N load workers (they should agree if the load generator is not the bottleneck):');
    for (const name of selected) {
      const es = results.filter((e) => e.scenario === name && !e.skipped && e.comparisons);
      if (es.length < 2) continue;
      console.log(`  ${name}: ${es.map((e) => `${e.loadWorkers} workers ${e.comparisons[0].ratio.toFixed(2)}x (wsx ${fmt(e.median.wsx)}, ws ${fmt(e.median.ws)})`).join('; ')}`);
    }
  }
}
let failed = results.some((e) => e.errors > 0);
for (const name of delegated) {
  console.error(`\n== ${name}: node ${DELEGATED[name].join(' ')} --rounds ${rounds}`);
  const child = spawnSync(process.execPath, [...DELEGATED[name], '--rounds', String(rounds), ...(opt.json ? ['--json'] : [])], { stdio: 'inherit' });
  if (child.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
