// `wsx exec` as a child process running a small node script per connection.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import WebSocket from "ws";
import { ROOT, wsx } from "./wsx.js";

const SCRIPT = join(ROOT, "test/cli/fixtures/upper.mjs");

/** Starts `wsx exec` with the upper-casing script; resolves with its ws:// base URL. */
async function startExec(t: TestContext, max: number): Promise<string> {
  const server = wsx(t, ["exec", "--port", "0", "--max", String(max), "--", process.execPath, SCRIPT]);
  const m = await server.waitForLine(/listening on (ws:\/\/127\.0\.0\.1:\d+)\//, 15_000);
  return m[1];
}

/** A client that collects text messages and its close. */
function client(url: string): { ws: WebSocket; got: string[]; opened: Promise<void>; closed: Promise<[number, string]> } {
  const ws = new WebSocket(url);
  const got: string[] = [];
  ws.on("message", (d: Buffer) => got.push(d.toString()));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const closed = new Promise<[number, string]>((resolve) => ws.once("close", (code, reason) => resolve([code, reason.toString()])));
  return { ws, got, opened, closed };
}

/** Polls `check` every 10 ms for up to `ms`; false if it never held. */
async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 10) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("messages become stdin lines, stdout lines become messages; exit 3 closes with 1011 'exit 3'", async (t) => {
  const base = await startExec(t, 2);
  const c = client(`${base}/`);
  await c.opened;
  c.ws.send("hello");
  c.ws.send("world");
  assert.ok(await eventually(() => c.got.length >= 2), `got ${JSON.stringify(c.got)}`);
  assert.deepEqual(c.got, ["HELLO", "WORLD"]);
  c.ws.send("quit");
  assert.deepEqual(await c.closed, [1011, "exit 3"]);
});

test("exit 0 closes with 1000 'exit 0', after the last lines", async (t) => {
  const base = await startExec(t, 2);
  const c = client(`${base}/`);
  await c.opened;
  c.ws.send("last words");
  c.ws.send("done");
  assert.deepEqual(await c.closed, [1000, "exit 0"]);
  assert.deepEqual(c.got, ["LAST WORDS"]);
});

test("--max: further connections get 503 while the processes run; a slot frees when one ends", async (t) => {
  const base = await startExec(t, 1);
  const first = client(`${base}/`);
  await first.opened;
  const status = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base}/`);
      ws.once("unexpected-response", (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
      ws.once("open", () => (resolve(101), ws.close()));
      ws.once("error", (err) => reject(err));
    });
  assert.equal(await status(), 503);
  // The client closes: the process is killed, and its slot is free once it has exited.
  first.ws.send("pid");
  assert.ok(await eventually(() => first.got.length === 1));
  const pid = Number(first.got[0]);
  first.ws.close(1000);
  await first.closed;
  assert.ok(await eventually(() => !alive(pid)), `process ${pid} was killed`);
  let code = 0;
  for (let tries = 0; tries < 50 && code !== 101; tries++) {
    code = await status();
    if (code !== 101) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(code, 101, "a new connection is accepted once the process has exited");
});
