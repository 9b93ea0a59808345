/**
 * `wsx bench <url> [url2]`: echo load against a WebSocket server — messages/s, MB/s and
 * round-trip latency percentiles; two URLs are measured alternately and compared.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { WebSocketOptions } from "../client/options.js";
import { clientFailure, WebSocket } from "../client/websocket.js";
import { describeFailure } from "./describe-error.js";
import { intOption, UsageError } from "./usage.js";

export const BENCH_HELP = `Usage: wsx bench <url> [url2] [options]

Opens -c connections to an echo endpoint, keeps -d messages of -s bytes in flight on each
for -t seconds, and reports messages/s, MB/s and p50/p99/max round-trip latency. With two
URLs, runs them alternately --rounds times each and prints the ratio.

Options:
  -c, --connections <n>  connections (default 50)
  -s, --size <bytes>     message size (default 32)
  -d, --depth <n>        messages in flight per connection (default 4)
  -t, --time <s>         seconds per run (default 5)
  --rounds <n>           runs per URL (default 1; alternated with two URLs)
  --text                 send text instead of binary
  --compress             offer permessage-deflate
  --insecure             do not verify the server's TLS certificate
  --json                 print the results as JSON
  -h, --help             show this help

Examples:
  wsx bench ws://127.0.0.1:8080/echo
  wsx bench ws://127.0.0.1:8080/echo ws://127.0.0.1:9000/ -c 100 -d 16 -t 5 --rounds 3`;

/** One measured run. */
export interface BenchResult {
  url: string;
  connections: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
}

interface Settings {
  connections: number;
  size: number;
  depth: number;
  seconds: number;
  text: boolean;
  /** Client options (TLS, compression); left out of the JSON output. */
  options: WebSocketOptions;
}

/** Runs `wsx bench`. */
export async function bench(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      connections: { type: "string", short: "c" },
      size: { type: "string", short: "s" },
      depth: { type: "string", short: "d" },
      time: { type: "string", short: "t" },
      rounds: { type: "string" },
      text: { type: "boolean" },
      compress: { type: "boolean" },
      insecure: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(BENCH_HELP + "\n");
    return 0;
  }
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError("expected one or two URLs: wsx bench <url> [url2]");
  const settings: Settings = {
    connections: intOption("connections", values.connections, 50, 1, 50_000),
    size: intOption("size", values.size, 32, 0, 64 * 1024 * 1024),
    depth: intOption("depth", values.depth, 4, 1, 10_000),
    seconds: intOption("time", values.time, 5, 1, 3600),
    text: values.text === true,
    options: { perMessageDeflate: values.compress === true, ...(values.insecure === true ? { rejectUnauthorized: false } : {}) },
  };
  for (const u of positionals) {
    try {
      const parsed = new URL(u);
      if (!/^(ws|wss|http|https):$/.test(parsed.protocol)) throw new Error();
    } catch {
      throw new UsageError(`not a WebSocket URL: "${u}" (expected ws:// or wss://)`);
    }
  }
  const rounds = intOption("rounds", values.rounds, 1, 1, 100);
  const results: BenchResult[][] = positionals.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < positionals.length; i++) {
      try {
        results[i].push(await runOnce(positionals[i], settings));
      } catch (err) {
        process.stderr.write(`wsx: ${(err as Error).message}\n`);
        return 1;
      }
    }
  }
  const summary = results.map((runs) => median(runs));
  const ratio = summary.length === 2 ? summary[0].msgsPerSec / Math.max(1e-9, summary[1].msgsPerSec) : undefined;
  if (values.json) {
    const { options: _options, ...shown } = settings;
    const out: Record<string, unknown> = { settings: { ...shown, compress: values.compress === true }, rounds, results: summary, runs: results };
    if (ratio !== undefined) out.ratio = ratio;
    process.stdout.write(JSON.stringify(out) + "\n");
  } else {
    process.stdout.write(table(summary, ratio));
  }
  const lost = results.flat().reduce((n, r) => n + r.errors, 0);
  if (lost > 0) {
    process.stderr.write(`wsx: ${lost} connection(s) were lost during the run\n`);
    return 1;
  }
  return 0;
}

/** The results as a text table: one column per URL, and a ratio column for two. */
function table(summary: BenchResult[], ratio: number | undefined): string {
  const metrics: Array<[label: string, value: (r: BenchResult) => number, digits: number, lowerIsBetter: boolean]> = [
    ["messages/s", (r) => r.msgsPerSec, 0, false],
    ["MB/s", (r) => r.mbPerSec, 2, false],
    ["p50 latency ms", (r) => r.p50Ms, 3, true],
    ["p99 latency ms", (r) => r.p99Ms, 3, true],
    ["max latency ms", (r) => r.maxMs, 3, true],
    ["messages", (r) => r.messages, 0, false],
    ["errors", (r) => r.errors, 0, true],
  ];
  const header = ["", ...summary.map((r, i) => (summary.length === 2 ? `${i === 0 ? "A" : "B"}: ${r.url}` : r.url))];
  if (ratio !== undefined) header.push("A/B");
  const rows = [header];
  for (const [label, value, digits] of metrics) {
    const row = [label, ...summary.map((r) => fmt(value(r), digits))];
    if (ratio !== undefined) {
      const b = value(summary[1]);
      row.push(b === 0 ? "-" : `${(value(summary[0]) / b).toFixed(2)}x`);
    }
    rows.push(row);
  }
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  let text = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")).join("\n") + "\n";
  if (ratio !== undefined) text += `A is ${ratio.toFixed(2)}x B in messages/s (latency rows: lower is better)\n`;
  return text;
}

function fmt(n: number, digits: number): string {
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The run with the median message rate. */
function median(runs: BenchResult[]): BenchResult {
  const sorted = [...runs].sort((a, b) => a.msgsPerSec - b.msgsPerSec);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runOnce(url: string, s: Settings): Promise<BenchResult> {
  const payload: string | Buffer = s.text ? "x".repeat(s.size) : Buffer.alloc(s.size, 0x61);
  const sockets: WebSocket[] = [];
  const sent: number[][] = [];
  // A bounded sample of latencies (every message up to the cap).
  const cap = 1_000_000;
  const latencies = new Float64Array(cap);
  let samples = 0;
  let messages = 0;
  let errors = 0;
  let running = false;
  let settingUp = true;

  const opened = Promise.all(
    Array.from({ length: s.connections }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(url, [], s.options);
        ws.binaryType = "arraybuffer";
        sockets[i] = ws;
        sent[i] = [];
        ws.onopen = () => resolve();
        ws.onclose = () => {
          if (settingUp) reject(new Error(describeFailure(clientFailure(ws), url)));
          // A connection lost during the run is an error (ours close after it).
          else if (running) errors++;
        };
        ws.onmessage = () => {
          if (!running) return;
          const t0 = sent[i].shift();
          if (t0 !== undefined && samples < cap) latencies[samples++] = performance.now() - t0;
          messages++;
          sent[i].push(performance.now());
          ws.send(payload);
        };
      }),
    ),
  );
  try {
    await opened;
  } catch (err) {
    for (const ws of sockets) if (ws !== undefined) ws.close();
    throw err;
  }
  settingUp = false;
  running = true;
  const start = performance.now();
  for (let i = 0; i < sockets.length; i++) {
    for (let d = 0; d < s.depth; d++) {
      sent[i].push(performance.now());
      sockets[i].send(payload);
    }
  }
  const progress = process.stderr.isTTY
    ? setInterval(() => {
        const elapsed = (performance.now() - start) / 1000;
        process.stderr.write(`\r\x1b[K${url}: ${elapsed.toFixed(0)}/${s.seconds} s, ${fmt(messages, 0)} messages, ${fmt(messages / elapsed, 0)} msgs/s`);
      }, 500)
    : null;
  await new Promise((r) => setTimeout(r, s.seconds * 1000));
  running = false;
  const seconds = (performance.now() - start) / 1000;
  if (progress !== null) {
    clearInterval(progress);
    process.stderr.write("\r\x1b[K");
  }
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.addEventListener("close", () => resolve());
          ws.close(1000);
        }),
    ),
  );
  const sorted = latencies.subarray(0, samples).sort();
  return {
    url,
    connections: s.connections,
    messages,
    seconds,
    msgsPerSec: messages / seconds,
    mbPerSec: (messages * s.size) / seconds / 1e6,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1] : 0,
    errors,
  };
}
