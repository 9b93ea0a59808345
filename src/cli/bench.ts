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
for -t seconds, and reports messages/s, MB/s and p50/p99/p99.9/max round-trip latency.
Every reply is checked: only an exact echo (same bytes, same text/binary type) counts;
anything else is a wrong reply, and any wrong reply, lost connection or a run without a
single echo makes the exit status 1. Runs longer than 3 s show their progress on stderr
(a live line on a terminal, a line every 2 s otherwise). With two URLs, runs them
alternately --rounds times each and prints the ratio.

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
  p999Ms: number;
  maxMs: number;
  /** Connections lost during the run. */
  errors: number;
  /** Replies that were not an exact echo of what was sent. */
  wrongReplies: number;
  /** The first wrong reply, shortened, to show what the server said instead. */
  firstWrongReply?: string;
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
  let status = 0;
  for (const r of results.flat()) {
    if (r.wrongReplies > 0) {
      process.stderr.write(`wsx: ${r.url}: ${fmt(r.wrongReplies, 0)} replies were not echoes of what was sent (is it an echo endpoint?); the first: ${r.firstWrongReply}\n`);
      status = 1;
    } else if (r.messages === 0) {
      process.stderr.write(`wsx: ${r.url}: no echo came back in ${r.seconds.toFixed(1)} s\n`);
      status = 1;
    }
    if (r.errors > 0) {
      process.stderr.write(`wsx: ${r.url}: ${r.errors} connection(s) were lost during the run\n`);
      status = 1;
    }
  }
  return status;
}

/** The results as a text table: one column per URL, and a ratio column for two. */
function table(summary: BenchResult[], ratio: number | undefined): string {
  const metrics: Array<[label: string, value: (r: BenchResult) => number, digits: number, lowerIsBetter: boolean]> = [
    ["messages/s", (r) => r.msgsPerSec, 0, false],
    ["MB/s", (r) => r.mbPerSec, 2, false],
    ["p50 latency ms", (r) => r.p50Ms, 3, true],
    ["p99 latency ms", (r) => r.p99Ms, 3, true],
    ["p99.9 latency ms", (r) => r.p999Ms, 3, true],
    ["max latency ms", (r) => r.maxMs, 3, true],
    ["messages", (r) => r.messages, 0, false],
    ["errors", (r) => r.errors, 0, true],
    ["wrong replies", (r) => r.wrongReplies, 0, true],
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

/** Shows a reply for the wrong-reply message: text as JSON, bytes as hex; at most 80 characters. */
function preview(data: string | ArrayBuffer): string {
  const text = typeof data === "string" ? JSON.stringify(data) : `[binary] ${Buffer.from(data).toString("hex")}`;
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** Seconds of run from which progress is shown. */
const PROGRESS_AFTER_S = 3;

async function runOnce(url: string, s: Settings): Promise<BenchResult> {
  const payload: string | Buffer = s.text ? "x".repeat(s.size) : Buffer.alloc(s.size, 0x61);
  const sockets: WebSocket[] = [];
  const sent: number[][] = [];
  // A bounded sample of latencies (every message up to the cap).
  const cap = 1_000_000;
  const latencies = new Float64Array(cap);
  let samples = 0;
  let messages = 0;
  let wrongReplies = 0;
  let firstWrongReply: string | undefined;
  let errors = 0;
  let running = false;
  let settingUp = true;
  /** Whether a reply is the exact echo of the payload: same type, same bytes. */
  const isEcho =
    typeof payload === "string"
      ? (data: string | ArrayBuffer): boolean => data === payload
      : (data: string | ArrayBuffer): boolean => typeof data !== "string" && data.byteLength === payload.length && payload.equals(new Uint8Array(data));

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
        ws.onmessage = (e: { data: string | ArrayBuffer }) => {
          if (!running) return;
          // One reply per message in flight: it frees the slot either way, but only an echo counts.
          const t0 = sent[i].shift();
          if (isEcho(e.data)) {
            if (t0 !== undefined && samples < cap) latencies[samples++] = performance.now() - t0;
            messages++;
          } else {
            wrongReplies++;
            firstWrongReply ??= preview(e.data);
          }
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
  const tty = process.stderr.isTTY === true;
  const showProgress = (): void => {
    const elapsed = (performance.now() - start) / 1000;
    const line = `${url}: ${elapsed.toFixed(0)}/${s.seconds} s, ${fmt(messages, 0)} echoes, ${fmt(messages / elapsed, 0)} msgs/s${wrongReplies > 0 ? `, ${fmt(wrongReplies, 0)} wrong replies` : ""}`;
    process.stderr.write(tty ? `\r\x1b[K${line}` : `wsx bench: ${line}\n`);
  };
  const progress = s.seconds > PROGRESS_AFTER_S ? setInterval(showProgress, tty ? 500 : 2000) : null;
  await new Promise((r) => setTimeout(r, s.seconds * 1000));
  running = false;
  const seconds = (performance.now() - start) / 1000;
  if (progress !== null) {
    clearInterval(progress);
    if (tty) process.stderr.write("\r\x1b[K");
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
  const result: BenchResult = {
    url,
    connections: s.connections,
    messages,
    seconds,
    msgsPerSec: messages / seconds,
    mbPerSec: (messages * s.size) / seconds / 1e6,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1] : 0,
    errors,
    wrongReplies,
  };
  if (firstWrongReply !== undefined) result.firstWrongReply = firstWrongReply;
  return result;
}
