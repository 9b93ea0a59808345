#!/usr/bin/env node
// `npm run bench:abuse`: what one attacking connection costs a server, wsx beside ws in the
// same run. For each flood, each implementation's server runs in a fresh child process (so the
// RSS is its own), the attacker is a raw TCP client in another child (bench/load/abuser.mjs),
// and an honest client in this process keeps echoing 32 B messages, one at a time, for as long
// as the flood runs. Reported per flood, medians over the rounds (implementations alternate):
// the server's RSS growth (peak sampled every 5 ms during the flood, minus the RSS after gc
// before it), the honest echo latency p50/p99, and how the attack ended. The goal printed beside
// each is maxPayload + 1 MiB of growth for the one attacking connection.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { killChildren, startLoad, startServer } from './lib/procs.mjs';

const MiB = 1024 * 1024;
const FLOODS = {
  a: { what: 'one message as 4,000,000 one-byte continuation frames', maxPayload: 16 * MiB },
  b: { what: '1,000,000 one-byte fragments, maxPayload 1 MiB', maxPayload: 1 * MiB },
  c: { what: '10,000,000 empty fragments', maxPayload: 16 * MiB },
  d: { what: '2,000,000 pings from a peer that never reads', maxPayload: 16 * MiB, reads: false },
  e: { what: '200 sends of 100 KB, permessage-deflate, to a client that never reads', maxPayload: 16 * MiB, deflate: true, reads: false },
  f: { what: 'decompression bomb: one frame inflating to 1 GiB', maxPayload: 16 * MiB, deflate: true },
};

const HELP = `Usage: node bench/abuse.mjs [options]   (npm run bench:abuse -- [options])

Floods (default: all), each from one raw TCP connection, servers at maxPayload 16 MiB unless said:
${Object.entries(FLOODS)
  .map(([k, f]) => `  ${k}  ${f.what}`)
  .join('\n')}

Options:
  --flood <list>      floods to run, e.g. a,d,f (default a,b,c,d,e,f)
  --rounds <n>        rounds per implementation, alternated (default 3)
  --timeout <s>       longest a flood may run before the attacker gives up (default 20)
  --settle <ms>       for floods that never read: time left after the last write, so the
                      server's queue reaches its size (default 1000)
  --heap <MiB>        --max-old-space-size of the server children (default 2048)
  --json              print the results as JSON on stdout
  -h, --help          this help`;

const { values: opt } = parseArgs({
  options: {
    flood: { type: 'string', default: Object.keys(FLOODS).join(',') },
    rounds: { type: 'string', default: '3' },
    timeout: { type: 'string', default: '20' },
    settle: { type: 'string', default: '1000' },
    heap: { type: 'string', default: '2048' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}
const floods = opt.flood.split(',').map((s) => s.trim()).filter(Boolean);
for (const f of floods) if (!(f in FLOODS)) throw new Error(`unknown flood "${f}" (a to f)`);
const rounds = Number(opt.rounds);
const timeoutMs = Number(opt.timeout) * 1000;
const settleMs = Number(opt.settle);
const log = (s) => process.stderr.write(s + '\n');
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

/** Echoes 32 B messages one at a time until `stop()`; resolves with the latencies (ms). */
function honestEcho(ws) {
  const latencies = [];
  let stopped = false;
  let wake = null;
  const payload = Buffer.alloc(32, 7);
  ws.on('message', () => wake?.());
  const done = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const echoed = new Promise((resolve) => (wake = resolve));
      ws.send(payload);
      await echoed;
      if (!stopped || latencies.length === 0) latencies.push(performance.now() - t0);
    }
    return latencies;
  })();
  return {
    stop: () => {
      stopped = true;
      wake?.();
      return done;
    },
  };
}

async function runOne(flood, impl) {
  const f = FLOODS[flood];
  const args = ['--impl', impl, '--max-payload', String(f.maxPayload), ...(f.deflate ? ['--deflate'] : [])];
  const server = await startServer('abuse-target.mjs', args, { nodeFlags: [`--max-old-space-size=${opt.heap}`] });
  let attacker = null;
  let honest = null;
  let echo = null;
  try {
    honest = new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: false });
    honest.on('error', () => {});
    await new Promise((resolve, reject) => {
      honest.once('open', resolve);
      honest.once('error', reject);
    });
    const warm = honestEcho(honest);
    await new Promise((r) => setTimeout(r, 200));
    await warm.stop();
    honest.removeAllListeners('message');
    server.send('mark');
    await server.next((m) => m.type === 'marked', 15_000);
    echo = honestEcho(honest);
    attacker = startLoad('abuser.mjs', [String(server.port), flood, String(timeoutMs)]);
    // The attacker's own set-up (e.g. compressing the bomb) happens before it connects.
    const result = await attacker.next((m) => m.type === 'flooded', timeoutMs + 60_000);
    if (f.reads === false) await new Promise((r) => setTimeout(r, settleMs));
    server.send('peak');
    const peak = await server.next((m) => m.type === 'peak', 30_000);
    const latencies = (await echo.stop()).sort((a, b) => a - b);
    echo = null;
    const outcome = result.closedBy !== null ? `closed ${result.closedBy}` : result.socketClosed ? 'dropped' : result.timedOut ? 'timed out' : 'served';
    return { growth: peak.peak - peak.baseline, retained: peak.now - peak.baseline, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), echoes: latencies.length, outcome, ms: result.ms };
  } catch (err) {
    return { growth: NaN, retained: NaN, p50: NaN, p99: NaN, echoes: 0, outcome: server.exited ? 'server died' : `error: ${err.message.split('\n')[0]}`, ms: NaN };
  } finally {
    if (echo !== null) await Promise.race([echo.stop(), new Promise((r) => setTimeout(r, 100))]);
    honest?.terminate();
    await attacker?.stop(1000);
    await server.stop(2000);
  }
}

const results = {};
for (const flood of floods) {
  results[flood] = { wsx: [], ws: [] };
  for (let r = 0; r < rounds; r++) {
    for (const impl of r % 2 === 0 ? ['wsx', 'ws'] : ['ws', 'wsx']) {
      const one = await runOne(flood, impl);
      results[flood][impl].push(one);
      log(`${flood} round ${r + 1} ${impl}: growth ${(one.growth / MiB).toFixed(1)} MiB, echo p50 ${one.p50?.toFixed(2)} ms p99 ${one.p99?.toFixed(2)} ms (${one.echoes} echoes), ${one.outcome}, ${one.ms} ms`);
    }
  }
}

const mib = (x) => (Number.isFinite(x) ? (x / MiB).toFixed(1) : '—');
const ms = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const summary = floods.map((flood) => {
  const f = FLOODS[flood];
  const goal = f.maxPayload + MiB;
  const row = { flood, what: f.what, goalBytes: goal };
  for (const impl of ['wsx', 'ws']) {
    const runs = results[flood][impl];
    row[impl] = {
      growthBytes: median(runs.map((x) => x.growth)),
      retainedBytes: median(runs.map((x) => x.retained)),
      p50: median(runs.map((x) => x.p50)),
      p99: median(runs.map((x) => x.p99)),
      outcomes: [...new Set(runs.map((x) => x.outcome))].join(', '),
    };
  }
  row.wsxWithinGoal = row.wsx.growthBytes <= goal;
  return row;
});

if (opt.json) {
  console.log(JSON.stringify({ rounds, timeoutMs, results: summary }, null, 2));
} else {
  const lines = [
    `abuse floods, one attacking connection each; medians of ${rounds} rounds; RSS growth = peak during the flood - RSS after gc before it`,
    '',
    'flood  goal MiB  wsx MiB  ws MiB   wsx echo p50/p99 ms  ws echo p50/p99 ms  wsx ends         ws ends',
    ...summary.map(
      (r) =>
        `${r.flood.padEnd(6)} ${mib(r.goalBytes).padStart(8)} ${(mib(r.wsx.growthBytes) + (r.wsxWithinGoal ? ' ' : '!')).padStart(8)} ${mib(r.ws.growthBytes).padStart(7)}   ${`${ms(r.wsx.p50)}/${ms(r.wsx.p99)}`.padStart(18)}  ${`${ms(r.ws.p50)}/${ms(r.ws.p99)}`.padStart(18)}  ${r.wsx.outcomes.padEnd(15)}  ${r.ws.outcomes}`,
    ),
    '',
    ...summary.map((r) => `${r.flood}: ${r.what}`),
    "'!' marks wsx over its goal (maxPayload + 1 MiB).",
  ];
  console.log(lines.join('\n'));
}
