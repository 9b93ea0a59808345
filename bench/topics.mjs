// Durable vs ephemeral topics, in the same run: one node (durable history in memory), and
// two nodes through a real redis-server (ephemeral: RedisAdapter pub/sub; durable:
// RedisHistory on Redis Streams). One publisher on node A keeps DEPTH messages ahead of what
// the first subscriber has seen; SUBS subscribers (ws clients) on node B (on A with one node).
// Reports deliveries/s over all subscribers, p50/p99 delivery latency (publish → receive),
// and the process's RSS growth, as medians over ROUNDS rounds that alternate the order.
//
//   npm run bench:topics -- [--subscribers 50] [--seconds 3] [--rounds 3] [--depth 64] [--size 64]
//
// Servers and clients share this process (and its CPU): compare the rows with each other,
// not with other benchmarks. Needs redis-server on PATH for the two-node rows.
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { WebSocketServer } from "../dist/index.js";
import { RedisAdapter, RedisHistory } from "../dist/redis/index.js";
import { startRedis } from "./lib/redis.mjs";

const { values } = parseArgs({
  options: { subscribers: { type: "string" }, seconds: { type: "string" }, rounds: { type: "string" }, depth: { type: "string" }, size: { type: "string" }, json: { type: "boolean" } },
});
const SUBS = Number(values.subscribers ?? 50);
const SECONDS = Number(values.seconds ?? 3);
const ROUNDS = Number(values.rounds ?? 3);
const DEPTH = Number(values.depth ?? 64);
const PAD = "x".repeat(Math.max(0, Number(values.size ?? 64) - 30));

process.on("SIGINT", () => process.exit(130));

/** One wsx node; `kind` decides how topic "bench" travels. */
async function startNode(kind, redisUrl) {
  const durable = kind.startsWith("durable");
  const extra = {};
  let history = null;
  if (redisUrl !== null && durable) history = new RedisHistory({ url: redisUrl, maxCount: 10_000 });
  if (redisUrl !== null && !durable) extra.adapter = new RedisAdapter({ url: redisUrl });
  if (history !== null) {
    history.on("error", () => {});
    await history.ready();
  }
  if (extra.adapter) {
    extra.adapter.on("error", () => {});
    await extra.adapter.ready();
  }
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    ...extra,
    ...(durable ? { topics: { durable: ["bench"], ...(history !== null ? { history } : {}) } } : {}),
    open: (ws) => void ws.subscribe("bench"),
  });
  await wss.ready();
  return wss;
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(scenario, redisUrl) {
  const kind = scenario.durable ? "durable" : "ephemeral";
  const a = await startNode(kind, scenario.nodes === 2 ? redisUrl : null);
  const b = scenario.nodes === 2 ? await startNode(kind, redisUrl) : a;
  const clients = [];
  const latencies = [];
  let firstSeen = 0;
  let deliveries = 0;
  let measuring = false;
  let wake = null;
  for (let k = 0; k < SUBS; k++) {
    const ws = new WebSocket(`ws://127.0.0.1:${b.port}/`);
    ws.on("message", (d) => {
      const f = JSON.parse(d);
      const m = f.op === "msg" ? f.data : f;
      if (m === undefined || m.t === undefined) return;
      if (measuring) {
        deliveries++;
        if (deliveries % 4 === 0) latencies.push(performance.now() - m.t);
      }
      if (k === 0) {
        firstSeen++;
        wake?.();
      }
    });
    await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
    clients.push(ws);
  }
  while (b.subscriberCount("bench") < SUBS) await new Promise((r) => setTimeout(r, 10));
  // Two nodes: let node A's adapter/reader see the topic before measuring.
  await new Promise((r) => setTimeout(r, 200));
  let sent = 0;
  const publish = () => {
    const data = { t: performance.now(), i: sent++, pad: PAD };
    if (scenario.durable) a.publishDurable("bench", data).catch(() => {});
    else a.publish("bench", JSON.stringify(data));
  };
  const rssBefore = process.memoryUsage().rss;
  const until = performance.now() + SECONDS * 1000;
  let started = 0;
  // Warm-up of half a second, then measure.
  const warm = performance.now() + 500;
  while (performance.now() < until + 500) {
    if (!measuring && performance.now() >= warm) {
      measuring = true;
      started = performance.now();
    }
    while (sent - firstSeen < DEPTH) publish();
    await new Promise((r) => {
      wake = r;
      setTimeout(r, 50);
    });
    wake = null;
  }
  const elapsed = (performance.now() - started) / 1000;
  measuring = false;
  const rss = process.memoryUsage().rss - rssBefore;
  for (const ws of clients) ws.terminate();
  await a.close();
  if (b !== a) await b.close();
  latencies.sort((x, y) => x - y);
  return { rate: deliveries / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), rss };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
};

const scenarios = [
  { name: "1 node, ephemeral", nodes: 1, durable: false },
  { name: "1 node, durable (memory)", nodes: 1, durable: true, base: "1 node, ephemeral" },
  { name: "2 nodes, ephemeral (Redis pub/sub)", nodes: 2, durable: false },
  { name: "2 nodes, durable (Redis Streams)", nodes: 2, durable: true, base: "2 nodes, ephemeral (Redis pub/sub)" },
];
let redis = null;
try {
  redis = await startRedis();
} catch (e) {
  console.error(`redis-server unavailable (${e.message}): two-node rows skipped`);
}
const results = new Map(scenarios.map((s) => [s.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
  for (const s of order) {
    if (s.nodes === 2 && redis === null) continue;
    results.get(s.name).push(await run(s, redis?.url ?? null));
  }
}
redis?.stop();
const rows = scenarios
  .filter((s) => results.get(s.name).length > 0)
  .map((s) => {
    const r = results.get(s.name);
    return { scenario: s.name, deliveriesPerSec: Math.round(median(r.map((x) => x.rate))), p50ms: +median(r.map((x) => x.p50)).toFixed(2), p99ms: +median(r.map((x) => x.p99)).toFixed(2), rssGrowthMiB: +(median(r.map((x) => x.rss)) / 2 ** 20).toFixed(1) };
  });
const byName = new Map(rows.map((r) => [r.scenario, r]));
for (const s of scenarios) {
  const r = byName.get(s.name);
  const eph = s.base !== undefined ? byName.get(s.base) : undefined;
  if (r !== undefined && eph !== undefined) r.vsEphemeral = +(r.deliveriesPerSec / eph.deliveriesPerSec).toFixed(2);
}
if (values.json) console.log(JSON.stringify({ subscribers: SUBS, seconds: SECONDS, rounds: ROUNDS, depth: DEPTH, rows }));
else {
  console.log(`topics: ${SUBS} subscribers, ${SECONDS} s per run, ${ROUNDS} rounds (medians), ${DEPTH} messages in flight, ~${PAD.length + 30} B each`);
  console.table(rows);
}
process.exit(0);
