// `wsx serve` as a child process: the HTTP routes, the endpoints, limits, TLS and shutdown.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCert } from "../helpers/certs.js";
import { spawnChild } from "../helpers/process.js";
import { parsePrometheus } from "../helpers/prometheus.js";
import { connectRaw } from "../helpers/raw-client.js";
import { scaled, within } from "../helpers/time.js";
import { ROOT, run, serve, type Served } from "./wsx.js";

/** Opens a `ws` client and resolves once it is open (rejects on error or after 5 s). */
function open(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const timer = setTimeout(() => reject(new Error(`no open from ${url} within ${scaled(5000)} ms`)), scaled(5000));
    ws.once("open", () => (clearTimeout(timer), resolve(ws)));
    ws.once("error", (err) => (clearTimeout(timer), reject(err)));
  });
}

/** Resolves with the close code and reason (rejects after 10 s). */
function closed(ws: WebSocket): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no close within ${scaled(10_000)} ms`)), scaled(10_000));
    ws.once("close", (code, reason) => (clearTimeout(timer), resolve([code, reason.toString()])));
  });
}

/** The HTTP status a handshake is refused with (rejects if it is accepted). */
function refusedWith(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const timer = setTimeout(() => reject(new Error(`no answer within ${scaled(5000)} ms`)), scaled(5000));
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => (clearTimeout(timer), ws.terminate(), reject(new Error("the handshake was accepted"))));
    ws.once("error", () => {});
  });
}

describe("wsx serve", () => {
  let server: Served;
  before(async () => {
    server = await serve(undefined);
  });
  after(async () => {
    await server.child.kill("SIGTERM");
  });

  test("/ serves the chat page, its script and style, with security headers", async () => {
    const page = await fetch(`http://${server.host}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /connect-src 'self'/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const html = await page.text();
    assert.match(html, /<title>wsx chat<\/title>/);
    for (const [path, type] of [["/chat.js", /^text\/javascript/], ["/chat.css", /^text\/css/]] as const) {
      const res = await fetch(`http://${server.host}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type") ?? "", type);
      assert.ok((await res.text()).length > 100, `${path} has content`);
    }
    assert.equal((await fetch(`http://${server.host}/nope`)).status, 404);
    // A plain GET of a WebSocket endpoint: 426 Upgrade Required (RFC 6455 §4.2.2).
    assert.equal((await fetch(`http://${server.host}/echo`)).status, 426);
  });

  test("/health answers 200 JSON with connection counts", async () => {
    const ws = await open(`ws://${server.host}/echo`);
    const res = await fetch(`http://${server.host}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = (await res.json()) as { status: string; connections: { chat: number; echo: number }; uptime: number };
    assert.equal(body.status, "ok");
    assert.equal(body.connections.echo, 1);
    assert.equal(typeof body.uptime, "number");
    ws.close();
    await closed(ws);
  });

  test("/echo echoes text as text and binary as binary", async () => {
    const ws = await open(`ws://${server.host}/echo`);
    const got: Array<[string, boolean]> = [];
    const two = new Promise<void>((resolve) =>
      ws.on("message", (data: Buffer, isBinary) => {
        got.push([isBinary ? data.toString("hex") : data.toString(), isBinary]);
        if (got.length === 2) resolve();
      }),
    );
    ws.send("héllo");
    ws.send(Buffer.from([0, 1, 0xfe, 0xff]));
    await within(two, "both echoes");
    assert.deepEqual(got, [["héllo", false], ["0001feff", true]]);
    ws.close(1000);
    assert.deepEqual(await closed(ws), [1000, ""]);
  });

  test("an unknown path is refused during the handshake", async () => {
    assert.equal(await refusedWith(`ws://${server.host}/elsewhere`), 400);
  });
});

describe("wsx serve options", () => {
  test("--max-payload: a larger message closes the connection with 1009", async (t) => {
    const { host } = await serve(t, ["--max-payload", "10", "--quiet"]);
    const ws = await open(`ws://${host}/echo`);
    const done = closed(ws);
    ws.send("this is longer than ten bytes");
    assert.equal((await done)[0], 1009);
  });

  test("--origin: only listed origins may connect (403 otherwise)", async (t) => {
    const { host } = await serve(t, ["--origin", "https://good.example", "--quiet"]);
    assert.equal(await refusedWith(`ws://${host}/echo`, { origin: "https://evil.example" }), 403);
    const ws = await open(`ws://${host}/echo`, { origin: "https://good.example" });
    ws.close();
    await closed(ws);
  });

  test("--tls-cert/--tls-key: https and wss with the given certificate", async (t) => {
    const { cert, certPath, keyPath } = selfSignedCert();
    const { host } = await serve(t, ["--tls-cert", certPath, "--tls-key", keyPath, "--quiet"], "https");
    const ws = await open(`wss://${host}/echo`, { ca: cert });
    const echoed = new Promise<string>((resolve) => ws.once("message", (d: Buffer) => resolve(d.toString())));
    ws.send("over tls");
    assert.equal(await echoed, "over tls");
    ws.close();
    await closed(ws);
  });

  test("--log json: one JSON object per line for open and close", async (t) => {
    const s = await serve(t, ["--log", "json"]);
    const ws = await open(`ws://${s.host}/echo`);
    ws.close(1000, "bye");
    await closed(ws);
    const line = await s.child.waitForOutput((l) => {
      const e = JSON.parse(l) as { event?: string; code?: number; reason?: string; path?: string };
      return e.event === "close" ? e : null;
    }, 5000, "stderr", "a close log line");
    assert.deepEqual([line.path, line.code, line.reason], ["/echo", 1000, "bye"]);
    for (const l of s.child.stderr().trim().split("\n")) assert.doesNotThrow(() => JSON.parse(l), l);
  });

  test("SIGINT: every client gets 1001, then the process exits 0", async (t) => {
    const s = await serve(t, ["--quiet"]);
    const clients = [await open(`ws://${s.host}/echo`), await open(`ws://${s.host}/chat`)];
    const codes = Promise.all(clients.map(closed));
    s.child.child.kill("SIGINT");
    assert.deepEqual((await codes).map(([code]) => code), [1001, 1001]);
    assert.equal((await s.child.exited(10_000)).code, 0);
  });

  test("a port in use: one line saying so, exit 1", async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as { port: number }).port;
    const r = await run(t, ["serve", "--port", String(port)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already in use/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });
});

describe("wsx serve: operations", () => {
  test("/metrics: Prometheus text that parses and counts this server's traffic per endpoint", async (t) => {
    const s = await serve(t, ["--quiet", "--origin", "https://good.example"]);
    assert.equal(await refusedWith(`ws://${s.host}/echo`, { origin: "https://evil.example" }), 403);
    const ws = await open(`ws://${s.host}/echo`, { origin: "https://good.example" });
    const echoed = new Promise<void>((resolve) => ws.once("message", () => resolve()));
    ws.send("twelve bytes");
    await echoed;
    const res = await fetch(`http://${s.host}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(await res.text());
    assert.equal(m.value("wsx_connections", { endpoint: "/echo" }), 1);
    assert.equal(m.value("wsx_connections", { endpoint: "/chat" }), 0);
    assert.equal(m.value("wsx_handshakes_accepted_total", { endpoint: "/echo" }), 1);
    assert.equal(m.value("wsx_handshakes_rejected_total", { endpoint: "/echo", reason: "origin" }), 1);
    assert.equal(m.value("wsx_messages_received_total", { endpoint: "/echo" }), 1);
    assert.equal(m.value("wsx_payload_received_bytes_total", { endpoint: "/echo" }), 12);
    assert.equal(m.value("wsx_messages_sent_total", { endpoint: "/echo" }), 1);
    assert.ok(m.value("wsx_wire_received_bytes_total", { endpoint: "/echo" }) > 12);
    assert.equal(m.types.get("wsx_compression_ratio"), "gauge");
    ws.close();
    await closed(ws);
  });

  test("shutdown: /health answers 503 and new WebSocket connections get 503 while clients drain; exit 0 after", async (t) => {
    const s = await serve(t, ["--quiet"]);
    const port = Number(s.host.split(":")[1]);
    // A raw client answers the close frame only when told to, holding the drain open.
    const raw = await connectRaw(port, { path: "/echo" });
    t.after(() => raw.destroy());
    s.child.child.kill("SIGTERM");
    const frame = await raw.nextFrame(5000);
    assert.equal(frame.opcode, 0x8);
    assert.equal(frame.payload.readUInt16BE(0), 1001);
    const health = await fetch(`http://${s.host}/health`);
    assert.equal(health.status, 503);
    assert.equal(((await health.json()) as { status: string }).status, "stopping");
    assert.equal(await refusedWith(`ws://${s.host}/echo`), 503);
    raw.sendClose(1001);
    assert.equal((await s.child.exited(10_000)).code, 0);
  });

  test("--redis without the redis package installed: refuses to start with the install hint, exit 1", async (t) => {
    // The built package alone, as a user installs it (no node_modules next to it).
    const dir = mkdtempSync(join(tmpdir(), "wsx-no-redis-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
    const child = spawnChild(process.execPath, [join(dir, "dist/cli/main.js"), "serve", "--port", "0", "--redis", "redis://127.0.0.1:1"], { t, cwd: dir, name: "wsx serve --redis" });
    const { code } = await child.exited(15_000);
    assert.equal(code, 1);
    assert.match(child.stderr(), /npm install redis/);
    assert.doesNotMatch(child.stdout(), /listening/);
  });
});
