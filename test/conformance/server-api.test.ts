// Server behaviours: upgrade hook, origins, path, noServer, attaching, shutdown.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import { WebSocketServer } from "../../src/server/server.js";
import { SendStatus } from "../../src/server/send-status.js";
import { closePayload, connectRaw, exchange } from "../support/raw-peer.js";
import { startEchoServer, waitFor } from "../support/echo-server.js";

describe("the upgrade hook", () => {
  test("rejects with a HandshakeError's status and headers", async () => {
    const server = await startEchoServer({
      upgrade: async (req) => {
        if (req.headers["authorization"] !== "Bearer good") throw new HandshakeError(401, "no", { "WWW-Authenticate": "Bearer" });
        return { user: "ann" };
      },
    });
    await assert.rejects(connectRaw(server.port), /401/);
    const { head, socket } = await exchange(
      server.port,
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert.match(head, /^HTTP\/1\.1 401/);
    assert.match(head, /WWW-Authenticate: Bearer/);
    socket.destroy();
    await server.close();
  });

  test("accepts with data that becomes ws.data; info carries offered protocols and origin", async () => {
    const seen: unknown[] = [];
    let info: unknown;
    const wss = new WebSocketServer<{ user: string }>({
      port: 0,
      host: "127.0.0.1",
      protocols: ["p1"],
      upgrade: (_req, i) => {
        info = i;
        return { user: "bob" };
      },
      message(ws, data) {
        seen.push(ws.data.user, data.toString());
        ws.send(ws.data.user);
      },
    });
    await wss.ready();
    const peer = await connectRaw(wss.port, { headers: { "Sec-WebSocket-Protocol": "p0, p1", Origin: "https://a.example" } });
    peer.send({ opcode: 0x1, payload: "hi" });
    assert.equal((await peer.nextFrame())!.payload.toString(), "bob");
    assert.deepEqual(seen, ["bob", "hi"]);
    assert.deepEqual(info, { protocols: ["p0", "p1"], origin: "https://a.example", protocol: "p1" });
    peer.destroy();
    await wss.close();
  });

  test("an error other than HandshakeError gives 500 and an error event", async () => {
    const errors: unknown[] = [];
    const server = await startEchoServer({
      upgrade: () => {
        throw new Error("boom");
      },
    });
    server.wss.on("error", (e) => errors.push(e));
    await assert.rejects(connectRaw(server.port), /500/);
    assert.equal(errors.length, 1);
    await server.close();
  });
});

describe("origins allowlist (RFC 6455 §10.2)", () => {
  test("an unlisted or missing Origin gets 403; a listed one (any case) is accepted", async () => {
    const server = await startEchoServer({ origins: ["https://good.example"] });
    await assert.rejects(connectRaw(server.port, { headers: { Origin: "https://evil.example" } }), /403/);
    await assert.rejects(connectRaw(server.port), /403/);
    const peer = await connectRaw(server.port, { headers: { Origin: "https://GOOD.example" } });
    peer.destroy();
    await server.close();
  });
});

describe("attaching", () => {
  test("two servers on one HTTP server split by path; other paths get 400", async () => {
    const http = createServer();
    const a = new WebSocketServer({ server: http, path: "/a", message: (ws) => void ws.send("A") });
    const b = new WebSocketServer({ server: http, path: "/b", message: (ws) => void ws.send("B") });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as AddressInfo).port;
    const pa = await connectRaw(port, { path: "/a?x=1" });
    const pb = await connectRaw(port, { path: "/b" });
    pa.send({ opcode: 0x1, payload: "?" });
    pb.send({ opcode: 0x1, payload: "?" });
    assert.equal((await pa.nextFrame())!.payload.toString(), "A");
    assert.equal((await pb.nextFrame())!.payload.toString(), "B");
    await assert.rejects(connectRaw(port, { path: "/c" }), /400/);
    pa.destroy();
    pb.destroy();
    await a.close();
    await b.close();
    await new Promise<void>((r) => http.close(() => r()));
  });

  test("noServer with handleUpgrade from the user's own upgrade listener", async () => {
    const wss = new WebSocketServer({ noServer: true, message: (ws, d, b) => void ws.send(d, b) });
    const http = createServer();
    http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const peer = await connectRaw((http.address() as AddressInfo).port);
    peer.send({ opcode: 0x1, payload: "manual" });
    assert.equal((await peer.nextFrame())!.payload.toString(), "manual");
    await wss.close();
    assert.equal((await peer.readUntilClose()).code, 1001);
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  });

  test("exactly one of port, server, noServer is required", () => {
    assert.throws(() => new WebSocketServer({}), TypeError);
    assert.throws(() => new WebSocketServer({ noServer: true, port: 1 }), TypeError);
  });
});

describe("send status and backpressure", () => {
  test("send returns Sent, then Dropped once the buffer exceeds maxBackpressure ('drop')", async () => {
    const server = await startEchoServer({ maxBackpressure: 64 * 1024 });
    const peer = await connectRaw(server.port);
    peer.socket.pause(); // stop reading so the server's buffer fills
    await waitFor(() => server.wss.clients.size === 1, 2000, "connection");
    const ws = [...server.wss.clients][0];
    const statuses = new Set<number>();
    const chunk = Buffer.alloc(32 * 1024);
    for (let i = 0; i < 2000 && !statuses.has(SendStatus.Dropped); i++) statuses.add(ws.send(chunk));
    assert.ok(statuses.has(SendStatus.Sent));
    assert.ok(statuses.has(SendStatus.Dropped));
    assert.ok(server.wss.droppedMessages > 0);
    peer.destroy();
    await server.close();
  });

  test("the 'close' policy closes the slow connection with 1008", async () => {
    const server = await startEchoServer({ maxBackpressure: 64 * 1024, backpressurePolicy: "close" });
    const peer = await connectRaw(server.port);
    peer.socket.pause();
    await waitFor(() => server.wss.clients.size === 1, 2000, "connection");
    const ws = [...server.wss.clients][0];
    for (let i = 0; i < 2000 && ws.readyState === 1; i++) ws.send(Buffer.alloc(32 * 1024));
    assert.equal(ws.readyState, 2);
    peer.destroy();
    await waitFor(() => server.closes.length === 1, 5000, "close");
    await server.close();
  });
});

describe("server.close()", () => {
  test("sends 1001 to every client, waits for the handshakes, and resolves", async () => {
    const server = await startEchoServer();
    const peers = await Promise.all([1, 2, 3].map(() => connectRaw(server.port)));
    const closing = server.wss.close();
    for (const p of peers) {
      const { code } = await p.readUntilClose();
      assert.equal(code, 1001);
      p.send({ opcode: 0x8, payload: closePayload(1001) });
    }
    await closing;
    assert.equal(server.wss.clients.size, 0);
    for (const p of peers) await p.waitEnd();
  });

  test("a process with a server, a client and server.close() exits by itself (no handles left)", async () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const script = `
      import { WebSocketServer } from ${JSON.stringify(root + "src/server/server.js")};
      import WebSocket from "ws";
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", idleTimeout: 60000, message: (ws, d, b) => ws.send(d, b) });
      await wss.ready();
      const c = new WebSocket("ws://127.0.0.1:" + wss.port);
      c.on("open", () => c.send("x"));
      c.on("message", async () => { await wss.close(); console.log("closed"); });
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15000);
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    clearTimeout(timer);
    assert.equal(code, 0, out);
    assert.match(out, /closed/);
  });
});
