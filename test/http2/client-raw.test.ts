// The client's WebSocket over HTTP/2 (RFC 8441) against a hand-driven node:http2 server:
// what the extended CONNECT carries, that frames flow both ways on the stream, one session
// per origin, refusals, a wrong subprotocol, RST_STREAM and a dropped session failing only
// the affected sockets, the handshake timeout, and the session closing after the last socket.
import assert from "node:assert/strict";
import { constants } from "node:http2";
import { test } from "node:test";
import { clientFailure, WebSocket } from "../../src/client/websocket.js";
import { WebSocketStream } from "../../src/client/websocket-stream.js";
import { HandshakeError } from "../../src/protocol/errors.js";
import { collectClientFrames, once, record, serverFrame } from "../client/helpers.js";
import { echoAnswer, startRawH2Server } from "../helpers/raw-h2-server.js";
import { nextEvent, waitUntil, within } from "../helpers/time.js";

/** Opens a client over HTTP/2 and closes it (no handshake to wait for) when `t` ends. */
function h2Client(t: { after(fn: () => void): void }, url: string, protocols: string[] = [], options: ConstructorParameters<typeof WebSocket>[2] = {}): WebSocket {
  const ws = new WebSocket(url, protocols, { http2: true, ...options });
  t.after(() => {
    if (ws.readyState <= WebSocket.OPEN) ws.close();
  });
  return ws;
}

test("RFC 8441 §4-5: the extended CONNECT carries :protocol, the target and the WebSocket headers, no key", async (t) => {
  const h2 = await startRawH2Server(t);
  const ws = h2Client(t, `${h2.url}chat?room=1`, ["chat.v1", "chat.v2"], { origin: "https://app.example", headers: { "X-Token": "abc", Host: "ignored", Connection: "keep-alive" }, perMessageDeflate: true });
  await once(ws, "open");
  const req = h2.requests[0];
  assert.equal(req[":method"], "CONNECT");
  assert.equal(req[":protocol"], "websocket");
  assert.equal(req[":scheme"], "http");
  assert.equal(req[":path"], "/chat?room=1");
  assert.equal(req[":authority"], `127.0.0.1:${h2.port}`);
  assert.equal(req["sec-websocket-version"], "13");
  assert.equal(req["sec-websocket-protocol"], "chat.v1, chat.v2");
  assert.match(String(req["sec-websocket-extensions"]), /^permessage-deflate/);
  assert.equal(req["origin"], "https://app.example");
  assert.equal(req["x-token"], "abc");
  // RFC 8441 §5: no key/accept exchange; RFC 9113 §8.2.2: no connection-specific fields.
  assert.equal(req["sec-websocket-key"], undefined);
  assert.equal(req["connection"], undefined);
  assert.equal(req["host"], undefined);
  assert.equal(ws.protocol, "chat.v1");
  // The raw server accepted no extension: none in use.
  assert.equal(ws.extensions, "");
});

test("frames cross the stream both ways: masked from the client, unmasked to it", async (t) => {
  const h2 = await startRawH2Server(t, { answer: (stream) => stream.respond({ ":status": 200 }) });
  const ws = h2Client(t, h2.url);
  await once(ws, "open");
  const stream = h2.streams[0];
  const seen = collectClientFrames(stream);
  ws.send("hello");
  ws.send(new Uint8Array([1, 2, 3]));
  await waitUntil(() => seen.frames.length === 2, "two client frames on the stream");
  assert.deepEqual(
    seen.frames.map((f) => [f.opcode, f.masked, f.payload.toString("hex")]),
    [
      [1, true, Buffer.from("hello").toString("hex")],
      [2, true, "010203"],
    ],
  );
  const message = once<MessageEvent>(ws, "message");
  stream.write(serverFrame(1, "from server"));
  assert.equal((await message).data, "from server");
  // Close handshake on the stream, then the stream ends (RFC 8441 §5: the stream's end is the TCP close).
  const { closed } = record(ws);
  ws.close(1000, "bye");
  await waitUntil(() => seen.frames.length === 3, "the close frame");
  assert.equal(seen.frames[2].opcode, 8);
  stream.write(serverFrame(8, Buffer.from([0x03, 0xe8])));
  stream.end();
  const info = await closed;
  assert.equal(info.code, 1000);
  assert.equal(info.wasClean, true);
});

test("many sockets to one origin share one session; it closes after the last socket", async (t) => {
  const h2 = await startRawH2Server(t);
  const sockets = Array.from({ length: 8 }, () => h2Client(t, h2.url));
  await Promise.all(sockets.map((ws) => once(ws, "open")));
  assert.equal(h2.sessions.length, 1);
  assert.equal(h2.streams.length, 8);
  // A socket opened later reuses it too.
  const late = h2Client(t, h2.url);
  await once(late, "open");
  assert.equal(h2.sessions.length, 1);
  const echoed = once<MessageEvent>(late, "message");
  late.send("echo");
  assert.equal((await echoed).data, "echo");
  const sessionClosed = nextEvent(h2.sessions[0], "close", 10_000);
  for (const ws of [...sockets, late]) {
    const r = record(ws);
    ws.close();
    // The echo server pipes our close frame back and ends the stream with us.
    assert.equal((await r.closed).code, 1005);
  }
  // Idle: the client closes the session (GOAWAY), so nothing keeps the process alive.
  await sessionClosed;
});

test("a refusal (non-2xx) fails the connection: error, then close 1006, with the status and body", async (t) => {
  const h2 = await startRawH2Server(t, {
    answer: (stream) => {
      stream.respond({ ":status": 403, "content-type": "text/plain" });
      stream.end("invalid token");
    },
  });
  const ws = h2Client(t, h2.url);
  const { log, closed } = record(ws);
  const info = await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.equal(info.wasClean, false);
  const failure = clientFailure(ws);
  assert.ok(failure instanceof HandshakeError);
  assert.equal(failure.status, 403);
  assert.equal((failure as HandshakeError & { body: string }).body, "invalid token");
});

test("RFC 6455 §4.1: a subprotocol that was not offered, or none when some were, fails the connection", async (t) => {
  const h2 = await startRawH2Server(t, {
    answer: (stream, headers) => stream.respond({ ":status": 200, ...(headers[":path"] === "/wrong" ? { "sec-websocket-protocol": "other" } : {}) }),
  });
  for (const path of ["wrong", "none"]) {
    const ws = h2Client(t, `${h2.url}${path}`, ["chat.v1"]);
    const { log } = record(ws);
    await record(ws).closed;
    assert.deepEqual(log, ["error", "close:1006"], path);
    assert.ok(clientFailure(ws) instanceof HandshakeError, path);
  }
  // An extension that was not offered.
  const h2b = await startRawH2Server(t, { answer: (stream) => stream.respond({ ":status": 200, "sec-websocket-extensions": "permessage-deflate" }) });
  const ws = h2Client(t, h2b.url);
  const { log, closed } = record(ws);
  await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.match(clientFailure(ws)!.message, /not offered/);
});

test("RST_STREAM on one socket's stream closes that socket (1006) only", async (t) => {
  const h2 = await startRawH2Server(t);
  const a = h2Client(t, `${h2.url}a`);
  const b = h2Client(t, `${h2.url}b`);
  await Promise.all([once(a, "open"), once(b, "open")]);
  const ra = record(a);
  h2.streams[h2.requests.findIndex((r) => r[":path"] === "/a")].close(constants.NGHTTP2_INTERNAL_ERROR);
  const info = await ra.closed;
  assert.equal(info.code, 1006);
  assert.equal(info.wasClean, false);
  // The other socket, on the same session, goes on.
  assert.equal(b.readyState, WebSocket.OPEN);
  const echoed = once<MessageEvent>(b, "message");
  b.send("still here");
  assert.equal((await echoed).data, "still here");
  assert.equal(h2.sessions.length, 1);
});

test("a destroyed session closes its sockets (1006) without crashing; the next socket opens a new session", async (t) => {
  const h2 = await startRawH2Server(t);
  const sockets = [h2Client(t, h2.url), h2Client(t, h2.url)];
  await Promise.all(sockets.map((ws) => once(ws, "open")));
  const records = sockets.map((ws) => record(ws));
  h2.sessions[0].destroy();
  for (const r of records) {
    const info = await r.closed;
    assert.equal(info.code, 1006);
    assert.equal(info.wasClean, false);
  }
  const next = h2Client(t, h2.url);
  await once(next, "open");
  assert.equal(h2.sessions.length, 2);
});

test("a GOAWAY lets open sockets finish and sends new ones to a new session", async (t) => {
  const h2 = await startRawH2Server(t);
  const first = h2Client(t, h2.url);
  await once(first, "open");
  h2.sessions[0].goaway(constants.NGHTTP2_NO_ERROR, h2.streams[0].id!);
  // Whether or not the GOAWAY reached the client first, a new socket goes to a new session
  // (a request the server did not process is retried: RFC 9113 §8.7).
  const second = h2Client(t, h2.url);
  await once(second, "open");
  // The first socket still works on the old session.
  const echoed = once<MessageEvent>(first, "message");
  first.send("old session");
  assert.equal((await echoed).data, "old session");
  assert.equal(h2.sessions.length, 2);
});

test("one handshake timeout: a server that never answers fails the socket, the session stays for others", async (t) => {
  const h2 = await startRawH2Server(t, { answer: (stream, headers) => (headers[":path"] === "/slow" ? undefined : echoAnswer(stream, headers)) });
  const slow = h2Client(t, `${h2.url}slow`, [], { handshakeTimeout: 300 });
  const { log, closed } = record(slow);
  await within(closed, "the handshake timeout");
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.match(clientFailure(slow)!.message, /timed out/);
  // The client reset the stream (RST_STREAM), not the session.
  await waitUntil(() => h2.streams[0].closed, "the slow stream to be reset");
  // RFC 8441 §6: an abortive close is RST_STREAM CANCEL.
  assert.equal(h2.streams[0].rstCode, constants.NGHTTP2_CANCEL);
  const ok = h2Client(t, h2.url);
  await once(ok, "open");
  assert.equal(h2.sessions.length, 1);
});

test("TLS: ALPN h2, certificate checked with `ca`, :scheme https", async (t) => {
  const h2 = await startRawH2Server(t, { tls: true });
  const ws = h2Client(t, h2.url, [], { ca: h2.ca });
  await once(ws, "open");
  assert.equal(h2.requests[0][":scheme"], "https");
  // An untrusted certificate fails (no fallback to anything).
  const bad = h2Client(t, h2.url);
  const { log } = record(bad);
  await record(bad).closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  assert.match(clientFailure(bad)!.message, /certificate/i);
});

test("SETTINGS_MAX_CONCURRENT_STREAMS: sockets past the server's limit open another session", async (t) => {
  const h2 = await startRawH2Server(t, { maxConcurrentStreams: 2 });
  const sockets = Array.from({ length: 5 }, () => h2Client(t, h2.url));
  await Promise.all(sockets.map((ws) => once(ws, "open")));
  assert.equal(h2.sessions.length, 3);
  for (const session of h2.sessions) assert.ok(h2.streams.filter((st) => st.session === session).length <= 2);
  const echoed = once<MessageEvent>(sockets[4], "message");
  sockets[4].send("fifth");
  assert.equal((await echoed).data, "fifth");
});

test("close() while connecting over HTTP/2: error, close 1006; the stream is cancelled, the session stays", async (t) => {
  const h2 = await startRawH2Server(t, { answer: (stream, headers) => (headers[":path"] === "/hold" ? undefined : echoAnswer(stream, headers)) });
  const open = h2Client(t, h2.url);
  await once(open, "open");
  const ws = h2Client(t, `${h2.url}hold`);
  await waitUntil(() => h2.streams.length === 2, "the held stream at the server");
  const { log, closed } = record(ws);
  ws.close();
  await closed;
  assert.deepEqual(log, ["error", "close:1006"]);
  await waitUntil(() => h2.streams[1].closed, "the held stream to be reset");
  assert.equal(h2.streams[1].rstCode, constants.NGHTTP2_CANCEL);
  // The other socket, on the same session, goes on.
  const echoed = once<MessageEvent>(open, "message");
  open.send("unaffected");
  assert.equal((await echoed).data, "unaffected");
});

test("WebSocketStream over HTTP/2: the signal aborts the handshake (AbortError) and cancels the stream", async (t) => {
  const h2 = await startRawH2Server(t, { answer: () => undefined });
  const controller = new AbortController();
  const wss = new WebSocketStream(h2.url, { signal: controller.signal }, { http2: true });
  await waitUntil(() => h2.streams.length === 1, "the extended CONNECT at the server");
  controller.abort();
  await assert.rejects(wss.opened, (err: unknown) => err instanceof DOMException && err.name === "AbortError");
  await assert.rejects(wss.closed, (err: unknown) => err instanceof DOMException && err.name === "AbortError");
  await waitUntil(() => h2.streams[0].closed, "the stream to be reset");
  assert.equal(h2.streams[0].rstCode, constants.NGHTTP2_CANCEL);
});

test("a protocol violation on the stream (a masked server frame) fails the connection: 1002 sent, error, close 1006", async (t) => {
  let seen: ReturnType<typeof collectClientFrames> | null = null;
  const h2 = await startRawH2Server(t, {
    answer: (stream) => {
      seen = collectClientFrames(stream);
      stream.respond({ ":status": 200 });
      // RFC 6455 §5.1: a client must fail the connection on a masked frame.
      stream.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]));
      // The client's close frame arrives next: then close our side (RFC 6455 §7.1.1).
      stream.once("data", () => stream.end());
    },
  });
  const ws = h2Client(t, h2.url);
  const { log, closed } = record(ws);
  const info = await closed;
  assert.deepEqual(log, ["open", "error", "close:1006"]);
  assert.equal(info.wasClean, false);
  const frames = seen!.frames;
  assert.equal(frames.length, 1);
  assert.equal(frames[0].opcode, 8);
  assert.equal(frames[0].payload.readUInt16BE(0), 1002);
});
