// Server behaviours around the protocol: the upgrade hook, origins, subprotocols, paths,
// noServer/handleUpgrade, attaching to an HTTP server, and shutdown.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, test, type TestContext } from "node:test";
import { HandshakeError } from "../../src/protocol/errors.js";
import { WebSocketServer } from "../../src/server/server.js";
import { connectRaw } from "../helpers/raw-client.js";
import { spawnChild } from "../helpers/process.js";
import { openClient } from "./client.js";
import { startEchoServer } from "./echo-server.js";
import { exchangeUntilClose } from "./http-exchange.js";
import { waitUntil } from "./wait.js";

const UPGRADE_REQUEST = (path = "/", extra = ""): string =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** An http.Server listening on 127.0.0.1:0. */
async function httpServer(handler?: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = handler === undefined ? createServer() : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Cleanup, in the order that cannot wait on itself: drop the WebSocket connections (an HTTP
 * server's close waits for upgraded sockets too), close the wsx servers, then the HTTP server.
 */
function cleanUp(t: TestContext, wsServers: Array<WebSocketServer<any>>, http: Server): void {
  t.after(async () => {
    for (const wss of wsServers) {
      for (const ws of wss.clients) ws.terminate();
      await wss.close();
    }
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
}

describe("server: the upgrade hook", () => {
  test("a HandshakeError rejects with its status and headers; the socket is closed", async (t) => {
    const server = await startEchoServer({
      upgrade: async (req) => {
        if (req.headers["authorization"] !== "Bearer good") throw new HandshakeError(401, "unauthorized", { "WWW-Authenticate": "Bearer" });
        return { user: "ann" };
      },
    });
    t.after(() => server.stop());
    const r = await exchangeUntilClose(server.port, UPGRADE_REQUEST());
    assert.equal(r.status, 401);
    assert.equal(r.headers["www-authenticate"], "Bearer");
    assert.ok(r.closedByServer);
    const ok = await openClient(t, server.port, { headers: { Authorization: "Bearer good" } });
    assert.equal(ok.response.status, 101);
  });

  test("the hook's result becomes ws.data; the hook sees the offered protocols, origin and the selection", async (t) => {
    let seenInfo: unknown;
    const wss = new WebSocketServer<{ user: string }>({
      port: 0,
      host: "127.0.0.1",
      protocols: ["p1", "p2"],
      upgrade: async (_req, info) => {
        seenInfo = { ...info };
        await new Promise((resolve) => setTimeout(resolve, 10)); // really asynchronous
        return { user: "bob" };
      },
      message(ws, data) {
        ws.send(`${ws.data.user}:${data}`);
      },
    });
    await wss.ready();
    t.after(async () => {
      for (const ws of wss.clients) ws.terminate();
      await wss.close();
    });
    const c = await openClient(t, wss.port, { headers: { "Sec-WebSocket-Protocol": "p0, p2, p1", Origin: "https://a.example" } });
    assert.equal(c.response.headers["sec-websocket-protocol"], "p2");
    c.sendText("hi");
    assert.equal((await c.nextFrame()).payload.toString(), "bob:hi");
    assert.deepEqual(seenInfo, {
      protocols: ["p0", "p2", "p1"],
      origin: "https://a.example",
      protocol: "p2",
      extensions: "",
      authority: `127.0.0.1:${wss.port}`,
      path: "/",
      http2: false,
    });
  });

  test("an error other than HandshakeError gives 500 and a server error event", async (t) => {
    const server = await startEchoServer({
      upgrade: () => {
        throw new Error("boom");
      },
    });
    t.after(() => server.stop());
    const errors: unknown[] = [];
    server.wss.on("error", (e) => errors.push(e));
    const r = await exchangeUntilClose(server.port, UPGRADE_REQUEST());
    assert.equal(r.status, 500);
    assert.ok(r.closedByServer);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).message, "boom");
  });
});

describe("server: origins allowlist (RFC 6455 §10.2)", () => {
  test("an unlisted or missing Origin gets 403; a listed one, in any case, is accepted", async (t) => {
    const server = await startEchoServer({ origins: ["https://good.example"] });
    t.after(() => server.stop());
    const evil = await exchangeUntilClose(server.port, UPGRADE_REQUEST("/", "Origin: https://evil.example\r\n"));
    assert.equal(evil.status, 403);
    assert.ok(evil.closedByServer);
    assert.equal((await exchangeUntilClose(server.port, UPGRADE_REQUEST())).status, 403);
    const c = await openClient(t, server.port, { headers: { Origin: "https://GOOD.example" } });
    assert.equal(c.response.status, 101);
  });
});

describe("server: subprotocols (RFC 6455 §4.2.2)", () => {
  test("a selector function picks; a protocol the client did not offer is never selected", async (t) => {
    const server = await startEchoServer({ protocols: (offered: string[]) => (offered.includes("b") ? "b" : "not-offered") });
    t.after(() => server.stop());
    const b = await openClient(t, server.port, { headers: { "Sec-WebSocket-Protocol": "a, b" } });
    assert.equal(b.response.headers["sec-websocket-protocol"], "b");
    const none = await openClient(t, server.port, { headers: { "Sec-WebSocket-Protocol": "a" } });
    assert.equal(none.response.headers["sec-websocket-protocol"], undefined);
  });

  test("ws.protocol is the selected protocol", async (t) => {
    const server = await startEchoServer({ protocols: ["chat"], message: (ws) => void ws.send(`protocol=${ws.protocol}`) });
    t.after(() => server.stop());
    const c = await openClient(t, server.port, { headers: { "Sec-WebSocket-Protocol": "chat" } });
    c.sendText("?");
    assert.equal((await c.nextFrame()).payload.toString(), "protocol=chat");
  });
});

describe("server: path, attaching, noServer", () => {
  test("path matching ignores the query string; another path gets 400", async (t) => {
    const server = await startEchoServer({ path: "/ws" });
    t.after(() => server.stop());
    const c = await openClient(t, server.port, { path: "/ws?token=1" });
    c.sendText("on path");
    assert.equal((await c.nextFrame()).payload.toString(), "on path");
    const other = await exchangeUntilClose(server.port, UPGRADE_REQUEST("/other"));
    assert.equal(other.status, 400);
    assert.ok(other.closedByServer);
  });

  test("attached to an existing HTTP server: HTTP requests still reach it; two servers split by path", async (t) => {
    const { server: http, port } = await httpServer((_req, res) => res.end("plain http"));
    const a = new WebSocketServer({ server: http, path: "/a", message: (ws) => void ws.send("A") });
    const b = new WebSocketServer({ server: http, path: "/b", message: (ws) => void ws.send("B") });
    cleanUp(t, [a, b], http);
    assert.equal(a.port, port);
    const ca = await openClient(t, port, { path: "/a" });
    const cb = await openClient(t, port, { path: "/b" });
    ca.sendText("?");
    cb.sendText("?");
    assert.equal((await ca.nextFrame()).payload.toString(), "A");
    assert.equal((await cb.nextFrame()).payload.toString(), "B");
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), "plain http");
    assert.equal((await exchangeUntilClose(port, UPGRADE_REQUEST("/c"))).status, 400);
  });

  test("noServer: the user's upgrade listener calls handleUpgrade", async (t) => {
    const wss = new WebSocketServer({ noServer: true, message: (ws, d, b) => void ws.send(d, b) });
    const { server: http, port } = await httpServer();
    cleanUp(t, [wss], http);
    http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head));
    assert.equal(wss.httpServer, null);
    const c = await openClient(t, port);
    c.sendText("manual");
    assert.equal((await c.nextFrame()).payload.toString(), "manual");
    const closing = wss.close();
    await c.expectClose(1001);
    await closing;
  });

  test("exactly one of port, server and noServer must be given", () => {
    assert.throws(() => new WebSocketServer({}), TypeError);
    assert.throws(() => new WebSocketServer({ noServer: true, port: 0 }), TypeError);
  });
});

describe("server: close()", () => {
  test("sends 1001 to every client, completes the handshakes, resolves with no client left", async (t) => {
    const server = await startEchoServer();
    const clients = await Promise.all([1, 2, 3].map(() => openClient(t, server.port)));
    await waitUntil(() => server.wss.clients.size === 3, "three connections");
    const closing = server.wss.close();
    await Promise.all(clients.map((c) => c.expectClose(1001)));
    await closing;
    assert.equal(server.wss.clients.size, 0);
    assert.equal(server.wss.httpServer?.listening, false, "its own HTTP server is closed");
    await assert.rejects(connectRaw(server.port, { timeoutMs: 2000 }), "no new connections");
  });

  test("a process with a server, a client and server.close() exits by itself (no handles left)", async (t) => {
    const serverModule = fileURLToPath(new URL("../../src/server/server.js", import.meta.url));
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    const script = `
      import { WebSocketServer } from ${JSON.stringify(serverModule)};
      import WebSocket from "ws";
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", message: (ws, d, b) => ws.send(d, b) });
      await wss.ready();
      const client = new WebSocket("ws://127.0.0.1:" + wss.port);
      client.on("open", () => client.send("x"));
      client.on("close", (code) => console.log("client-close " + code));
      client.on("message", async () => {
        await wss.close();
        console.log("server-closed clients=" + wss.clients.size);
      });
    `;
    const child = spawnChild(process.execPath, ["--input-type=module", "-e", script], { t, cwd: root, name: "server-close child" });
    const exit = await child.exited(15_000);
    assert.equal(exit.code, 0, `stdout: ${child.stdout()}\nstderr: ${child.stderr()}`);
    assert.match(child.stdout(), /client-close 1001/);
    assert.match(child.stdout(), /server-closed clients=0/);
  });
});
