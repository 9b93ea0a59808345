// WebSocketServer over HTTP/2 (RFC 8441): the same handlers, hook, limits and shutdown as over
// HTTP/1.1, with the stream in place of the TCP connection.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createSecureServer, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import WebSocket from "ws";
import { HandshakeError } from "../../src/protocol/errors.js";
import type { UpgradeInfo } from "../../src/server/options.js";
import type { UpgradeRequestMessage } from "../../src/server/pending-handshake.js";
import { WebSocketServer } from "../../src/server/server.js";
import { selfSignedCert } from "../helpers/certs.js";
import { startEchoServer } from "../helpers/echo-server.js";
import { connectRaw, Opcode, rawHandshake } from "../helpers/raw-client.js";
import { connectRawH2, exchangeH2, openH2Session } from "../helpers/raw-h2-client.js";
import { waitUntil } from "../helpers/time.js";

describe("http2: accepting RFC 8441 streams", () => {
  test("h2c: text and binary echo; the hook sees :authority, :path, origin, offered protocols and extensions", async (t) => {
    let seen: { req: UpgradeRequestMessage; info: UpgradeInfo } | undefined;
    const server = await startEchoServer(t, {
      http2: true,
      protocols: ["chat.v2"],
      upgrade: (req, info) => {
        seen = { req, info: { ...info } };
        return { user: "ann" };
      },
    });
    const c = await connectRawH2(server.port, {
      t,
      path: "/room?id=7",
      headers: { origin: "https://app.example", "sec-websocket-protocol": "chat.v1, chat.v2", "sec-websocket-extensions": "x-unknown" },
    });
    assert.equal(c.responseHeaders["sec-websocket-protocol"], "chat.v2");
    assert.equal(c.responseHeaders["sec-websocket-extensions"], undefined);
    c.sendText("héllo");
    assert.equal((await c.nextFrame()).payload.toString(), "héllo");
    const bytes = Buffer.from([0, 1, 2, 255]);
    c.sendBinary(bytes);
    const echoed = await c.nextFrame();
    assert.equal(echoed.opcode, Opcode.BINARY);
    assert.ok(echoed.payload.equals(bytes));
    assert.ok(seen !== undefined);
    assert.deepEqual(seen.info, {
      protocols: ["chat.v1", "chat.v2"],
      origin: "https://app.example",
      protocol: "chat.v2",
      extensions: "x-unknown",
      authority: `127.0.0.1:${server.port}`,
      path: "/room?id=7",
      http2: true,
    });
    assert.equal(seen.req.method, "CONNECT");
    assert.equal(seen.req.httpVersion, "2.0");
    assert.equal(seen.req.url, "/room?id=7");
    assert.equal(seen.req.headers[":protocol"], "websocket");
    const ws = [...server.wss.clients][0];
    assert.deepEqual(ws.data, { user: "ann" });
    assert.equal(ws.protocol, "chat.v2");
    assert.equal(ws.remoteAddress, "127.0.0.1");
    c.sendClose(1000, "done");
    await c.expectClose(1000);
    assert.equal(c.rstCode(), 0, "the stream ends with END_STREAM both ways, no RST_STREAM");
    await waitUntil(() => server.closes.length === 1, "the close handler");
    assert.deepEqual(server.closes, [{ code: 1000, reason: "done" }]);
  });

  test("stats() counts a stream's WebSocket bytes as its wire bytes, and keeps them after it closes", async (t) => {
    const server = await startEchoServer(t, { http2: true });
    const c = await connectRawH2(server.port, { t });
    const payload = Buffer.alloc(1000, 7);
    for (let i = 0; i < 3; i++) {
      c.sendBinary(payload);
      assert.equal((await c.nextFrame()).payload.length, payload.length);
    }
    const s = server.wss.stats();
    // Client frames: 1000 B + a 4-byte header (126 length) + a 4-byte mask; server frames: no mask.
    assert.equal(s.wireBytesIn, 3 * 1008);
    assert.equal(s.wireBytesOut, 3 * 1004);
    assert.equal(s.bytesIn, 3000);
    c.sendClose(1000);
    assert.equal((await c.nextFrame()).opcode, Opcode.CLOSE);
    await waitUntil(() => server.wss.stats().connections === 0, "the stream's WebSocket closed");
    const after = server.wss.stats();
    assert.ok(after.wireBytesIn >= s.wireBytesIn && after.wireBytesOut >= s.wireBytesOut, "closed streams stay counted");
  });

  test("refusals are HTTP statuses on the stream: hook HandshakeError, version, origin, capacity", async (t) => {
    const server = await startEchoServer(t, {
      http2: true,
      origins: ["https://ok.example"],
      maxConnections: 1,
      upgrade: (req) => {
        if (req.headers.authorization !== "Bearer good") throw new HandshakeError(401, "who are you", { "WWW-Authenticate": "Bearer", Connection: "close" });
      },
    });
    const session = await openH2Session(server.port, { t });
    const good = { origin: "https://ok.example", authorization: "Bearer good" };
    const hook = await exchangeH2(session, server.port, { headers: { origin: "https://ok.example" } });
    assert.equal(hook.status, 401);
    assert.equal(hook.headers["www-authenticate"], "Bearer");
    assert.equal(hook.headers["connection"], undefined, "no connection-specific header over HTTP/2");
    assert.equal(hook.body, "who are you");
    const version = await exchangeH2(session, server.port, { headers: { ...good, "sec-websocket-version": "12" } });
    assert.equal(version.status, 426);
    assert.equal(version.headers["sec-websocket-version"], "13");
    const origin = await exchangeH2(session, server.port, { headers: { ...good, origin: "https://evil.example" } });
    assert.equal(origin.status, 403);
    const first = await connectRawH2(server.port, { t, session, headers: good });
    const full = await exchangeH2(session, server.port, { headers: good });
    assert.equal(full.status, 503);
    // The refusals did not disturb the open WebSocket on the same connection.
    first.sendText("still here");
    assert.equal((await first.nextFrame()).payload.toString(), "still here");
    const stats = server.wss.stats();
    assert.deepEqual([stats.handshakesRejected.hook, stats.handshakesRejected.invalid, stats.handshakesRejected.origin, stats.handshakesRejected.capacity], [1, 1, 1, 1]);
    // A plain GET to the WebSocket-only listener is answered, not left hanging.
    const get = await exchangeH2(session, server.port, { headers: { ":method": "GET", ":protocol": undefined } });
    assert.equal(get.status, 400);
  });

  test("own listener with `path`: a WebSocket on another path gets 404, not silence", async (t) => {
    const server = await startEchoServer(t, { http2: true, path: "/ws" });
    const session = await openH2Session(server.port, { t });
    assert.equal((await exchangeH2(session, server.port, { path: "/elsewhere" })).status, 404);
    const c = await connectRawH2(server.port, { t, session, path: "/ws?x=1" });
    c.sendText("right path");
    assert.equal((await c.nextFrame()).payload.toString(), "right path");
  });

  test("permessage-deflate is negotiated and used over the stream", async (t) => {
    const server = await startEchoServer(t, { http2: true, perMessageDeflate: { threshold: 0 } });
    const c = await connectRawH2(server.port, { t, headers: { "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" } });
    assert.match(String(c.responseHeaders["sec-websocket-extensions"]), /^permessage-deflate/);
    const text = "compress me ".repeat(50);
    const deflated = deflateRawSync(Buffer.from(text), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    c.sendFrame({ opcode: Opcode.TEXT, rsv1: true, payload: deflated.subarray(0, deflated.length - 4) });
    const f = await c.nextFrame();
    assert.equal(f.rsv1, true, "the echo is compressed");
    const inflated = inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: 2 });
    assert.equal(inflated.toString(), text);
  });

  test("pub/sub reaches subscribers over HTTP/2 and HTTP/1.1 alike", async (t) => {
    const server = await startEchoServer(t, {
      http2: true,
      open: (ws) => void ws.subscribe("news"),
      message: (ws, data) => void ws.publish("news", data, false),
    });
    const h2a = await connectRawH2(server.port, { t });
    const h2b = await connectRawH2(server.port, { t, session: h2a.session });
    const h1 = await connectRaw(server.port, { t });
    await waitUntil(() => server.wss.subscriberCount("news") === 3, "three subscribers");
    h2a.sendText("from h2");
    assert.equal((await h2b.nextFrame()).payload.toString(), "from h2");
    assert.equal((await h1.nextFrame()).payload.toString(), "from h2");
    h1.sendText("from h1");
    assert.equal((await h2a.nextFrame()).payload.toString(), "from h1");
    assert.equal((await h2b.nextFrame()).payload.toString(), "from h1");
  });

  test("sendStream waits on the HTTP/2 stream's drain: 4 MiB in 64 KiB fragments arrive whole and in order", async (t) => {
    const server = await startEchoServer(t, { http2: true });
    const c = await connectRawH2(server.port, { t });
    await waitUntil(() => server.wss.clients.size === 1, "the connection");
    const [ws] = server.wss.clients;
    const pieces = function* (): Generator<Buffer> {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024, i);
    };
    const sent = ws.sendStream(pieces(), true);
    let total = 0;
    let fin = false;
    for (let frames = 0; !fin; frames++) {
      assert.ok(frames < 100_000, "a bounded number of frames");
      const f = await c.nextFrame();
      for (let i = 0; i < f.payload.length; i += 4096) assert.equal(f.payload[i], Math.floor((total + i) / (64 * 1024)));
      total += f.payload.length;
      fin = f.fin;
    }
    assert.equal(total, 4 * 1024 * 1024);
    assert.equal(await sent, true);
  });

  test("maxPayload closes the stream's WebSocket with 1009, other streams on the connection go on", async (t) => {
    const server = await startEchoServer(t, { http2: true, maxPayload: 1000 });
    const big = await connectRawH2(server.port, { t });
    const small = await connectRawH2(server.port, { t, session: big.session });
    big.sendBinary(Buffer.alloc(1001));
    await big.expectClose(1009);
    small.sendText("ok");
    assert.equal((await small.nextFrame()).payload.toString(), "ok");
  });

  test("terminate() resets only that stream, with CANCEL (RFC 8441 §6: TCP's RST)", async (t) => {
    const server = await startEchoServer(t, { http2: true });
    const killed = await connectRawH2(server.port, { t });
    const other = await connectRawH2(server.port, { t, session: killed.session });
    await waitUntil(() => server.wss.clients.size === 2, "two connections");
    const [first] = server.wss.clients;
    first.terminate();
    await killed.closed();
    assert.equal(killed.rstCode(), 8, "NGHTTP2_CANCEL");
    await waitUntil(() => server.closes.length === 1, "the close handler");
    assert.deepEqual(server.closes, [{ code: 1006, reason: "" }]);
    other.sendText("unaffected");
    assert.equal((await other.nextFrame()).payload.toString(), "unaffected");
  });

  test("the idle timeout drops a quiet stream, not the connection", async (t) => {
    const server = await startEchoServer(t, { http2: true, idleTimeout: 300, sendPings: false });
    const idle = await connectRawH2(server.port, { t });
    await idle.closed();
    assert.notEqual(idle.rstCode(), undefined);
    await waitUntil(() => server.closes.some((c) => c.code === 1006), "the close handler with 1006");
    assert.match(server.errors[0]?.message ?? "", /idle timeout/);
    // The connection survives its stream: a new WebSocket opens on it.
    const again = await connectRawH2(server.port, { t, session: idle.session });
    again.sendText("fresh");
    assert.equal((await again.nextFrame()).payload.toString(), "fresh");
  });

  test("a peer's RST_STREAM or a dropped connection ends those WebSockets with 1006, nothing else", async (t) => {
    const server = await startEchoServer(t, { http2: true });
    const reset = await connectRawH2(server.port, { t });
    const survivor = await connectRawH2(server.port, { t, session: reset.session });
    reset.socket.close(8); // RST_STREAM CANCEL from the client
    await waitUntil(() => server.closes.length === 1, "the close handler of the reset stream");
    assert.deepEqual(server.closes, [{ code: 1006, reason: "" }]);
    survivor.sendText("alive");
    assert.equal((await survivor.nextFrame()).payload.toString(), "alive");
    // The whole connection goes: every WebSocket on it is closed, once each.
    const session = await openH2Session(server.port, { t });
    const onIt = await Promise.all([1, 2, 3].map(() => connectRawH2(server.port, { t, session })));
    assert.equal(onIt.length, 3);
    session.session.destroy();
    await waitUntil(() => server.closes.length === 4, "three more close handlers");
    assert.deepEqual(server.closes.slice(1), [1, 2, 3].map(() => ({ code: 1006, reason: "" })));
    assert.equal(server.wss.clients.size, 1);
  });

  test("header count and hook time limits apply to streams: 431 and 408", async (t) => {
    const server = await startEchoServer(t, {
      http2: true,
      maxHeaderCount: 10,
      handshakeTimeout: 200,
      upgrade: (req) => (req.url === "/slow" ? new Promise(() => {}) : undefined),
    });
    const session = await openH2Session(server.port, { t });
    const headers: Record<string, string> = {};
    for (let i = 0; i < 12; i++) headers[`x-h${i}`] = "1";
    assert.equal((await exchangeH2(session, server.port, { headers })).status, 431);
    assert.equal((await exchangeH2(session, server.port, { path: "/slow" })).status, 408);
    const stats = server.wss.stats();
    assert.deepEqual([stats.handshakesRejected.headers, stats.handshakesRejected.timeout], [1, 1]);
  });

  test("graceful shutdown: 1001 on every WebSocket stream, then GOAWAY", async (t) => {
    const server = await startEchoServer(t, { http2: true });
    const a = await connectRawH2(server.port, { t });
    const b = await connectRawH2(server.port, { t, session: a.session });
    const events: string[] = [];
    a.session.session.on("goaway", (code: number) => events.push(`goaway ${code}`));
    const closing = server.wss.close();
    // A new WebSocket on the open connection during the drain is refused with 503.
    const late = await exchangeH2(a.session, server.port);
    assert.equal(late.status, 503);
    const [ca, cb] = await Promise.all([a.expectClose(1001), b.expectClose(1001)]);
    events.push("both closed");
    assert.equal(ca.reason, "server shutting down");
    assert.equal(cb.reason, "server shutting down");
    await closing;
    await waitUntil(() => events.includes("goaway 0"), "GOAWAY");
    assert.equal(events[0], "both closed", "GOAWAY only after every WebSocket's close handshake");
    const refused = await connectRawH2(server.port, { timeoutMs: 2000 }).then(
      () => "connected",
      () => "refused",
    );
    assert.equal(refused, "refused");
  });

  test("cleartext: the HTTP/2 preface decides, even split across writes; anything else is HTTP/1.1; silence is dropped", async (t) => {
    const server = await startEchoServer(t, { http2: true, handshakeTimeout: 300 });
    // A POST starts like the preface ("P"): HTTP/1.1 answers it (426 from the WebSocket-only server).
    const post = await rawHandshake(server.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert.equal(post.status, 426);
    // The preface in three pieces, then an empty SETTINGS frame: the server answers in HTTP/2,
    // its SETTINGS carrying SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) = 1 (RFC 8441 §3).
    const socket = connect({ host: "127.0.0.1", port: server.port });
    t.after(() => socket.destroy());
    await once(socket, "connect");
    for (const piece of ["PRI * HT", "TP/2.0\r\n\r", "\nSM\r\n\r\n"]) {
      socket.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    let got = Buffer.alloc(0);
    await waitUntil(() => {
      got = Buffer.concat(chunks);
      return got.length >= 9 && got.length >= 9 + got.readUIntBE(0, 3);
    }, "the server's first HTTP/2 frame");
    assert.equal(got[3], 4, "the server's first frame is SETTINGS");
    const settings = new Map<number, number>();
    for (let at = 9; at + 6 <= 9 + got.readUIntBE(0, 3); at += 6) settings.set(got.readUInt16BE(at), got.readUInt32BE(at + 2));
    assert.equal(settings.get(0x8), 1);
    // A connection that sends nothing is closed after the handshake timeout.
    const silent = connect({ host: "127.0.0.1", port: server.port });
    t.after(() => silent.destroy());
    silent.on("error", () => {});
    await once(silent, "close");
  });

  test("TLS: h2 (ALPN) and HTTP/1.1 upgrades on one port", async (t) => {
    const { cert, key } = selfSignedCert();
    const server = await startEchoServer(t, { http2: { cert, key } });
    const h2 = await connectRawH2(server.port, { t, ca: cert });
    h2.sendText("over h2");
    assert.equal((await h2.nextFrame()).payload.toString(), "over h2");
    const h1 = new WebSocket(`wss://localhost:${server.port}/`, { ca: cert });
    t.after(() => h1.terminate());
    await new Promise((resolve, reject) => h1.once("open", resolve).once("error", reject));
    const reply = new Promise<string>((resolve) => h1.once("message", (d) => resolve(String(d))));
    h1.send("over h1");
    assert.equal(await reply, "over h1");
    assert.equal(server.wss.clients.size, 2);
  });
});

describe("http2: a user's node:http2 server", () => {
  test("attached with `server`: pages by the compatibility API, WebSockets on h2 and h1 by wsx", async (t) => {
    const { cert, key } = selfSignedCert();
    const http2Server = createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
      res.end(`page ${req.url}`);
    });
    const wss = new WebSocketServer({ server: http2Server, path: "/ws", message: (ws, data, isBinary) => void ws.send(data, isBinary) });
    await new Promise<void>((resolve) => http2Server.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      for (const ws of wss.clients) ws.terminate();
      await wss.close();
      http2Server.close();
    });
    const port = (http2Server.address() as { port: number }).port;
    const session = await openH2Session(port, { t, ca: cert });
    assert.equal(session.enableConnectProtocol, true);
    const page = await exchangeH2(session, port, { ca: cert, path: "/index.html", headers: { ":method": "GET", ":protocol": undefined } });
    assert.equal(page.status, 200);
    assert.equal(page.body, "page /index.html");
    const c = await connectRawH2(port, { t, ca: cert, session, path: "/ws" });
    c.sendText("attached");
    assert.equal((await c.nextFrame()).payload.toString(), "attached");
    const wrongPath = await exchangeH2(session, port, { ca: cert, path: "/nope" });
    assert.equal(wrongPath.status, 404);
    const h1 = new WebSocket(`wss://localhost:${port}/ws`, { ca: cert });
    t.after(() => h1.terminate());
    await new Promise((resolve, reject) => h1.once("open", resolve).once("error", reject));
    assert.equal(wss.clients.size, 2);
  });

  test("noServer: handleStream from the user's own 'stream' listener", async (t) => {
    const { cert, key } = selfSignedCert();
    const http2Server = createSecureServer({ cert, key, settings: { enableConnectProtocol: true } });
    const wss = new WebSocketServer({ noServer: true, message: (ws, data) => void ws.send(data) });
    http2Server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      if (headers[":method"] === "CONNECT") wss.handleStream(stream, headers, rawHeaders);
      else stream.respond({ ":status": 204 }, { endStream: true });
    });
    await new Promise<void>((resolve) => http2Server.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      for (const ws of wss.clients) ws.terminate();
      await wss.close();
      http2Server.close();
    });
    const port = (http2Server.address() as { port: number }).port;
    const c = await connectRawH2(port, { t, ca: cert });
    c.sendText("by hand");
    assert.equal((await c.nextFrame()).payload.toString(), "by hand");
  });
});
