// `wsx bench` against `wsx serve`'s /echo: the JSON report's shape and counted messages.
// No timing assertions: the numbers depend on the machine.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { run, serve, type Served } from "./wsx.js";

interface Result {
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
  errors: number;
  wrongReplies: number;
  firstWrongReply?: string;
}

function checkResult(r: Result, url: string): void {
  assert.equal(r.url, url);
  assert.equal(r.connections, 2);
  assert.ok(r.messages > 0, "messages were counted");
  assert.ok(r.seconds > 0);
  assert.ok(Math.abs(r.msgsPerSec - r.messages / r.seconds) < 1e-6 * r.msgsPerSec + 1e-9, "rate = messages / seconds");
  assert.ok(Math.abs(r.mbPerSec - (r.messages * 64) / r.seconds / 1e6) < 1e-6, "MB/s = messages × size / seconds");
  assert.ok(r.p50Ms > 0 && r.p50Ms <= r.p99Ms && r.p99Ms <= r.p999Ms && r.p999Ms <= r.maxMs, `percentiles ordered: ${r.p50Ms} ${r.p99Ms} ${r.p999Ms} ${r.maxMs}`);
  assert.equal(r.errors, 0);
  assert.equal(r.wrongReplies, 0);
}

describe("wsx bench", () => {
  let server: Served;
  before(async () => {
    server = await serve(undefined, ["--quiet"]);
  });
  after(async () => {
    await server.child.kill("SIGTERM");
  });

  test("one URL, --json: settings, one result with counted messages and ordered latencies", async (t) => {
    const url = `ws://${server.host}/echo`;
    const r = await run(t, ["bench", url, "-c", "2", "-s", "64", "-d", "2", "-t", "1", "--json"], "", 30_000);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { settings: Record<string, unknown>; rounds: number; results: Result[]; ratio?: number };
    assert.deepEqual(out.settings, { connections: 2, size: 64, depth: 2, seconds: 1, text: false, compress: false });
    assert.equal(out.rounds, 1);
    assert.equal(out.results.length, 1);
    assert.equal(out.ratio, undefined);
    checkResult(out.results[0], url);
    assert.equal(r.stderr, "", "no progress line when stderr is not a terminal");
  });

  test("two URLs: both measured, the table shows them side by side with the ratio", async (t) => {
    const a = `ws://${server.host}/echo`;
    const b = `ws://${server.host}/echo?second`;
    const json = await run(t, ["bench", a, b, "-c", "2", "-s", "64", "-t", "1", "--json"], "", 30_000);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as { results: Result[]; ratio: number };
    assert.equal(out.results.length, 2);
    checkResult(out.results[0], a);
    checkResult(out.results[1], b);
    assert.ok(Math.abs(out.ratio - out.results[0].msgsPerSec / out.results[1].msgsPerSec) < 1e-9);
    const text = await run(t, ["bench", a, b, "-c", "2", "-s", "64", "-t", "1"], "", 30_000);
    assert.equal(text.code, 0, text.stderr);
    const header = text.stdout.split("\n")[0];
    assert.ok(header.includes(`A: ${a}`) && header.includes(`B: ${b}`) && header.includes("A/B"), header);
    assert.match(text.stdout, /^messages\/s\s+[\d,]+\s+[\d,]+\s+\d+\.\d\dx$/m);
    assert.match(text.stdout, /^p99 latency ms\s+/m);
    assert.match(text.stdout, /^p99\.9 latency ms\s+/m);
  });

  test("an endpoint that does not echo (/chat answers each frame with an error): wrong replies, no echoes counted, exit 1", async (t) => {
    const url = `ws://${server.host}/chat`;
    const r = await run(t, ["bench", url, "-c", "2", "-s", "16", "-d", "1", "-t", "1", "--text", "--json"], "", 30_000);
    assert.equal(r.code, 1, r.stderr);
    const [result] = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(result.messages, 0, "an error reply is not an echo");
    assert.ok(result.wrongReplies > 0);
    assert.match(result.firstWrongReply ?? "", /error/);
    assert.match(r.stderr, /replies were not echoes of what was sent/);
  });

  test("a run longer than 3 s shows progress on stderr (one line every 2 s without a terminal)", async (t) => {
    const url = `ws://${server.host}/echo`;
    const r = await run(t, ["bench", url, "-c", "1", "-s", "8", "-d", "1", "-t", "4", "--json"], "", 30_000);
    assert.equal(r.code, 0, r.stderr);
    const progress = r.stderr.split("\n").filter((l) => l.startsWith("wsx bench: "));
    assert.ok(progress.length >= 1, r.stderr);
    assert.match(progress[0], /^wsx bench: ws:\/\/\S+: \d+\/4 s, [\d,]+ echoes, [\d,]+ msgs\/s$/);
    const [result] = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.ok(result.messages > 0 && result.wrongReplies === 0);
  });

  test("an unreachable URL: the reason, exit 1", async (t) => {
    const r = await run(t, ["bench", "ws://127.0.0.1:1/", "-c", "2", "-t", "1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused/);
  });
});
