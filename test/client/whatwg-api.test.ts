// Mirrors the web-platform-tests for the WebSocket interface (websockets/*.any.js):
// constructor, close() and send() argument handling in every readyState, binaryType,
// bufferedAmount, event order and timing, against a real wsx server on loopback.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "../../src/client/websocket.js";
import { describeData, once, record, startWsxServer, waitFor, type TestServer } from "./helpers.js";

let server: TestServer;
let url: string;
before(async () => {
  server = await startWsxServer({ protocols: ["chat", "superchat"] });
  url = server.url;
});
after(() => server.close());

function throwsDom(fn: () => unknown, name: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DOMException && e.name === name, `expected a ${name} DOMException`);
}

/** Opens a client and waits for `open`. */
async function opened(protocols: string | string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  await once(ws, "open");
  return ws;
}

/** The server-side close record for the next connection to close. */
async function nextServerClose(before: number): Promise<{ code: number; reason: string }> {
  await waitFor(() => server.closes.length > before, 5000, "the server to see the close");
  return server.closes[before];
}

describe("constructor (WHATWG: new WebSocket())", () => {
  test("invalid and relative URLs, other schemes and fragments are SyntaxError", () => {
    throwsDom(() => new WebSocket("not a url"), "SyntaxError");
    throwsDom(() => new WebSocket("/relative"), "SyntaxError"); // no base URL in Node
    throwsDom(() => new WebSocket("ftp://127.0.0.1/"), "SyntaxError");
    throwsDom(() => new WebSocket("file:///tmp/x"), "SyntaxError");
    throwsDom(() => new WebSocket("ws://127.0.0.1/#frag"), "SyntaxError");
    throwsDom(() => new WebSocket("ws://127.0.0.1/#"), "SyntaxError"); // empty fragment is still one
    throwsDom(() => new WebSocket("ws://[::1"), "SyntaxError");
  });

  test("http: and https: map to ws: and wss:; URL objects are accepted", () => {
    const a = new WebSocket(`http://127.0.0.1:${server.port}/path?q=1`);
    assert.equal(a.url, `ws://127.0.0.1:${server.port}/path?q=1`);
    a.close();
    const b = new WebSocket("https://127.0.0.1:1/");
    assert.equal(b.url, "wss://127.0.0.1:1/");
    b.close();
    const c = new WebSocket(new URL(`ws://127.0.0.1:${server.port}`));
    assert.equal(c.url, `ws://127.0.0.1:${server.port}/`); // serialized with its path
    c.close();
  });

  test("protocols: duplicates (any case) and non-tokens are SyntaxError", () => {
    throwsDom(() => new WebSocket(url, ["chat", "chat"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, ["chat", "CHAT"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, ["a b"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, ["a,b"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, ["x\u0000"]), "SyntaxError");
    throwsDom(() => new WebSocket(url, [""]), "SyntaxError");
    throwsDom(() => new WebSocket(url, ""), "SyntaxError");
    throwsDom(() => new WebSocket(url, "é"), "SyntaxError");
  });

  test("protocols as a string, an array or any iterable are offered in order", async () => {
    const before = server.requests.length;
    for (const offer of ["chat", ["superchat", "chat"], new Set(["x-a", "chat"])] as const) {
      const ws = new WebSocket(url, offer as Iterable<string>);
      await once(ws, "open");
      ws.close();
      await once(ws, "close");
    }
    assert.deepEqual(
      server.requests.slice(before).map((h) => h["sec-websocket-protocol"]),
      ["chat", "superchat, chat", "x-a, chat"],
    );
  });

  test("readyState constants: on the class and instances, read-only, not own properties", () => {
    assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
    const ws = new WebSocket(url);
    assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
    assert.equal(Object.hasOwn(ws, "OPEN"), false);
    assert.throws(() => {
      (WebSocket as any).OPEN = 7; // ESM is strict mode: writing a read-only property throws
    }, TypeError);
    assert.equal(WebSocket.OPEN, 1);
    ws.close();
  });

  test("initial attributes", () => {
    const ws = new WebSocket(url);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.equal(ws.bufferedAmount, 0);
    assert.equal(ws.protocol, "");
    assert.equal(ws.extensions, "");
    assert.equal(ws.binaryType, "blob");
    assert.equal(ws.url, url);
    assert.equal(ws.onopen, null);
    assert.ok(ws instanceof EventTarget);
    ws.close();
  });
});

describe("close() in each readyState (WHATWG: close())", () => {
  const badCodes = [0, 999, 1001, 1005, 1006, 2999, 5000, 65535, -1, NaN, Infinity, 66536 /* clamps to 65535 */];

  test("CONNECTING: bad codes are InvalidAccessError, long reasons SyntaxError, and neither closes", async () => {
    const ws = new WebSocket(url);
    const r = record(ws);
    for (const code of badCodes) throwsDom(() => ws.close(code), "InvalidAccessError");
    throwsDom(() => ws.close(1000, "x".repeat(124)), "SyntaxError");
    throwsDom(() => ws.close(1000, "é".repeat(62)), "SyntaxError"); // 124 UTF-8 bytes
    throwsDom(() => ws.close(1000, "\ud800".repeat(42)), "SyntaxError"); // lone surrogates: 3 bytes each
    throwsDom(() => ws.close(1, "x".repeat(200)), "InvalidAccessError"); // the code is checked first
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    ws.close(1000, "é".repeat(61)); // 122 bytes: fine
    assert.equal(ws.readyState, WebSocket.CLOSING);
    await r.closed;
  });

  test("CONNECTING: close() fails the connection: error, then close 1006, not clean, as tasks", async () => {
    const ws = new WebSocket(url);
    const early: string[] = [];
    ws.addEventListener("error", () => early.push("error"));
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    assert.deepEqual(early, [], "no event fires from inside close()");
    // Listeners added after close() returned still see both events.
    const r = record(ws);
    const e = await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
    assert.deepEqual(early, ["error"]);
    assert.deepEqual([e.wasClean, e.reason], [false, ""]);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  test("OPEN: bad arguments throw and leave it OPEN; codes are [Clamp]ed (2999.6 is 3000)", async () => {
    const ws = await opened();
    for (const code of badCodes) throwsDom(() => ws.close(code), "InvalidAccessError");
    throwsDom(() => ws.close(4000, "x".repeat(124)), "SyntaxError");
    assert.equal(ws.readyState, WebSocket.OPEN);
    const before = server.closes.length;
    const r = record(ws);
    ws.close(2999.6, "rounded");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    assert.deepEqual(r.log, [], "no event fires from inside close()");
    const e = await r.closed;
    // The event reports the server's close frame: the wsx server echoes the code only.
    assert.deepEqual([e.code, e.wasClean], [3000, true]);
    assert.deepEqual(await nextServerClose(before), { code: 3000, reason: "rounded" });
  });

  test("OPEN: close() without arguments sends no status (1005); a reason alone is sent with 1000", async () => {
    const a = await opened();
    let before = server.closes.length;
    a.close();
    assert.equal((await record(a).closed).code, 1005);
    assert.deepEqual(await nextServerClose(before), { code: 1005, reason: "" });
    const b = await opened();
    before = server.closes.length;
    b.close(undefined, "just a reason");
    assert.deepEqual(await record(b).closed, { code: 1000, reason: "", wasClean: true });
    assert.deepEqual(await nextServerClose(before), { code: 1000, reason: "just a reason" });
  });

  test("CLOSING and CLOSED: close() does nothing, but arguments are still checked first", async () => {
    const ws = await opened();
    const r = record(ws);
    ws.close(4001, "first");
    ws.close(4002, "second"); // CLOSING: ignored
    throwsDom(() => ws.close(1001), "InvalidAccessError");
    const before = server.closes.length;
    const e = await r.closed;
    assert.equal(e.code, 4001);
    assert.deepEqual(await nextServerClose(before), { code: 4001, reason: "first" });
    ws.close(); // CLOSED: ignored
    ws.close(4003);
    throwsDom(() => ws.close(2000), "InvalidAccessError");
    throwsDom(() => ws.close(1000, "x".repeat(200)), "SyntaxError");
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(r.log, ["close:4001"], "no further events");
  });
});

describe("send() (WHATWG: send())", () => {
  test("CONNECTING: InvalidStateError", () => {
    const ws = new WebSocket(url);
    throwsDom(() => ws.send("x"), "InvalidStateError");
    throwsDom(() => ws.send(new Uint8Array(1)), "InvalidStateError");
    ws.close();
  });

  test("every data type sends exactly its bytes, in order (Blob included)", async () => {
    const ws = await opened();
    ws.binaryType = "arraybuffer";
    const got: string[] = [];
    ws.onmessage = (e: any) => got.push(typeof e.data === "string" ? e.data : Buffer.from(e.data).toString("hex"));
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
    ws.send("a");
    ws.send(new Blob(["bb", new Uint8Array([0xff])]));
    ws.send(backing.subarray(2, 4)); // a view: only its bytes
    ws.send(new DataView(backing.buffer, 4, 2));
    ws.send(backing.buffer);
    ws.send(new Blob([]));
    ws.send("\ud800"); // USVString: a lone surrogate becomes U+FFFD
    ws.send("z");
    await waitFor(() => got.length === 8, 5000, "8 echoes");
    assert.deepEqual(got, ["a", "6262ff", "0304", "0506", "010203040506", "", "\ufffd", "z"]);
    ws.close();
    await once(ws, "close");
  });

  test("Blobs sent before close() still go out before the close frame", async () => {
    const before = server.received.length;
    const ws = await opened();
    ws.send(new Blob([new Uint8Array([7, 7])]));
    ws.send("after the blob");
    ws.close(4005, "after both");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const e = await record(ws).closed;
    assert.deepEqual([e.code, e.wasClean], [4005, true]);
    assert.deepEqual(server.received.slice(before), ["bin:0707", "after the blob"]);
    assert.equal(ws.bufferedAmount, 0);
  });
});

describe("bufferedAmount", () => {
  test("counts the application bytes queued, and returns to 0 once written", async () => {
    const ws = await opened();
    ws.send("x".repeat(1000));
    ws.send(new Uint8Array(24));
    // Nothing was written yet (writes leave after the current callback): no frame headers counted.
    assert.equal(ws.bufferedAmount, 1024);
    await once(ws, "message");
    await waitFor(() => ws.bufferedAmount === 0, 5000, "bufferedAmount 0");
    ws.close();
    await once(ws, "close");
  });

  test("counts a Blob while it is read", async () => {
    const ws = await opened();
    ws.send(new Blob([new Uint8Array(300)]));
    assert.equal(ws.bufferedAmount, 300);
    await once(ws, "message");
    await waitFor(() => ws.bufferedAmount === 0, 5000, "bufferedAmount 0");
    ws.close();
    await once(ws, "close");
  });

  test("grows by the data size in CLOSING and CLOSED, and never resets", async () => {
    const ws = await opened();
    ws.close();
    ws.send("12345");
    assert.equal(ws.bufferedAmount, 5);
    ws.send(new Blob(["abc"]));
    assert.equal(ws.bufferedAmount, 8);
    ws.send("é"); // 2 UTF-8 bytes
    assert.equal(ws.bufferedAmount, 10);
    await once(ws, "close");
    assert.equal(ws.bufferedAmount, 10);
    ws.send(new Uint8Array(10));
    assert.equal(ws.bufferedAmount, 20);
  });
});

describe("binaryType and MessageEvent", () => {
  test("blob by default, arraybuffer when set, other values ignored", async () => {
    const ws = await opened();
    ws.send(new Uint8Array([1, 2, 3]));
    const m1: any = await once(ws, "message");
    assert.ok(m1.data instanceof Blob);
    assert.deepEqual([...new Uint8Array(await m1.data.arrayBuffer())], [1, 2, 3]);
    ws.binaryType = "arraybuffer";
    (ws as any).binaryType = "nonsense";
    (ws as any).binaryType = "Blob";
    assert.equal(ws.binaryType, "arraybuffer");
    ws.send(new Uint16Array([0x0102]).buffer);
    const m2: any = await once(ws, "message");
    assert.ok(m2.data instanceof ArrayBuffer);
    assert.equal(m2.data.byteLength, 2);
    ws.send("text stays a string");
    const m3: any = await once(ws, "message");
    assert.equal(m3.data, "text stays a string");
    ws.close();
    await once(ws, "close");
  });

  test("binaryType applies to each message as it is received", async () => {
    const ws = await opened();
    const kinds: string[] = [];
    ws.onmessage = (e: any) => {
      kinds.push(describeData(e.data));
      ws.binaryType = ws.binaryType === "blob" ? "arraybuffer" : "blob";
    };
    for (let i = 0; i < 4; i++) ws.send(new Uint8Array(i + 1));
    await waitFor(() => kinds.length === 4, 5000, "4 messages");
    assert.deepEqual(kinds, ["blob1", "ab2", "blob3", "ab4"]);
    ws.close();
    await once(ws, "close");
  });

  test("message events carry data, origin, lastEventId, source and ports", async () => {
    const ws = await opened();
    ws.send("hi");
    const m: any = await once(ws, "message");
    assert.equal(m.type, "message");
    assert.equal(m.data, "hi");
    assert.equal(m.origin, `ws://127.0.0.1:${server.port}`);
    assert.equal(m.lastEventId, "");
    assert.equal(m.source, null);
    assert.deepEqual([...m.ports], []);
    assert.equal(m.target, ws);
    ws.close();
    await once(ws, "close");
  });
});

describe("events", () => {
  test("protocol after open is the server's choice; open, message, close in order; clean close", async () => {
    const ws = new WebSocket(url, ["superchat", "chat"]);
    const r = record(ws);
    await once(ws, "open");
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(ws.protocol, "superchat");
    assert.equal(ws.extensions, "");
    ws.send("one");
    await once(ws, "message");
    ws.close(1000, "bye");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const e = await r.closed;
    assert.deepEqual(r.log, ["open", "message:one", "close:1000"]);
    assert.equal(e.wasClean, true);
  });

  test("onX handlers: setting replaces, null removes, non-functions become null; run beside listeners", async () => {
    const ws = new WebSocket(url);
    const calls: string[] = [];
    ws.onopen = () => calls.push("a");
    ws.onopen = () => calls.push("b");
    ws.addEventListener("open", () => calls.push("listener"));
    assert.equal(typeof ws.onopen, "function");
    (ws as any).onerror = "not a function";
    assert.equal(ws.onerror, null);
    ws.onclose = () => calls.push("never");
    ws.onclose = null;
    await once(ws, "open");
    assert.deepEqual(calls, ["b", "listener"]);
    ws.close();
    await once(ws, "close");
    assert.deepEqual(calls, ["b", "listener"]);
  });

  test("a server that sends messages and closes at once: every message arrives before close", async () => {
    const burst = await startWsxServer({
      open(ws) {
        for (let i = 0; i < 50; i++) ws.send(`m${i}`);
        ws.close(4000, "done");
      },
    });
    const ws = new WebSocket(burst.url);
    const r = record(ws);
    const e = await r.closed;
    assert.deepEqual(r.log, ["open", ...Array.from({ length: 50 }, (_, i) => `message:m${i}`), "close:4000"]);
    assert.deepEqual([e.code, e.reason, e.wasClean], [4000, "done", true]);
    await burst.close();
  });

  test("no message event after close() was called", async () => {
    const burst = await startWsxServer({
      open(ws) {
        for (let i = 0; i < 20; i++) ws.send(`m${i}`);
      },
    });
    const ws = new WebSocket(burst.url);
    const r = record(ws);
    ws.onmessage = () => ws.close(); // from inside the first message
    await r.closed;
    assert.deepEqual(r.log, ["open", "message:m0", "close:1005"]);
    await burst.close();
  });

  test("a close frame without a code gives 1005", async () => {
    const s = await startWsxServer({ open: (ws) => ws.transport.close(0, "") });
    const ws = new WebSocket(s.url);
    const r = record(ws);
    const e = await r.closed;
    assert.deepEqual([e.code, e.reason, e.wasClean], [1005, "", true]);
    assert.deepEqual(r.log, ["open", "close:1005"]);
    await s.close();
  });

  test("a server that drops TCP without a close frame: close 1006 without an error event (as in Chromium)", async () => {
    const s = await startWsxServer({ open: (ws) => ws.terminate() });
    const ws = new WebSocket(s.url);
    const r = record(ws);
    const e = await r.closed;
    // WHATWG: error fires only when the connection had to be failed; this is an abnormal
    // closure, not a failure.
    assert.deepEqual(r.log, ["open", "close:1006"]);
    assert.equal(e.wasClean, false);
    await s.close();
  });
});
