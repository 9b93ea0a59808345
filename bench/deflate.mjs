#!/usr/bin/env node
// `npm run bench:deflate`: permessage-deflate, wsx against ws (and Bun when a `bun` binary is
// found) in the same run, per compression mode, alternating implementations round by round;
// medians and ratios. Two measures per mode:
//   echo    100 conns x 4 in flight, ~1 KiB JSON chat messages sent pre-compressed by a cheap
//           client (bench/load/deflate-load.mjs); the server inflates each and echoes it
//           compressed: msgs/s, p99, and the compression ratio of what the server sent.
//   memory  1,000 conns after one message each (echoed): server RSS and heap per connection,
//           after a full GC.
// The server runs pinned to one CPU (taskset -c 0), the load on another (-c 1).
// See docs/PERFORMANCE.md ("Compression") and `node bench/deflate.mjs --help`.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HELP = `Usage: node bench/deflate.mjs [options]   (npm run bench:deflate -- [options])

Options:
  --modes <list>       off,default,recompress,takeover,no-takeover,client-takeover,small-window
                       (default: all; off = no compression, the baseline; recompress =
                       default, but wsx compresses every echo again instead of relaying the
                       client's payload)
  --measures <list>    echo,memory (default: both)
  --rounds <n>         rounds per implementation, alternated (default 3)
  --duration <s>       measured seconds per echo round (default 4)
  --warmup <s>         warm-up seconds (default 1)
  --conns <n>          echo connections (default 100)
  --depth <n>          echo messages in flight per connection (default 4)
  --mem-conns <n>      memory connections (default 1000)
  --impls <list>       wsx,ws,bun (default: wsx,ws and bun when found)
  --bun <path>         the bun binary (default: $BUN, else bench/lib/bun.mjs's findBun, else bun on PATH)
  --wsx-dist <dir>     an extra implementation "wsx-before": another wsx build (e.g. an older
                       commit's dist/), for before/after tables
  --no-pin             do not pin with taskset
  --json               print results as JSON on stdout
  -h, --help           this help`;

const { values: opt } = parseArgs({
  options: {
    modes: { type: 'string', default: 'off,default,recompress,takeover,no-takeover,client-takeover,small-window' },
    measures: { type: 'string', default: 'echo,memory' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    conns: { type: 'string', default: '100' },
    depth: { type: 'string', default: '4' },
    'mem-conns': { type: 'string', default: '1000' },
    impls: { type: 'string' },
    bun: { type: 'string' },
    'wsx-dist': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const log = (m) => process.stderr.write(m + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v, d = 1) => (v === undefined || Number.isNaN(v) ? '-' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(d));

// ---- Bun (optional) ---------------------------------------------------------------------------

/** The bun binary: --bun, $BUN, the shared helper bench/lib/bun.mjs (if present), or PATH. */
async function findBun() {
  if (opt.bun) return opt.bun;
  if (process.env.BUN) return process.env.BUN;
  const helper = here('./lib/bun.mjs');
  if (existsSync(helper)) {
    try {
      // { path, version } or { skipped }: installs the pinned Bun on demand into .bench-cache/.
      const found = await (await import(helper)).findBun();
      if (found?.path) return found.path;
      if (found?.skipped) log(`bun: ${found.skipped}`);
    } catch {}
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'bun');
    if (dir && existsSync(p)) return p;
  }
  return null;
}

// ---- child processes ------------------------------------------------------------------------

const nCpu = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
const pin = !opt['no-pin'] && nCpu >= 2 && spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
const live = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const p of live) p.kill('SIGKILL');
    process.exit(130);
  });
}

/** A child speaking JSON lines on stdout. */
function child(cmd, args, cpu, label) {
  const [c, argv] = pin && cpu !== null ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  const proc = spawn(c, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(proc);
  const backlog = [];
  const waiters = [];
  let stderr = '';
  let exited = false;
  proc.stdin.on('error', () => {});
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    const i = waiters.findIndex((w) => w.pred(m));
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(m);
    } else backlog.push(m);
  });
  const exit = once(proc, 'exit');
  proc.on('exit', (code) => {
    exited = true;
    live.delete(proc);
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`${label} exited (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    }
  });
  return {
    next(pred, ms) {
      const i = backlog.findIndex(pred);
      if (i >= 0) return Promise.resolve(backlog.splice(i, 1)[0]);
      if (exited) return Promise.reject(new Error(`${label} has exited: ${stderr.trim()}`));
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, reject };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${label}: timed out after ${ms} ms`));
        }, ms);
        waiters.push(w);
      });
    },
    send(line) {
      if (!exited) proc.stdin.write(line + '\n');
    },
    async stop(word) {
      if (exited) return;
      this.send(word);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    },
  };
}

let bunPath = null;
async function startServer(impl, mode) {
  const server =
    impl === 'bun'
      ? child(bunPath, [here('./servers/bun-echo.mjs'), '--mode', mode], 0, 'server bun')
      : child(process.execPath, ['--expose-gc', here('./servers/deflate-echo.mjs'), '--impl', impl === 'wsx-before' ? 'wsx' : impl, '--mode', mode, ...(impl === 'wsx-before' ? ['--dist', opt['wsx-dist']] : [])], 0, `server ${impl}`);
  server.ready = await server.next((m) => m.type === 'ready', 15_000);
  return server;
}
const stats = (server) => {
  server.send('stats');
  return server.next((m) => m.type === 'stats', 15_000);
};
const load = (args) => child(process.execPath, [here('./load/deflate-load.mjs'), ...args], 1, 'load');

async function runEcho(impl, mode) {
  const server = await startServer(impl, mode);
  try {
    const l = load(['--mode', 'echo', '--port', String(server.ready.port), '--conns', opt.conns, '--depth', opt.depth, '--warmup', opt.warmup, '--duration', opt.duration]);
    await l.next((m) => m.event === 'open' || m.event === 'error', 60_000).then((m) => {
      if (m.event === 'error') throw new Error(m.message);
    });
    await l.next((m) => m.event === 'start', 60_000);
    const s0 = await stats(server);
    const end = await l.next((m) => m.event === 'end' || m.event === 'error', (Number(opt.duration) + 60) * 1000);
    if (end.event === 'error') throw new Error(end.message);
    const s1 = await stats(server);
    const r = end.result;
    r.serverCpu = (s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 1e6 / r.seconds;
    return r;
  } finally {
    await server.stop('exit');
  }
}

async function runMemory(impl, mode) {
  const server = await startServer(impl, mode);
  try {
    await sleep(300);
    const base = await stats(server);
    const n = Number(opt['mem-conns']);
    const l = load(['--mode', 'memory', '--port', String(server.ready.port), '--conns', String(n)]);
    try {
      const m = await l.next((x) => x.event === 'open' || x.event === 'error', 180_000);
      if (m.event === 'error') throw new Error(m.message);
      await sleep(500);
      const s = await stats(server);
      if (s.clients !== n) throw new Error(`server reports ${s.clients} connections, expected ${n}`);
      const kib = (f) => (s.mem[f] - base.mem[f]) / n / 1024;
      return { rssPerConnKiB: kib('rss'), heapPerConnKiB: kib('heapUsed'), heapTotalPerConnKiB: kib('heapTotal'), externalPerConnKiB: kib('external'), errors: m.errors, ext: m.ext };
    } finally {
      await l.stop('stop');
    }
  } finally {
    await server.stop('exit');
  }
}

// ---- the run --------------------------------------------------------------------------------

const modes = opt.modes.split(',').filter(Boolean);
const measures = opt.measures.split(',').filter(Boolean);
const rounds = Math.max(1, Number(opt.rounds));
let impls = opt.impls ? opt.impls.split(',') : ['wsx', 'ws', 'bun'];
if (opt['wsx-dist'] && !impls.includes('wsx-before')) impls.splice(1, 0, 'wsx-before');
if (impls.includes('bun')) {
  bunPath = await findBun();
  if (bunPath === null) {
    impls = impls.filter((i) => i !== 'bun');
    log('bun: not found (--bun, $BUN, bench/lib/bun.mjs or PATH); comparing wsx and ws only');
  }
}
log(`wsx deflate bench: modes ${modes.join(', ')}; ${measures.join(' + ')}; ${impls.join(' vs ')}; ${rounds} rounds; ${pin ? 'server on CPU 0, load on CPU 1' : 'not pinned'}; ${nCpu} CPUs, Node ${process.version}`);

const results = [];
for (const measure of measures) {
  for (const mode of modes) {
    const entry = { measure, mode, rounds: Object.fromEntries(impls.map((i) => [i, []])), median: {}, failures: [] };
    for (let r = 1; r <= rounds; r++) {
      for (const impl of impls) {
        try {
          const res = measure === 'echo' ? await runEcho(impl, mode) : await runMemory(impl, mode);
          entry.rounds[impl].push(res);
          if (res.errors) entry.failures.push(`${impl}: ${res.errors} wrong echoes`);
          log(
            measure === 'echo'
              ? `echo ${mode} ${impl} ${r}/${rounds}: ${fmt(res.msgsPerSec)} msgs/s, ratio ${fmt(res.ratio, 2)}, p99 ${fmt(res.p99Ms, 2)} ms, srv CPU ${fmt(res.serverCpu * 100, 0)}%, load CPU ${fmt(res.loadCpu * 100, 0)}%, ${res.checked} checked, ${res.errors} errors [${res.ext}]`
              : `memory ${mode} ${impl} ${r}/${rounds}: ${fmt(res.rssPerConnKiB)} KiB RSS/conn, heap ${fmt(res.heapPerConnKiB)} KiB/conn (total ${fmt(res.heapTotalPerConnKiB)}), external ${fmt(res.externalPerConnKiB)} KiB/conn [${res.ext}]`,
          );
        } catch (err) {
          entry.failures.push(`${impl}: ${err.message}`);
          log(`${measure} ${mode} ${impl} ${r}/${rounds}: FAILED ${err.message}`);
        }
      }
    }
    for (const impl of impls) {
      const rs = entry.rounds[impl];
      if (rs.length === 0) continue;
      for (const x of rs) if (measure === 'echo') x.perCpu = x.msgsPerSec / x.serverCpu;
      const keys = measure === 'echo' ? ['msgsPerSec', 'perCpu', 'ratio', 'p99Ms', 'serverCpu'] : ['rssPerConnKiB', 'heapPerConnKiB', 'externalPerConnKiB'];
      entry.median[impl] = Object.fromEntries(keys.map((k) => [k, median(rs.map((x) => x[k]))]));
      entry.median[impl].ext = rs[0].ext;
    }
    results.push(entry);
  }
}

if (opt.json) {
  process.stdout.write(JSON.stringify({ machine: { cpus: nCpu, model: cpus()[0]?.model, node: process.version, pinned: pin, rounds }, results }, null, 2) + '\n');
} else {
  const others = impls.filter((i) => i !== 'wsx');
  const rows = [];
  for (const e of results) {
    const w = e.median.wsx;
    const cells = [e.measure, e.mode];
    const metric = e.measure === 'echo' ? 'msgsPerSec' : 'rssPerConnKiB';
    const cell = (m) => (m ? `${fmt(m[metric])}${e.measure === 'echo' ? ` (${fmt(m.perCpu)}/CPU-s, ratio ${fmt(m.ratio, 2)})` : ` (heap ${fmt(m.heapPerConnKiB)})`}` : '-');
    cells.push(cell(w));
    for (const o of others) {
      const m = e.median[o];
      cells.push(cell(m));
      cells.push(m && w ? `${(w[metric] / m[metric]).toFixed(2)}x${e.measure === 'echo' ? ` (${(w.perCpu / m.perCpu).toFixed(2)}x/CPU)` : ''}` : '-');
    }
    cells.push(e.failures.join('; '));
    rows.push(cells);
  }
  const head = ['measure', 'mode', 'wsx', ...others.flatMap((o) => [o, `wsx/${o}`]), 'notes'];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  console.log(`\nMachine: ${nCpu} CPUs (${cpus()[0]?.model}), Node ${process.version}; ${pin ? 'server CPU 0, load CPU 1' : 'not pinned'}; median of ${rounds} rounds`);
  console.log('echo: msgs/s (msgs per server CPU-second; compression ratio = payload bytes / wire bytes of what the server sent); memory: KiB RSS per connection (heap)\n');
  for (const r of all) console.log(r.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  '));
}
process.exitCode = results.some((e) => e.failures.length > 0) ? 1 : 0;
