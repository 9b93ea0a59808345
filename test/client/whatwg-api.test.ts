// Mirrors the web-platform-tests for the WebSocket interface (constructor, close(), send(),
// binaryType, bufferedAmount, events), against a real wsx server on loopback.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CloseEvent } from "../../src/client/events.js";
import { WebSocket } from "../../src/client/websocket.js";
import { startEchoServer, type EchoServer } from "../support/echo-server.js";
import { once, record } from "./helpers.js";

let server: EchoServer;
let url: string;
before(async () => {
  server = await startEchoServer({ protocols: ["chat", "superchat"] });
  url = `ws://127.0.0.1:${server.port}/`;
});
after(() => server.close());

function throwsDom(fn: () => unknown, name: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DOMException && e.name === name);
}

describe("constructor (WHATWG: new WebSocket())", () => {
  test("invalid URLs, other schemes and fragments are SyntaxError", () => {
    throwsDom(() => new WebSocket("not a url"), "SyntaxError");
    throwsDom(() => new WebSocket("/relative"), "SyntaxError");
    throwsDom(() => new WebSocket("ftp://127.0.0.1/"), "SyntaxError");
    throwsDom(() => new WebSocket("ws://127.0.0.1/#frag"), "SyntaxError");
    throwsDom(() => new WebSocket("ws://127.0.0.1/#"), "SyntaxError");
  });

  test("http: and https: map to ws: and wss:", () => {
    const a = new WebSocket(`http://127.0.0.1:${server.port}/path?q=1`);
    assert.equal(a.url, `ws://127.0.0.1:${server.port}/path?q=1`);
    a.close();
    const b = new WebSocket("https://127.0.0.1:1/");
    assert.equal(b.url, "wss://127.0.0.1:1/");
    b.close();
  });

  test("protocols: duplicates (any case) and non-tokens are SyntaxError", () => {
    throwsDom(() => new WebSocket(url, ["chat", "chat"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, ["chat", "CHAT"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, ["a b"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, [""]), "SyntaxError");
    throwsDom(() => new WebSocket(url, "é"), "SyntaxError");
  });

  test("readyState constants on the class and instances; initial state", () => {
    assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
    const ws = new WebSocket(url);
    assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.equal(ws.bufferedAmount, 0);
    assert.equal(ws.protocol, "");
    assert.equal(ws.extensions, "");
    assert.equal(ws.binaryType, "blob");
    ws.close();
  });
});

describe("send() and close() argument checks", () => {
  test("send() while CONNECTING is InvalidStateError", () => {
    const ws = new WebSocket(url);
    throwsDom(() => ws.send("x"), "InvalidStateError");
    ws.close();
  });

  test("close(): codes other than 1000 and 3000-4999 are InvalidAccessError; long reasons SyntaxError", () => {
    const ws = new WebSocket(url);
    for (const code of [0, 999, 1001, 1005, 2999, 5000]) throwsDom(() => ws.close(code), "InvalidAccessError");
    throwsDom(() => ws.close(1000, "x".repeat(124)), "SyntaxError");
    throwsDom(() => ws.close(1000, "é".repeat(62)), "SyntaxError"); // 124 bytes
    ws.close(1000, "é".repeat(61)); // 122 bytes: fine
  });

  test("close() while CONNECTING fails the connection: error, then close 1006, not clean", async () => {
    const ws = new WebSocket(url);
    const r = record(ws);
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const e = await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
    assert.equal(e.wasClean, false);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });
});

describe("an open connection", () => {
  test("protocol after open is the one the server chose; events in order; clean close", async () => {
    const ws = new WebSocket(url, ["superchat", "chat"]);
    const r = record(ws);
    await once(ws, "open");
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(ws.protocol, "superchat");
    ws.send("one");
    await once(ws, "message");
    ws.close(1000, "bye");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const e = await r.closed;
    assert.deepEqual(r.log, ["open", "message:one", "close:1000"]);
    assert.equal(e.wasClean, true);
  });

  test("binaryType: blob by default, arraybuffer when set, other values ignored", async () => {
    const ws = new WebSocket(url);
    await once(ws, "open");
    ws.send(new Uint8Array([1, 2, 3]));
    const m1: any = await once(ws, "message");
    assert.ok(m1.data instanceof Blob);
    assert.deepEqual([...new Uint8Array(await m1.data.arrayBuffer())], [1, 2, 3]);
    ws.binaryType = "arraybuffer";
    (ws as any).binaryType = "nonsense";
    assert.equal(ws.binaryType, "arraybuffer");
    ws.send(new Uint16Array([0x0102]).buffer);
    const m2: any = await once(ws, "message");
    assert.ok(m2.data instanceof ArrayBuffer);
    assert.equal(m2.data.byteLength, 2);
    assert.equal(m2.origin, `ws://127.0.0.1:${server.port}`);
    ws.close();
    await once(ws, "close");
  });

  test("sends of every type keep their order, Blob included", async () => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    await once(ws, "open");
    const got: string[] = [];
    ws.onmessage = (e: any) => got.push(typeof e.data === "string" ? e.data : `ab${e.data.byteLength}`);
    ws.send("a");
    ws.send(new Blob(["bbbb"]));
    ws.send(new Uint8Array(3));
    ws.send("d");
    const start = Date.now();
    while (got.length < 4 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, ["a", "ab4", "ab3", "d"]);
    ws.close();
  });

  test("bufferedAmount: back to 0 after writes; grows by the data size in CLOSING/CLOSED", async () => {
    const ws = new WebSocket(url);
    await once(ws, "open");
    ws.send("x".repeat(1000));
    await once(ws, "message");
    assert.equal(ws.bufferedAmount, 0);
    ws.close();
    ws.send("12345");
    assert.equal(ws.bufferedAmount, 5);
    await once(ws, "close");
    ws.send(new Uint8Array(10));
    assert.equal(ws.bufferedAmount, 15);
  });

  test("onX handlers: setting replaces, null removes, non-functions become null", async () => {
    const ws = new WebSocket(url);
    let a = 0;
    let b = 0;
    ws.onopen = () => a++;
    ws.onopen = () => b++;
    assert.equal(typeof ws.onopen, "function");
    (ws as any).onerror = "not a function";
    assert.equal(ws.onerror, null);
    await once(ws, "open");
    assert.deepEqual([a, b], [0, 1]);
    ws.close();
  });

  test("server sends messages and closes at once: every message arrives before close, none after", async () => {
    const burst = await startEchoServer({
      open(ws) {
        for (let i = 0; i < 50; i++) ws.send(`m${i}`);
        ws.close(4000, "done");
      },
    });
    const ws = new WebSocket(`ws://127.0.0.1:${burst.port}/`);
    const r = record(ws);
    const e = await r.closed;
    assert.equal(r.log.length, 52);
    assert.equal(r.log[0], "open");
    assert.deepEqual(r.log.slice(1, 51), Array.from({ length: 50 }, (_, i) => `message:m${i}`));
    assert.equal(r.log[51], "close:4000");
    assert.deepEqual([e.code, e.reason, e.wasClean], [4000, "done", true]);
    await burst.close();
  });

  test("a close frame without a code gives 1005", async () => {
    const s = await startEchoServer({ open: (ws) => ws.transport.close(0, "") });
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/`);
    const e = await record(ws).closed;
    assert.equal(e.code, 1005);
    await s.close();
  });

  test("a server that drops TCP without a close frame gives error then close 1006", async () => {
    const s = await startEchoServer({ open: (ws) => ws.terminate() });
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/`);
    const r = record(ws);
    const e = await r.closed;
    assert.deepEqual(r.log, ["open", "error", "close:1006"]);
    assert.equal(e.wasClean, false);
    await s.close();
  });
});

describe("CloseEvent", () => {
  test("constructor dictionary and defaults", () => {
    const e = new CloseEvent("close", { wasClean: true, code: 4000, reason: "r" });
    assert.deepEqual([e.type, e.wasClean, e.code, e.reason], ["close", true, 4000, "r"]);
    const d = new CloseEvent("x");
    assert.deepEqual([d.wasClean, d.code, d.reason], [false, 0, ""]);
    assert.ok(d instanceof Event);
  });
});
