// The HTTP/2 client falls back to HTTP/1.1 when the origin does not accept RFC 8441: a
// cleartext HTTP/1.1 server (the preface is refused), a TLS server whose ALPN picks
// http/1.1 (the TLS connection is reused for the upgrade), an HTTP/2 server without
// SETTINGS_ENABLE_CONNECT_PROTOCOL; the verdict is remembered; an unresponsive origin fails
// within the one handshake timeout without a second attempt.
import assert from "node:assert/strict";
import { once as onceEvent } from "node:events";
import { createSecureServer, type Http2Session } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { test, type TestContext } from "node:test";
import { http2PoolState } from "../../src/client/http2-session-pool.js";
import { clientFailure, clientHttpVersion, WebSocket } from "../../src/client/websocket.js";
import type { WebSocketOptions } from "../../src/client/options.js";
import { WebSocketServer } from "../../src/server/server.js";
import { selfSignedCert } from "../helpers/certs.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { nextEvent } from "../helpers/time.js";
import { once, record } from "../client/helpers.js";

function client(t: TestContext, url: string, options: WebSocketOptions = {}): WebSocket {
  const ws = new WebSocket(url, [], { http2: true, ...options });
  t.after(() => {
    if (ws.readyState <= WebSocket.OPEN) ws.close();
  });
  return ws;
}

async function echoOnce(ws: WebSocket, text: string): Promise<void> {
  const reply = once<MessageEvent>(ws, "message");
  ws.send(text);
  assert.equal((await reply).data, text);
}

/** A wsx echo server attached to `server` (noServer + its upgrade event), recording HTTP versions. */
function attachEcho(t: TestContext, server: { on(event: "upgrade", fn: (...args: any[]) => void): unknown }): { versions: string[] } {
  const versions: string[] = [];
  const wss = new WebSocketServer({
    noServer: true,
    message: (ws, data, isBinary) => void ws.send(data, isBinary),
  });
  server.on("upgrade", (req, socket, head) => {
    versions.push(req.httpVersion);
    wss.handleUpgrade(req, socket, head);
  });
  t.after(() => wss.close());
  return { versions };
}

test("cleartext HTTP/1.1 server: the preface is refused, the socket opens over HTTP/1.1, the verdict is kept", async (t) => {
  const server = await startEchoServer(t);
  const origin = `127.0.0.1:${server.port}`;
  let connections = 0;
  server.wss.httpServer!.on("connection", () => connections++);
  const first = client(t, server.url);
  await once(first, "open");
  assert.equal(clientHttpVersion(first), "1.1");
  await echoOnce(first, "over h1");
  // One connection refused the HTTP/2 preface, one carried the upgrade.
  assert.equal(connections, 2);
  assert.equal(http2PoolState(origin).verdicts, 1);
  assert.equal(http2PoolState(origin).sessions, 0);
  // Remembered: the next socket goes straight to HTTP/1.1.
  const second = client(t, server.url);
  await once(second, "open");
  assert.equal(connections, 3);
  await echoOnce(second, "still h1");
});

test("TLS server speaking HTTP/1.1 only: ALPN picks http/1.1 and that connection carries the upgrade", async (t) => {
  const { cert, key } = selfSignedCert();
  const https = createHttpsServer({ cert, key });
  const { versions } = attachEcho(t, https);
  let connections = 0;
  https.on("secureConnection", () => connections++);
  https.listen(0, "127.0.0.1");
  await onceEvent(https, "listening");
  t.after(() => {
    https.closeAllConnections();
    return new Promise<void>((r) => https.close(() => r()));
  });
  const url = `wss://localhost:${(https.address() as AddressInfo).port}/`;
  const first = client(t, url, { ca: cert });
  await once(first, "open");
  assert.equal(clientHttpVersion(first), "1.1");
  await echoOnce(first, "tls h1");
  assert.deepEqual(versions, ["1.1"]);
  // No second connection: the one ALPN settled on was used.
  assert.equal(connections, 1);
  const second = client(t, url, { ca: cert });
  await once(second, "open");
  assert.equal(connections, 2);
});

test("HTTP/2 server without ENABLE_CONNECT_PROTOCOL: the session is dropped, HTTP/1.1 is used, the verdict is kept", async (t) => {
  const { cert, key } = selfSignedCert();
  // allowHTTP1: the same port serves the HTTP/1.1 upgrade; no enableConnectProtocol.
  const h2 = createSecureServer({ cert, key, allowHTTP1: true });
  const { versions } = attachEcho(t, h2);
  const sessions: Http2Session[] = [];
  h2.on("session", (s: Http2Session) => {
    sessions.push(s);
    s.on("error", () => {});
  });
  h2.listen(0, "127.0.0.1");
  await onceEvent(h2, "listening");
  t.after(() => {
    for (const s of sessions) s.destroy();
    return new Promise<void>((r) => h2.close(() => r()));
  });
  const url = `wss://localhost:${(h2.address() as AddressInfo).port}/`;
  const first = client(t, url, { ca: cert });
  await once(first, "open");
  await echoOnce(first, "fell back");
  assert.deepEqual(versions, ["1.1"]);
  assert.equal(sessions.length, 1);
  // The client closes the useless session itself.
  if (!sessions[0].closed) await nextEvent(sessions[0], "close");
  const second = client(t, url, { ca: cert });
  await once(second, "open");
  assert.equal(sessions.length, 1, "the verdict is kept: no new HTTP/2 attempt");
  assert.deepEqual(versions, ["1.1", "1.1"]);
});

/** A TCP server that accepts and never answers (reads and drops), closed with its sockets when `t` ends. */
async function silentServer(t: TestContext): Promise<{ silent: NetServer; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const silent = createNetServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    s.resume();
  });
  silent.listen(0, "127.0.0.1");
  await onceEvent(silent, "listening");
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => silent.close(() => r()));
  });
  return { silent, sockets };
}

test("an origin that accepts TCP and never answers fails within the one timeout, without a fallback attempt", async (t) => {
  const { silent, sockets } = await silentServer(t);
  const ws = client(t, `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { handshakeTimeout: 300 });
  const { log, closed } = record(ws);
  await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.match(clientFailure(ws)!.message, /timed out after 300 ms/);
  // The HTTP/2 attempt used the whole budget: no HTTP/1.1 connection followed.
  assert.equal(sockets.length, 1);
  // The session that never got SETTINGS is not left behind: the client drops the connection.
  if (!sockets[0].closed) await nextEvent(sockets[0], "close");
});

test("wss: a server that never finishes the TLS handshake fails the socket and its connection is dropped", async (t) => {
  const { silent, sockets } = await silentServer(t);
  const ws = client(t, `wss://localhost:${(silent.address() as AddressInfo).port}/`, { handshakeTimeout: 300 });
  const { log, closed } = record(ws);
  await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.equal(sockets.length, 1);
  if (!sockets[0].closed) await nextEvent(sockets[0], "close");
});

test("an unreachable origin fails (no fallback to HTTP/1.1)", async (t) => {
  const probe = createNetServer();
  probe.listen(0, "127.0.0.1");
  await onceEvent(probe, "listening");
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const ws = client(t, `ws://127.0.0.1:${port}/`);
  const { log, closed } = record(ws);
  await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.equal((clientFailure(ws) as NodeJS.ErrnoException).code, "ECONNREFUSED");
  assert.equal(http2PoolState(`127.0.0.1:${port}`).verdicts, 0);
});

test("with a proxy, http2 is ignored and the HTTP/1.1 path reports the proxy", async (t) => {
  // An invalid proxy URL: the HTTP/1.1 path fails with it (HTTP/2 is never tried through a proxy).
  const ws = client(t, "ws://127.0.0.1:9/", { proxy: "not a url" });
  const { log, closed } = record(ws);
  await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.match(clientFailure(ws)!.message, /Invalid URL/i);
});
