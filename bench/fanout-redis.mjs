// Fan-out through Redis: two wsx node processes share topic "t" through a real
// redis-server; subscribers are split across both nodes; one publisher on node A keeps
// DEPTH messages ahead of what its own node's first subscriber has seen. Reports
// deliveries/s over all subscribers and the p50/p99 delivery latency (publish → receive),
// next to the same load on a single in-memory node.
//
//   npm run build && node bench/fanout-redis.mjs [--subscribers 1000] [--seconds 5] [--size 64] [--depth 64]
//
// Needs redis-server on PATH. Not part of npm test.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { startRedis } from "./lib/redis.mjs";

const { values } = parseArgs({
  options: { subscribers: { type: "string" }, seconds: { type: "string" }, size: { type: "string" }, depth: { type: "string" }, json: { type: "boolean" } },
});
const SUBS = Number(values.subscribers ?? 1000);
const SECONDS = Number(values.seconds ?? 5);
const SIZE = Math.max(16, Number(values.size ?? 64));
const DEPTH = Number(values.depth ?? 64);
const NODE = fileURLToPath(new URL("./servers/redis-node.mjs", import.meta.url));
const children = new Set();
const cleanup = () => {
  for (const c of children) c.kill("SIGKILL");
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

function start(cmd, args, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    children.add(child);
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.on("exit", () => children.delete(child));
  });
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function run(label, ports) {
  const subscribers = [];
  for (let i = 0; i < SUBS; i++) subscribers.push(await open(`ws://127.0.0.1:${ports[i % ports.length]}/sub`));
  const publisher = await open(`ws://127.0.0.1:${ports[0]}/pub`);
  await new Promise((r) => setTimeout(r, 500)); // subscriptions reach Redis
  let deliveries = 0;
  let measuring = false;
  const latencies = [];
  let sentSeq = 0;
  let firstSeen = 0;
  const payload = Buffer.alloc(SIZE);
  const publish = () => {
    while (sentSeq - firstSeen < DEPTH) {
      payload.writeDoubleLE(performance.now(), 0);
      payload.writeUInt32LE(++sentSeq, 8);
      publisher.send(payload);
    }
  };
  subscribers.forEach((ws, i) => {
    ws.on("message", (data) => {
      if (measuring) {
        deliveries++;
        if (deliveries % 97 === 0) latencies.push(performance.now() - data.readDoubleLE(0));
      }
      if (i === 0) {
        firstSeen = data.readUInt32LE(8);
        publish();
      }
    });
  });
  publish();
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const secs = (performance.now() - t0) / 1000;
  for (const ws of [...subscribers, publisher]) ws.terminate();
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0);
  return { label, subscribers: SUBS, nodes: ports.length, deliveriesPerSec: Math.round(deliveries / secs), p50Ms: +pct(50).toFixed(2), p99Ms: +pct(99).toFixed(2) };
}

const redis = await startRedis();
const url = redis.url;
const results = [];
{
  const a = await start(process.execPath, [NODE], /PORT (\d+)/);
  results.push(await run("1 node, in-memory", [Number(a.match[1])]));
  a.child.kill("SIGKILL");
}
{
  const a = await start(process.execPath, [NODE, url], /PORT (\d+)/);
  const b = await start(process.execPath, [NODE, url], /PORT (\d+)/);
  results.push(await run("2 nodes through Redis", [Number(a.match[1]), Number(b.match[1])]));
  a.child.kill("SIGKILL");
  b.child.kill("SIGKILL");
}
if (values.json) console.log(JSON.stringify(results));
else {
  console.log(`fan-out, ${SUBS} subscribers, ${SIZE} B, ${DEPTH} ahead, ${SECONDS} s (load and servers share this machine's CPUs)`);
  for (const r of results) console.log(`${r.label.padEnd(24)} ${String(r.deliveriesPerSec).padStart(10)} deliveries/s   p50 ${r.p50Ms} ms   p99 ${r.p99Ms} ms`);
}
cleanup();
process.exit(0);
