// The client fails the connection (error, then close 1006, never open) for every wrong
// handshake answer (RFC 6455 §4.1 client steps; WHATWG "fail the WebSocket connection"),
// from a hand-written node:net server, and never throws into the event loop.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import type { WebSocketOptions } from "../../src/client/options.js";
import { acceptFor, record, startRawServer, switchingProtocols } from "./helpers.js";

type Answer = (key: string) => string;

const cases: Array<{ name: string; answer: Answer; protocols?: string[]; options?: WebSocketOptions }> = [
  { name: "status 200", answer: () => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
  { name: "a redirect (not followed)", answer: () => "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n" },
  { name: "status 403", answer: () => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" },
  { name: "status 426", answer: () => "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n" },
  { name: "status 101 without Upgrade", answer: (k) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(k)}\r\n\r\n` },
  { name: "Upgrade: h2c", answer: (k) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(k)}\r\n\r\n` },
  { name: "no Connection header", answer: (k) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor(k)}\r\n\r\n` },
  { name: "Connection: keep-alive", answer: (k) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: ${acceptFor(k)}\r\n\r\n` },
  { name: "no Sec-WebSocket-Accept", answer: () => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" },
  { name: "a wrong Sec-WebSocket-Accept", answer: () => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n" },
  { name: "the accept of another key", answer: () => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor("dGhlIHNhbXBsZSBub25jZQ==")}\r\n\r\n` },
  { name: "a subprotocol that was not offered", answer: (k) => switchingProtocols(k, "Sec-WebSocket-Protocol: other\r\n"), protocols: ["chat"] },
  { name: "a subprotocol when none was offered", answer: (k) => switchingProtocols(k, "Sec-WebSocket-Protocol: chat\r\n") },
  { name: "an extension when none was offered", answer: (k) => switchingProtocols(k, "Sec-WebSocket-Extensions: permessage-deflate\r\n") },
  {
    name: "an extension other than the one offered",
    answer: (k) => switchingProtocols(k, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"),
    options: { perMessageDeflate: true },
  },
  {
    name: "permessage-deflate with an invalid parameter",
    answer: (k) => switchingProtocols(k, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7\r\n"),
    options: { perMessageDeflate: true },
  },
  { name: "garbage instead of HTTP", answer: () => "this is not HTTP\r\n\r\n" },
  { name: "the connection closed without an answer", answer: () => "" },
];

describe("handshake failures: error, then close 1006", () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);
  process.on("uncaughtException", onUncaught);

  for (const c of cases) {
    test(c.name, async () => {
      const server = await startRawServer((key, socket) => {
        const text = c.answer(key);
        if (text === "") socket.end();
        else socket.write(text);
      });
      try {
        const ws = new WebSocket(server.url, c.protocols ?? [], c.options ?? {});
        const r = record(ws);
        const e = await r.closed;
        assert.deepEqual(r.log, ["error", "close:1006"]);
        assert.deepEqual([e.wasClean, e.reason], [false, ""]);
        assert.equal(ws.readyState, WebSocket.CLOSED);
        assert.equal(ws.protocol, "");
        assert.equal(ws.extensions, "");
      } finally {
        await server.close();
      }
    });
  }

  test("a server that never answers: handshakeTimeout fails the connection", async () => {
    const server = await startRawServer(() => {});
    try {
      const ws = new WebSocket(server.url, [], { handshakeTimeout: 200 });
      const r = record(ws);
      await r.closed;
      assert.deepEqual(r.log, ["error", "close:1006"]);
    } finally {
      await server.close();
    }
  });

  test("a refused connection: error, then close 1006", async () => {
    const server = await startRawServer(() => {});
    const url = server.url;
    await server.close();
    const ws = new WebSocket(url);
    const r = record(ws);
    await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
  });

  test("an invalid request header (a line break in a value): error, then close 1006", async () => {
    const server = await startRawServer((key, socket) => socket.write(switchingProtocols(key)));
    try {
      const ws = new WebSocket(server.url, [], { headers: { "x-bad": "a\r\nInjected: yes" } });
      const r = record(ws);
      await r.closed;
      assert.deepEqual(r.log, ["error", "close:1006"]);
      assert.equal(server.sockets.length, 0, "nothing was sent");
    } finally {
      await server.close();
    }
  });

  test("extra headers and the origin option are sent", async () => {
    let head = "";
    const server = await startRawServer((key, socket) => socket.end(switchingProtocols(key)));
    server.onHead = (h) => (head = h);
    try {
      const ws = new WebSocket(server.url, [], { headers: { "X-Token": "t1" }, origin: "https://app.example" });
      await record(ws).closed;
      assert.match(head, /^x-token: t1\r$/im);
      assert.match(head, /^origin: https:\/\/app\.example\r$/im);
      assert.match(head, /^sec-websocket-version: 13\r$/im);
      assert.match(head, /^sec-websocket-key: [A-Za-z0-9+/]{22}==\r$/im);
      assert.match(head, /^GET \/ HTTP\/1\.1\r$/m);
    } finally {
      await server.close();
    }
  });

  test("nothing was thrown into the event loop", () => {
    process.removeListener("uncaughtException", onUncaught);
    assert.deepEqual(uncaught, []);
  });
});
