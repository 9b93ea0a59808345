#!/usr/bin/env node
// Soak test: a wsx server and N `ws` clients with mixed traffic (echo, pub/sub, pings,
// reconnects) for M minutes. The clients run in a worker thread, so the event-loop delay
// reported is the server's own. Every interval it prints the server's memory (rss,
// heapUsed), event-loop delay (perf_hooks.monitorEventLoopDelay) and counters, then a final
// summary; it stops by itself after M minutes (exit code 1 if any error or wrong echo).
//
//   npm run soak -- --connections 500 --minutes 5 [--interval 10] [--rate 2] [--port 0]
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";

const HELP = `usage: npm run soak -- [--connections N] [--minutes M] [--interval S] [--rate R]
  --connections  clients kept connected (default 200)
  --minutes      duration (default 1)
  --interval     seconds between reports (default 10)
  --rate         actions per client per second (default 1)
  --topics       pub/sub topics (default 10)`;

const TOPIC_COUNT_DEFAULT = 10;

if (isMainThread) await main();
else await clients(workerData);

// ---- the server (main thread) -----------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      connections: { type: "string", default: "200" },
      minutes: { type: "string", default: "1" },
      interval: { type: "string", default: "10" },
      rate: { type: "string", default: "1" },
      topics: { type: "string", default: String(TOPIC_COUNT_DEFAULT) },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const config = {
    connections: positive(values.connections, "connections"),
    durationMs: positive(values.minutes, "minutes") * 60_000,
    intervalMs: positive(values.interval, "interval") * 1000,
    rate: positive(values.rate, "rate"),
    topics: positive(values.topics, "topics"),
  };

  const { WebSocketServer } = await import("../dist/index.js");
  const server = { messages: 0, echoes: 0, publishes: 0, deliveries: 0, subscribes: 0, opens: 0, closes: 0, errors: 0, abnormal: 0 };
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    idleTimeout: 30_000,
    open() {
      server.opens++;
    },
    // Text protocol: "e:<payload>" echo, "s:<topic>" subscribe, "p:<topic>:<payload>" publish.
    message(ws, data) {
      server.messages++;
      const text = data.toString();
      const kind = text.charCodeAt(0);
      if (kind === 0x65 /* e */) {
        ws.send(text.slice(2));
        server.echoes++;
      } else if (kind === 0x73 /* s */) {
        if (ws.subscribe(text.slice(2))) server.subscribes++;
      } else if (kind === 0x70 /* p */) {
        const colon = text.indexOf(":", 2);
        server.deliveries += wss.publish(text.slice(2, colon), text.slice(colon + 1));
        server.publishes++;
      }
    },
    close(_ws, code) {
      server.closes++;
      if (code === 1006) server.abnormal++;
    },
    error() {
      server.errors++;
    },
  });
  await wss.ready();

  // 1 ms sampling: reported delays include that 1 ms.
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const worker = new Worker(new URL(import.meta.url), { workerData: { ...config, port: wss.port } });
  let client = null;
  worker.on("message", (m) => (client = m));
  const workerDone = new Promise((resolve, reject) => {
    worker.once("exit", resolve);
    worker.once("error", reject);
  });

  const start = Date.now();
  const heapStart = process.memoryUsage().heapUsed;
  const samples = [];
  console.log(`soak: ${config.connections} connections for ${config.durationMs / 60_000} min on ws://127.0.0.1:${wss.port}/ (report every ${config.intervalMs / 1000} s)`);
  console.log("  time  clients   rss MiB  heap MiB  loop p50/p99/max ms   msgs/s  deliv/s  reconnects  errors  bad echoes");
  let lastMessages = 0;
  let lastDeliveries = 0;
  let lastReport = start;
  const report = () => {
    const mem = process.memoryUsage();
    const elapsed = Math.max(1, Date.now() - lastReport);
    lastReport = Date.now();
    const s = {
      t: Math.round((Date.now() - start) / 1000),
      clients: wss.clients.size,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      p50: eld.percentile(50) / 1e6,
      p99: eld.percentile(99) / 1e6,
      max: eld.max / 1e6,
      msgsPerSec: ((server.messages - lastMessages) * 1000) / elapsed,
      deliveriesPerSec: ((server.deliveries - lastDeliveries) * 1000) / elapsed,
      reconnects: client?.reconnects ?? 0,
      errors: server.errors + (client?.errors ?? 0),
      badEchoes: client?.badEchoes ?? 0,
    };
    lastMessages = server.messages;
    lastDeliveries = server.deliveries;
    eld.reset();
    samples.push(s);
    console.log(
      `${String(s.t).padStart(5)}s ${String(s.clients).padStart(8)} ${mib(s.rss).padStart(9)} ${mib(s.heapUsed).padStart(9)}  ` +
        `${`${s.p50.toFixed(1)}/${s.p99.toFixed(1)}/${s.max.toFixed(1)}`.padStart(18)}  ${s.msgsPerSec.toFixed(0).padStart(7)}  ` +
        `${s.deliveriesPerSec.toFixed(0).padStart(7)}  ${String(s.reconnects).padStart(10)}  ${String(s.errors).padStart(6)}  ${String(s.badEchoes).padStart(10)}`,
    );
  };
  const timer = setInterval(report, config.intervalMs);
  await workerDone;
  clearInterval(timer);
  report();
  eld.disable();
  await wss.close();

  const summary = {
    connections: config.connections,
    minutes: config.durationMs / 60_000,
    server: { ...server, droppedMessages: wss.droppedMessages, clientsLeft: wss.clients.size },
    client,
    heapUsedStart: heapStart,
    heapUsedEnd: process.memoryUsage().heapUsed,
    rssMax: Math.max(...samples.map((s) => s.rss)),
    loopDelayP99MaxMs: Math.max(...samples.map((s) => s.p99)),
    loopDelayMaxMs: Math.max(...samples.map((s) => s.max)),
  };
  const failed = summary.server.errors > 0 || (client?.errors ?? 1) > 0 || (client?.badEchoes ?? 1) > 0;
  console.log(`\nsummary: ${failed ? "FAILED" : "ok"}`);
  console.log(
    `  ${server.messages} messages, ${server.echoes} echoes, ${server.publishes} publishes → ${server.deliveries} deliveries, ` +
      `${client?.pongs ?? 0} pongs, ${client?.reconnects ?? 0} reconnects, ${server.abnormal} abnormal closes`,
  );
  console.log(
    `  rss max ${mib(summary.rssMax)} MiB, heapUsed ${mib(summary.heapUsedStart)} → ${mib(summary.heapUsedEnd)} MiB, ` +
      `event-loop delay p99 ≤ ${summary.loopDelayP99MaxMs.toFixed(1)} ms, max ${summary.loopDelayMaxMs.toFixed(1)} ms`,
  );
  console.log(`  errors: server ${server.errors}, clients ${client?.errors ?? "?"}; wrong echoes ${client?.badEchoes ?? "?"}; dropped ${wss.droppedMessages}`);
  console.log(JSON.stringify(summary));
  process.exitCode = failed ? 1 : 0;
}

function positive(text, name) {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) {
    console.error(`--${name} must be a positive number\n${HELP}`);
    process.exit(2);
  }
  return n;
}

function mib(bytes) {
  return (bytes / 1048576).toFixed(1);
}

// ---- the clients (worker thread) ---------------------------------------------------------

async function clients({ connections, durationMs, intervalMs, rate, topics, port }) {
  const { default: WebSocket } = await import("ws");
  const url = `ws://127.0.0.1:${port}/`;
  const stats = { connected: 0, sent: 0, echoes: 0, badEchoes: 0, published: 0, received: 0, pongs: 0, reconnects: 0, errors: 0, unexpectedCloses: 0 };
  const deadline = Date.now() + durationMs;
  let stopping = false;

  /** One client slot: connects, subscribes, acts `rate` times a second, reconnects when told. */
  function slot(id) {
    let ws = null;
    let expected = []; // echo payloads awaited, in order
    let timer = null;
    const open = () => {
      if (stopping) return;
      ws = new WebSocket(url);
      expected = [];
      ws.on("open", () => {
        stats.connected++;
        ws.send(`s:topic-${id % topics}`);
        // Spread the actions over the second so the load is smooth.
        timer = setInterval(act, 1000 / rate);
      });
      ws.on("message", (data) => {
        const text = data.toString();
        if (text.startsWith("echo ")) {
          const want = expected.shift();
          if (text === want) stats.echoes++;
          else stats.badEchoes++;
        } else stats.received++;
      });
      ws.on("pong", () => stats.pongs++);
      ws.on("error", () => stats.errors++);
      ws.on("close", (code) => {
        clearInterval(timer);
        timer = null;
        stats.connected--;
        if (stopping) return;
        if (code !== 1000) stats.unexpectedCloses++;
        // A reconnect (ours or after an unexpected close), after a short random pause.
        setTimeout(open, 10 + Math.random() * 100);
      });
    };
    let n = 0;
    const act = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      n++;
      const r = Math.random();
      if (r < 0.6) {
        const payload = `echo ${id} ${n} ${"x".repeat(Math.floor(Math.random() * 512))}`;
        expected.push(payload);
        ws.send(`e:${payload}`);
      } else if (r < 0.8) {
        ws.send(`p:topic-${Math.floor(Math.random() * topics)}:news ${id} ${n}`);
        stats.published++;
      } else if (r < 0.99) {
        ws.ping();
      } else {
        stats.reconnects++;
        ws.close(1000);
        return;
      }
      stats.sent++;
    };
    open();
    return () => {
      clearInterval(timer);
      ws?.close(1000);
    };
  }

  const stops = [];
  for (let i = 0; i < connections; i++) {
    stops.push(slot(i));
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // ramp up in batches
  }
  const reporter = setInterval(() => parentPort.postMessage({ ...stats }), Math.min(1000, intervalMs / 2));
  await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
  stopping = true;
  for (const stop of stops) stop();
  // Let the close handshakes finish (bounded).
  for (let i = 0; i < 100 && stats.connected > 0; i++) await new Promise((r) => setTimeout(r, 50));
  clearInterval(reporter);
  parentPort.postMessage({ ...stats });
}
