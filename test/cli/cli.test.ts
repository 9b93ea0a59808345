// The wsx command, driven as child processes: serve, connect (piped), exec, bench, errors.
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { spawnChild, type Child } from "../support/processes.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const WSX = join(ROOT, "dist/cli/main.js");

function wsx(args: string[], input?: string): Child {
  const c = spawnChild(process.execPath, [WSX, ...args], { cwd: ROOT });
  if (input !== undefined) c.proc.stdin!.end(input);
  else c.proc.stdin!.end();
  return c;
}

describe("wsx serve + wsx connect", () => {
  let server: Child;
  let base = "";
  before(async () => {
    server = wsx(["serve", "--port", "0"]);
    const m = await server.waitFor(/listening on http:\/\/(127\.0\.0\.1:\d+)\//);
    base = m[1];
  });
  after(async () => {
    server.kill("SIGTERM");
    await server.exited();
  });

  test("piped connect sends each line, prints the echoes, closes normally and exits 0", async () => {
    const c = wsx(["connect", `ws://${base}/echo`], "one\ntwo\nthree\n");
    assert.equal(await c.exited(), 0, c.stderr());
    const lines = c.stdout().trim().split("\n");
    assert.match(lines[0], /connected to ws:\/\//);
    assert.deepEqual(lines.filter((l) => l.includes("< ")).map((l) => l.split("< ")[1]), ["one", "two", "three"]);
    assert.match(c.stderr(), /closed with code 1000/);
  });

  test("--json prints one object per event; --whole sends the input as one message", async () => {
    const c = wsx(["connect", `ws://${base}/echo`, "--json", "--whole"], "line 1\nline 2\n");
    assert.equal(await c.exited(), 0, c.stderr());
    const events = c.stdout().trim().split("\n").map((l) => JSON.parse(l) as { event: string; data?: string; code?: number });
    assert.deepEqual(events.map((e) => e.event), ["open", "message", "close"]);
    assert.equal(events[1].data, "line 1\nline 2\n");
    assert.equal(events[2].code, 1000);
  });

  test("the chat endpoint: join, say, see it back with the member count", async () => {
    const input = '{"type":"join","room":"cli","name":"bot"}\n{"type":"say","text":"hello room"}\n';
    const c = wsx(["connect", `ws://${base}/chat`, "--json", "--wait", "1"], input);
    assert.equal(await c.exited(), 0, c.stderr());
    const messages = c
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; data?: string })
      .filter((e) => e.event === "message")
      .map((e) => JSON.parse(e.data!) as { type: string; text?: string; count?: number });
    assert.deepEqual(messages.map((m) => m.type), ["joined", "members", "message"]);
    assert.equal(messages[1].count, 1);
    assert.equal(messages[2].text, "hello room");
  });

  test("/health answers 200 JSON; / serves the demo page", async () => {
    const health = await fetch(`http://${base}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
    const page = await fetch(`http://${base}/`);
    assert.match(await page.text(), /<title>wsx chat<\/title>/);
  });

  test("a server close with an error code makes connect exit non-zero and print the code", async () => {
    // /chat closes nothing by itself; an oversized message to /echo (over --max-payload) does.
    const small = wsx(["serve", "--port", "0", "--max-payload", "10", "--quiet"]);
    const m = await small.waitFor(/listening on http:\/\/(127\.0\.0\.1:\d+)\//);
    const c = wsx(["connect", `ws://${m[1]}/echo`], "this is longer than ten bytes\n");
    assert.equal(await c.exited(), 1);
    assert.match(c.stderr(), /1009/);
    small.kill("SIGTERM");
    assert.equal(await small.exited(), 0, "SIGTERM shuts down cleanly");
  });

  test("bench against /echo reports counted messages as JSON", async () => {
    const c = wsx(["bench", `ws://${base}/echo`, "-c", "4", "-d", "2", "-t", "1", "--json"]);
    assert.equal(await c.exited(30_000), 0, c.stderr());
    const out = JSON.parse(c.stdout()) as { results: Array<{ messages: number; msgsPerSec: number; p99Ms: number; errors: number }> };
    assert.equal(out.results.length, 1);
    assert.ok(out.results[0].messages > 0);
    assert.ok(out.results[0].msgsPerSec > 0);
    assert.equal(out.results[0].errors, 0);
  });

  test("SIGINT sends 1001 to connected clients before exiting", async () => {
    const s = wsx(["serve", "--port", "0", "--quiet"]);
    const m = await s.waitFor(/listening on http:\/\/(127\.0\.0\.1:\d+)\//);
    const ws = new WebSocket(`ws://${m[1]}/echo`);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    s.kill("SIGINT");
    assert.equal(await closed, 1001);
    assert.equal(await s.exited(), 0);
  });
});

describe("wsx exec", () => {
  test("each connection runs the command; lines in, lines out; exit status in the close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wsx-exec-"));
    const script = join(dir, "upper.js");
    writeFileSync(
      script,
      `process.stdin.setEncoding("utf8"); let buf = "";
       process.stdin.on("data", (d) => { buf += d; let i; while ((i = buf.indexOf("\\n")) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1);
         if (line === "quit") process.exit(3); console.log(line.toUpperCase()); } });`,
    );
    const server = wsx(["exec", "--port", "0", "--max", "1", "--", process.execPath, script]);
    const m = await server.waitFor(/listening on ws:\/\/(127\.0\.0\.1:\d+)\//);
    const ws = new WebSocket(`ws://${m[1]}/`);
    const got: string[] = [];
    ws.on("message", (d) => got.push(d.toString()));
    await new Promise((r) => ws.once("open", r));
    // --max 1: a second connection is refused while the first runs.
    const second = new WebSocket(`ws://${m[1]}/`);
    const refused = await new Promise<string>((r) => second.once("unexpected-response", (_req, res) => r(String(res.statusCode))).once("error", () => r("error")));
    assert.equal(refused, "503");
    ws.send("hello");
    ws.send("world");
    const start = Date.now();
    while (got.length < 2 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ["HELLO", "WORLD"]);
    const closed = new Promise<[number, string]>((r) => ws.once("close", (code, reason) => r([code, reason.toString()])));
    ws.send("quit");
    assert.deepEqual(await closed, [1011, "exit 3"]);
    server.kill("SIGTERM");
    await server.exited();
  });
});

describe("errors", () => {
  test("bad arguments: one line, exit 2", async () => {
    for (const args of [["connect"], ["frobnicate"], ["serve", "--port", "abc"], ["serve", "--bogus"], ["connect", "ftp://x/"]]) {
      const c = wsx(args);
      assert.equal(await c.exited(), 2, `${args.join(" ")}: ${c.stderr()}`);
      assert.equal(c.stderr().trim().split("\n").length, 1);
    }
  });

  test("an unreachable server: the reason, exit 1", async () => {
    const c = wsx(["connect", "ws://127.0.0.1:1/"]);
    assert.equal(await c.exited(), 1);
    assert.match(c.stderr(), /refused/);
  });

  test("--help for each subcommand and --version", async () => {
    for (const sub of ["serve", "connect", "exec", "bench"]) {
      const c = wsx([sub, "--help"]);
      assert.equal(await c.exited(), 0);
      assert.match(c.stdout(), new RegExp(`Usage: wsx ${sub}`));
      assert.match(c.stdout(), /Examples:/);
    }
    const v = wsx(["--version"]);
    assert.equal(await v.exited(), 0);
    assert.match(v.stdout(), /^\d+\.\d+\.\d+\n$/);
  });
});
