// The wsx client ⇄ the wsx server over HTTP/2 (RFC 8441): echo of text and binary, the
// subprotocol, permessage-deflate negotiated and used on the wire, many sockets on one
// session, TLS with ALPN, closes both ways, a refusal, and WebSocketStream.
import assert from "node:assert/strict";
import type { Http2Session } from "node:http2";
import { test, type TestContext } from "node:test";
import { http2PoolState } from "../../src/client/http2-session-pool.js";
import { clientFailure, clientHttpVersion, WebSocket } from "../../src/client/websocket.js";
import { WebSocketStream } from "../../src/client/websocket-stream.js";
import type { WebSocketOptions } from "../../src/client/options.js";
import { HandshakeError } from "../../src/protocol/errors.js";
import { selfSignedCert } from "../helpers/certs.js";
import { startEchoServer, type EchoServer, type EchoServerOptions } from "../helpers/echo-server.js";
import { nextEvent, waitUntil, within } from "../helpers/time.js";
import { once, record } from "../client/helpers.js";

interface H2Echo {
  server: EchoServer;
  /** HTTP/2 sessions the server accepted. */
  sessions: Http2Session[];
  /** For each accepted handshake: whether it came over HTTP/2. */
  overHttp2: boolean[];
  /** The first bytes the server read on each HTTP/2 stream (the first frame's header). */
  firstBytes: Buffer[];
  /** Bytes the server read on HTTP/2 streams in all. */
  streamBytes(): number;
}

/** A wsx echo server with HTTP/2 on, recording sessions and what its streams carry. */
async function h2Echo(t: TestContext, options: EchoServerOptions = {}): Promise<H2Echo> {
  const overHttp2: boolean[] = [];
  const firstBytes: Buffer[] = [];
  let bytes = 0;
  const server = await startEchoServer(t, {
    http2: true,
    ...options,
    upgrade: (req, info) => {
      overHttp2.push(info.http2);
      if ("stream" in req) {
        // A passive observer: the client sends nothing on the stream before our 200.
        let first = true;
        req.stream.on("data", (chunk: Buffer) => {
          if (first) firstBytes.push(Buffer.from(chunk.subarray(0, 2)));
          first = false;
          bytes += chunk.length;
        });
      }
      return options.upgrade?.(req, info);
    },
  });
  const sessions: Http2Session[] = [];
  server.wss.http2Server!.on("session", (s: Http2Session) => sessions.push(s));
  return { server, sessions, overHttp2, firstBytes, streamBytes: () => bytes };
}

function client(t: TestContext, url: string, protocols: string[] = [], options: WebSocketOptions = {}): WebSocket {
  const ws = new WebSocket(url, protocols, { http2: true, ...options });
  t.after(() => {
    if (ws.readyState <= WebSocket.OPEN) ws.close();
  });
  return ws;
}

function nextMessage(ws: WebSocket): Promise<string | ArrayBuffer> {
  return once<MessageEvent>(ws, "message").then((e) => e.data as string | ArrayBuffer);
}

test("echo over HTTP/2: text, binary, the subprotocol, and a close from the client", async (t) => {
  const h2 = await h2Echo(t, { protocols: ["chat.v2"] });
  const ws = client(t, h2.server.url, ["chat.v1", "chat.v2"]);
  ws.binaryType = "arraybuffer";
  await once(ws, "open");
  assert.deepEqual(h2.overHttp2, [true]);
  assert.equal(clientHttpVersion(ws), "2");
  assert.equal(ws.protocol, "chat.v2");
  ws.send("héllo");
  assert.equal(await nextMessage(ws), "héllo");
  const big = new Uint8Array(200_000).map((_, i) => i % 251);
  ws.send(big);
  assert.deepEqual(new Uint8Array((await nextMessage(ws)) as ArrayBuffer), big);
  const r = record(ws);
  ws.close(1000, "done");
  const info = await r.closed;
  assert.equal(info.code, 1000);
  assert.equal(info.wasClean, true);
  await waitUntil(() => h2.server.closes.length === 1, "the server's close handler");
  assert.deepEqual(h2.server.closes[0], { code: 1000, reason: "done" });
});

test("permessage-deflate over HTTP/2: negotiated, and frames on the stream are compressed (RSV1)", async (t) => {
  const h2 = await h2Echo(t, { perMessageDeflate: true });
  const ws = client(t, h2.server.url, [], { perMessageDeflate: true });
  await once(ws, "open");
  assert.match(ws.extensions, /^permessage-deflate/);
  const text = "compress me ".repeat(10_000);
  ws.send(text);
  assert.equal(await nextMessage(ws), text);
  // RFC 7692 §6: RSV1 marks the compressed message; 120 kB of repetition deflates to little.
  assert.equal(h2.firstBytes[0][0] & 0x40, 0x40);
  assert.ok(h2.streamBytes() < 5_000, `the stream carried ${h2.streamBytes()} bytes for ${text.length}`);
});

test("many sockets to one origin share one HTTP/2 session, which closes after the last one", async (t) => {
  const h2 = await h2Echo(t);
  const sockets = Array.from({ length: 20 }, () => client(t, h2.server.url));
  await Promise.all(sockets.map((ws) => once(ws, "open")));
  assert.equal(h2.sessions.length, 1);
  assert.equal(h2.server.opens(), 20);
  const replies = await Promise.all(
    sockets.map((ws, i) => {
      const m = nextMessage(ws);
      ws.send(`#${i}`);
      return m;
    }),
  );
  assert.deepEqual(replies, sockets.map((_, i) => `#${i}`));
  const sessionClosed = nextEvent(h2.sessions[0], "close", 10_000);
  await Promise.all(
    sockets.map((ws) => {
      const r = record(ws);
      ws.close();
      return r.closed;
    }),
  );
  // The client closes the idle session (GOAWAY) on its own: nothing keeps the process alive.
  await sessionClosed;
});

test("wss over HTTP/2: ALPN h2, the certificate trusted with `ca`", async (t) => {
  const { cert, key } = selfSignedCert();
  const h2 = await h2Echo(t, { http2: { cert, key } });
  const url = `wss://localhost:${h2.server.port}/`;
  const a = client(t, url, [], { ca: cert });
  const b = client(t, url, [], { ca: cert });
  await Promise.all([once(a, "open"), once(b, "open")]);
  assert.deepEqual(h2.overHttp2, [true, true]);
  assert.equal(h2.sessions.length, 1);
  a.send("secure");
  assert.equal(await nextMessage(a), "secure");
  // Different TLS options never share a session (the same options, given anew, do).
  const same = client(t, url, [], { ca: Buffer.from(cert) });
  await once(same, "open");
  assert.equal(h2.sessions.length, 1);
  const c = client(t, url, [], { rejectUnauthorized: false });
  await once(c, "open");
  assert.equal(h2.sessions.length, 2);
});

test("the server closes: the code and reason reach the client over HTTP/2; a terminated socket closes 1006 alone", async (t) => {
  const h2 = await h2Echo(t);
  const a = client(t, `${h2.server.url}a`);
  const b = client(t, `${h2.server.url}b`);
  await Promise.all([once(a, "open"), once(b, "open")]);
  const ra = record(a);
  const rb = record(b);
  // Close `a` from the server with a code; terminate `b` (RFC 8441 §6: RST_STREAM CANCEL).
  const clients = [...h2.server.wss.clients];
  assert.equal(clients.length, 2);
  a.send("who");
  await nextMessage(a);
  clients[0].close(4001, "server says bye");
  clients[1].terminate();
  const [ia, ib] = await Promise.all([ra.closed, rb.closed]);
  const infos = [ia, ib].sort((x, y) => x.code - y.code);
  assert.deepEqual(
    infos.map((i) => [i.code, i.wasClean]),
    [
      [1006, false],
      [4001, true],
    ],
  );
  assert.equal([ia, ib].find((i) => i.code === 4001)!.reason, "server says bye");
  // The session survived both.
  const c = client(t, h2.server.url);
  await once(c, "open");
  assert.equal(h2.sessions.length, 1);
});

test("a refusal by the upgrade hook over HTTP/2: error, close 1006, the status and body", async (t) => {
  const h2 = await h2Echo(t, {
    upgrade: () => {
      throw new HandshakeError(401, "invalid token");
    },
  });
  const ws = client(t, h2.server.url);
  const { log, closed } = record(ws);
  await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  const failure = clientFailure(ws) as HandshakeError & { body?: string };
  assert.ok(failure instanceof HandshakeError);
  assert.equal(failure.status, 401);
  assert.match(failure.body ?? "", /invalid token/);
  assert.deepEqual(h2.overHttp2, [true]);
});

test("WebSocketStream over HTTP/2: write, read, close", async (t) => {
  const h2 = await h2Echo(t, { perMessageDeflate: true });
  const wss = new WebSocketStream(h2.server.url, { protocols: [] }, { http2: true, perMessageDeflate: true });
  t.after(() => wss.close());
  const { readable, writable, extensions } = await within(wss.opened, "opened");
  assert.match(extensions, /^permessage-deflate/);
  assert.deepEqual(h2.overHttp2, [true]);
  const writer = writable.getWriter();
  const reader = readable.getReader();
  await writer.write("stream over h2");
  assert.deepEqual(await reader.read(), { value: "stream over h2", done: false });
  await writer.write(new Uint8Array([9, 8, 7]));
  const bin = await reader.read();
  assert.deepEqual(new Uint8Array(bin.value as ArrayBuffer), new Uint8Array([9, 8, 7]));
  wss.close({ closeCode: 1000, reason: "fin" });
  // The server answers with the code (RFC 6455 §5.5.1) and saw our reason.
  assert.equal((await within(wss.closed, "closed")).closeCode, 1000);
  await waitUntil(() => h2.server.closes.length === 1, "the server's close handler");
  assert.deepEqual(h2.server.closes[0], { code: 1000, reason: "fin" });
});

test("the pool holds no session once every socket is gone", async (t) => {
  const h2 = await h2Echo(t);
  const key = `127.0.0.1:${h2.server.port}`;
  const ws = client(t, h2.server.url);
  await once(ws, "open");
  assert.equal(http2PoolState(key).sessions, 1);
  const r = record(ws);
  ws.close();
  await r.closed;
  await waitUntil(() => http2PoolState(key).sessions === 0, "the idle session to leave the pool", 10_000);
});
