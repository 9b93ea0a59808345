// WebSocketStream and WebSocketError, the behaviours the WHATWG WebSockets Standard gives
// them (and the web-platform-tests websockets/stream/ check): construction, opened and
// closed, close() and its exceptions, closing through the streams, the AbortSignal before
// and after opening, failures, and backpressure both ways; against a wsx server and ws.
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocketServer as WsServer } from "ws";
import { WebSocketError } from "../../src/client/websocket-error.js";
import { WebSocketStream, webSocketStreamTransport } from "../../src/client/websocket-stream.js";
import type { ServerWebSocket } from "../../src/server/server-websocket.js";
import { WebSocketServer } from "../../src/server/server.js";

/** A wsx server: echoes; "close <code> <reason>" closes; "flood <n> <size>" sends n binary messages. */
let wsx: WebSocketServer<unknown>;
let wsxURL = "";
const serverCloses: Array<{ code: number; reason: string }> = [];
let lastOpened: ServerWebSocket<unknown> | null = null;
before(async () => {
  wsx = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    protocols: ["chat"],
    maxPayload: 64 << 20,
    maxBackpressure: 1 << 30, // the flood must queue, not drop
    open: (ws) => void (lastOpened = ws),
    message(ws, data, isBinary) {
      const text = isBinary ? "" : data.toString();
      if (text.startsWith("close ")) {
        const [, code, ...reason] = text.split(" ");
        ws.close(Number(code), reason.join(" "));
      } else if (text === "terminate") {
        ws.terminate();
      } else if (text.startsWith("flood ")) {
        const [, n, size] = text.split(" ").map(Number);
        for (let i = 0; i < n; i++) ws.send(Buffer.alloc(size, i & 0xff), true);
      } else ws.send(data, isBinary);
    },
    close: (_ws, code, reason) => {
      serverCloses.push({ code, reason });
    },
  });
  await wsx.ready();
  wsxURL = `ws://127.0.0.1:${wsx.port}/`;
});
after(() => wsx.close());

/** A ws echo server that echoes the close code and reason back. */
async function startWs(t: { after(fn: () => unknown): void }, options: ConstructorParameters<typeof WsServer>[0] = {}): Promise<string> {
  const server = new WsServer({ port: 0, host: "127.0.0.1", ...options });
  server.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
  await new Promise<void>((r) => server.once("listening", () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A TCP server that accepts and never answers; `connections` resolves each socket as it comes. */
async function startSilent(t: { after(fn: () => unknown): void }): Promise<{ url: string; next(): Promise<Socket> }> {
  const waiting: Array<(s: Socket) => void> = [];
  const arrived: Socket[] = [];
  const server = createServer((s) => {
    s.on("error", () => {});
    const w = waiting.shift();
    if (w) w(s);
    else arrived.push(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const s of arrived) s.destroy();
        server.close(() => r());
      }),
  );
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    next: () => (arrived.length > 0 ? Promise.resolve(arrived.shift()!) : new Promise((r) => waiting.push(r))),
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

function throwsDom(fn: () => unknown, name: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DOMException && e.name === name, `expected a ${name} DOMException`);
}

/** Polls a condition of internal state (no event exists for it), failing after 10 s. */
async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe("construction", { timeout: 120_000 }, () => {
  test("argument count, URL, protocols and signal are checked (TypeError, then SyntaxError)", () => {
    assert.throws(() => new (WebSocketStream as any)(), TypeError);
    throwsDom(() => new WebSocketStream("not a url"), "SyntaxError");
    throwsDom(() => new WebSocketStream("/relative"), "SyntaxError");
    throwsDom(() => new WebSocketStream("ftp://127.0.0.1/"), "SyntaxError");
    throwsDom(() => new WebSocketStream(`${wsxURL}#`), "SyntaxError");
    throwsDom(() => new WebSocketStream(wsxURL, { protocols: ["a", "a"] }), "SyntaxError");
    throwsDom(() => new WebSocketStream(wsxURL, { protocols: ["a b"] }), "SyntaxError");
    assert.throws(() => new WebSocketStream(wsxURL, { protocols: "chat" as any }), TypeError, "a string is not a sequence");
    assert.throws(() => new WebSocketStream(wsxURL, { signal: {} as any }), TypeError);
    assert.throws(() => new WebSocketStream(wsxURL, 5 as any), TypeError);
  });

  test("url maps http to ws; the interface has the Web IDL shape", async () => {
    const s = new WebSocketStream(`http://127.0.0.1:${wsx.port}/x?y`);
    assert.equal(s.url, `ws://127.0.0.1:${wsx.port}/x?y`);
    assert.equal(String(s), "[object WebSocketStream]");
    for (const name of ["url", "opened", "closed", "close"]) {
      assert.equal(Object.getOwnPropertyDescriptor(WebSocketStream.prototype, name)!.enumerable, true, name);
    }
    assert.equal(WebSocketStream.length, 1);
    assert.equal(s.opened, s.opened, "the same promise each time");
    s.close();
    await rejection(s.closed);
  });
});

describe("WebSocketError", { timeout: 120_000 }, () => {
  test("a DOMException named WebSocketError with closeCode and reason", () => {
    const e = new WebSocketError("message", { closeCode: 4000, reason: "r" });
    assert.ok(e instanceof DOMException && e instanceof Error);
    assert.deepEqual([e.name, e.message, e.code, e.closeCode, e.reason], ["WebSocketError", "message", 0, 4000, "r"]);
    assert.equal(Object.prototype.toString.call(e), "[object WebSocketError]");
    assert.equal(WebSocketError.length, 0);
  });

  test("defaults; a reason alone means 1000; the code and reason are validated", () => {
    const d = new WebSocketError();
    assert.deepEqual([d.message, d.closeCode, d.reason], ["", null, ""]);
    assert.equal(new WebSocketError("", { reason: "x" }).closeCode, 1000);
    for (const closeCode of [999, 1001, 1005, 2999, 5000]) throwsDom(() => new WebSocketError("", { closeCode }), "InvalidAccessError");
    throwsDom(() => new WebSocketError("", { reason: "x".repeat(124) }), "SyntaxError");
    // [Clamp], as Chromium: 70000 is 65535 and NaN is 0, both outside the allowed codes.
    throwsDom(() => new WebSocketError("", { closeCode: 70000 }), "InvalidAccessError");
    throwsDom(() => new WebSocketError("", { closeCode: NaN }), "InvalidAccessError");
    assert.equal(new WebSocketError("", { closeCode: 2999.6 }).closeCode, 3000);
    assert.throws(() => new WebSocketError("", 3 as any), TypeError, "not a dictionary");
  });
});

for (const peer of ["wsx", "ws"] as const) {
  describe(`against a ${peer} server`, { timeout: 120_000 }, () => {
    let url = "";
    before(async () => {
      if (peer === "wsx") url = wsxURL;
    });

    test("opened gives the streams; text and binary round-trip; writes of other values are strings", async (t) => {
      if (peer === "ws") url = await startWs(t);
      const s = new WebSocketStream(url);
      const info = await s.opened;
      assert.deepEqual(Object.keys(info).sort(), ["extensions", "protocol", "readable", "writable"]);
      assert.ok(info.readable instanceof ReadableStream && info.writable instanceof WritableStream);
      assert.deepEqual([info.protocol, info.extensions], ["", ""]);
      const writer = info.writable.getWriter();
      const reader = info.readable.getReader();
      const bytes = new Uint8Array([1, 2, 3, 4, 5]);
      await writer.write("héllo");
      await writer.write(bytes);
      await writer.write(bytes.buffer);
      await writer.write(new DataView(bytes.buffer, 1, 2));
      await writer.write(42 as any);
      const got: unknown[] = [];
      for (let i = 0; i < 5; i++) got.push((await reader.read()).value);
      assert.equal(got[0], "héllo");
      for (const [i, want] of [[1, [1, 2, 3, 4, 5]], [2, [1, 2, 3, 4, 5]], [3, [2, 3]]] as const) {
        assert.ok(got[i] instanceof ArrayBuffer, "binary messages are ArrayBuffers (as in Chromium)");
        assert.deepEqual([...new Uint8Array(got[i] as ArrayBuffer)], want);
      }
      assert.equal(got[4], "42");
      await assert.rejects(writer.write(Symbol("x") as any), TypeError);
      s.close();
      assert.deepEqual(await s.closed, { closeCode: 1005, reason: "" });
    });

    test("close({ closeCode, reason }) is sent; closed resolves with the server's answer", async (t) => {
      if (peer === "ws") url = await startWs(t);
      const s = new WebSocketStream(url);
      await s.opened;
      s.close({ closeCode: 3456, reason: "pizza" });
      const closed = await s.closed;
      assert.equal(closed.closeCode, 3456);
      if (peer === "ws") assert.equal(closed.reason, "pizza", "ws echoes the reason");
    });

    test("close() forms: none, {} and an empty reason send no code (1005); a reason alone sends 1000", async (t) => {
      if (peer === "ws") url = await startWs(t);
      for (const [arg, code] of [[undefined, 1005], [{}, 1005], [{ reason: "" }, 1005], [{ reason: "non-empty" }, 1000], [null, 1005]] as const) {
        const s = new WebSocketStream(url);
        await s.opened;
        s.close(arg as any);
        assert.equal((await s.closed).closeCode, code, JSON.stringify(arg));
      }
    });

    test("close() argument errors: TypeError, InvalidAccessError, SyntaxError; the stream stays open", async (t) => {
      if (peer === "ws") url = await startWs(t);
      const s = new WebSocketStream(url);
      const { writable, readable } = await s.opened;
      assert.throws(() => s.close(true as any), TypeError);
      for (const closeCode of [999, 1001, 2999, 5000, NaN, 65536]) throwsDom(() => s.close({ closeCode }), "InvalidAccessError");
      throwsDom(() => s.close({ reason: ".".repeat(124) }), "SyntaxError");
      const writer = writable.getWriter();
      await writer.write("still open");
      assert.equal((await readable.getReader().read()).value, "still open");
      s.close({ closeCode: 1000 });
      assert.equal((await s.closed).closeCode, 1000);
    });

    test("closing the writable closes cleanly (1005), and writer.close() waits for the handshake", async (t) => {
      if (peer === "ws") url = await startWs(t);
      const s = new WebSocketStream(url);
      const { writable, readable } = await s.opened;
      let closedSettled = false;
      void s.closed.then(() => (closedSettled = true));
      await writable.getWriter().close();
      assert.equal(closedSettled, true, "writer.close() resolved after closed");
      assert.deepEqual(await s.closed, { closeCode: 1005, reason: "" });
      assert.equal((await readable.getReader().read()).done, true, "the readable ends");
    });

    for (const [how, run] of [
      ["aborting the writable", (i: { writable: WritableStream; readable: ReadableStream }, r?: unknown) => i.writable.abort(r)],
      ["canceling the readable", (i: { writable: WritableStream; readable: ReadableStream }, r?: unknown) => i.readable.cancel(r)],
    ] as const) {
      test(`${how}: a clean close without a code; a plain object's code is ignored; a WebSocketError's is used`, async (t) => {
        if (peer === "ws") url = await startWs(t);
        const cases: Array<[unknown, number]> = [
          [undefined, 1005],
          [{ closeCode: 3456, reason: "set" }, 1005],
          [new WebSocketError("", { closeCode: 4321, reason: "chosen" }), 4321],
        ];
        for (const [reason, code] of cases) {
          const s = new WebSocketStream(url);
          const info = await s.opened;
          await run(info, reason);
          assert.equal((await s.closed).closeCode, code);
        }
      });
    }

    test("subprotocols: the server's choice; none acknowledged rejects opened and closed", async (t) => {
      if (peer === "ws") url = await startWs(t, { handleProtocols: (set) => (set.has("chat") ? "chat" : false) });
      const s = new WebSocketStream(url, { protocols: ["nope", "chat"] });
      assert.equal((await s.opened).protocol, "chat");
      s.close();
      await s.closed;
      const none = new WebSocketStream(url, { protocols: ["nope"] });
      const e = await rejection(none.opened);
      assert.ok(e instanceof WebSocketError);
      assert.equal(await rejection(none.closed), e);
    });
  });
}

describe("the server ends the connection", { timeout: 120_000 }, () => {
  test("a server close: closed resolves with its code and reason, the readable ends, writes reject", async () => {
    const s = new WebSocketStream(wsxURL);
    const { readable, writable } = await s.opened;
    const writer = writable.getWriter();
    await writer.write("close 4001 server bye");
    assert.deepEqual(await s.closed, { closeCode: 4001, reason: "server bye" });
    assert.equal((await readable.getReader().read()).done, true);
    const e = await rejection(writer.write("late"));
    assert.ok(e instanceof DOMException && e.name === "InvalidStateError");
  });

  test("a dropped TCP connection: closed rejects with a WebSocketError (1006), both streams error with it", async () => {
    const s = new WebSocketStream(wsxURL);
    const { readable, writable } = await s.opened;
    const writer = writable.getWriter();
    const reader = readable.getReader();
    await writer.write("terminate");
    const e = (await rejection(s.closed)) as WebSocketError;
    assert.ok(e instanceof WebSocketError);
    assert.deepEqual([e.closeCode, e.reason], [1006, ""]);
    assert.equal(await rejection(reader.read()), e);
    assert.equal(await rejection(writer.closed), e);
  });

  test("nothing listens: opened and closed reject with WebSocketError, and nothing is unhandled", async (t) => {
    const silent = await startSilent(t);
    const s = new WebSocketStream(silent.url, {}, { handshakeTimeout: 200 });
    (await silent.next()).destroy();
    assert.ok((await rejection(s.opened)) instanceof WebSocketError);
    assert.ok((await rejection(s.closed)) instanceof WebSocketError);
  });
});

describe("close() and the signal while connecting", { timeout: 120_000 }, () => {
  test("close() during the handshake rejects opened and closed", async (t) => {
    const silent = await startSilent(t);
    const s = new WebSocketStream(silent.url);
    const socket = await silent.next();
    s.close();
    assert.ok((await rejection(s.opened)) instanceof WebSocketError);
    assert.ok((await rejection(s.closed)) instanceof WebSocketError);
    await new Promise((r) => (socket.destroyed ? r(null) : socket.once("close", r)));
  });

  test("an already aborted signal: both reject with an AbortError (as in Chromium) and no connection is made", async () => {
    const s = new WebSocketStream("ws://127.0.0.1:1/", { signal: AbortSignal.abort(new Error("stop")) });
    const e = await rejection(s.opened);
    assert.ok(e instanceof DOMException && e.name === "AbortError");
    assert.equal(await rejection(s.closed), e);
  });

  test("abort during the handshake: both reject with an AbortError, the TCP connection is closed", async (t) => {
    const silent = await startSilent(t);
    const controller = new AbortController();
    const s = new WebSocketStream(silent.url, { signal: controller.signal });
    const socket = await silent.next();
    controller.abort(new Error("user gave up"));
    const e = await rejection(s.opened);
    assert.ok(e instanceof DOMException && e.name === "AbortError");
    assert.equal(await rejection(s.closed), e);
    await new Promise((r) => (socket.destroyed ? r(null) : socket.once("close", r)));
  });

  test("abort after opening does nothing", async () => {
    const controller = new AbortController();
    const s = new WebSocketStream(wsxURL, { signal: controller.signal });
    const { readable, writable } = await s.opened;
    controller.abort();
    const writer = writable.getWriter();
    await writer.write("after abort");
    assert.equal((await readable.getReader().read()).value, "after abort");
    s.close();
    assert.equal((await s.closed).closeCode, 1005);
  });
});

describe("permessage-deflate (Node-only option)", { timeout: 120_000 }, () => {
  test("extensions are reported; compressed messages arrive whole and in order while the reader lags", async (t) => {
    const server = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      perMessageDeflate: true,
      maxBackpressure: 1 << 30,
      message(ws, data) {
        const [n, size] = data.toString().split(" ").map(Number);
        for (let i = 0; i < n; i++) ws.send(Buffer.alloc(size, i & 0xff), true);
      },
    });
    await server.ready();
    t.after(() => server.close());
    const s = new WebSocketStream(`ws://127.0.0.1:${server.port}/`, {}, { perMessageDeflate: true });
    const { readable, writable, extensions } = await s.opened;
    assert.match(extensions, /^permessage-deflate/);
    await writable.getWriter().write("200 100000");
    const reader = readable.getReader();
    // Inflation and a full readable both pause input; the pauses nest, nothing is lost.
    const transport = webSocketStreamTransport(s)!;
    await until("the client to pause its socket", () => transport.socket.isPaused());
    for (let i = 0; i < 200; i++) {
      const v = new Uint8Array((await reader.read()).value as ArrayBuffer);
      assert.equal(v.length, 100000);
      assert.ok(v[0] === (i & 0xff) && v[99999] === (i & 0xff), `message ${i} in order`);
    }
    s.close();
    assert.equal((await s.closed).closeCode, 1005);
  });
});

describe("backpressure", { timeout: 120_000 }, () => {
  test("a reader that stops reading stops the socket being read; reading again gets every message in order", async () => {
    const N = 64;
    const SIZE = 1 << 20;
    const s = new WebSocketStream(wsxURL);
    const { readable, writable } = await s.opened;
    const writer = writable.getWriter();
    const reader = readable.getReader();
    await writer.write(`flood ${N} ${SIZE}`);
    const first = await reader.read();
    assert.equal((first.value as ArrayBuffer).byteLength, SIZE);
    const socket = webSocketStreamTransport(s)!.socket;
    // With nobody reading, the client pauses its socket: the rest stays in the server.
    await until("the client to pause its socket", () => socket.isPaused());
    const bytesRead = (socket as Socket).bytesRead;
    assert.ok(bytesRead < (N * SIZE) / 2, `read ${bytesRead} of ${N * SIZE} bytes while paused`);
    const server = lastOpened!;
    assert.ok(server.bufferedAmount > 0, "the server holds what the client does not read");
    for (let i = 1; i < N; i++) {
      const { value } = await reader.read();
      const v = new Uint8Array(value as ArrayBuffer);
      assert.equal(v.length, SIZE);
      assert.equal(v[SIZE - 1], i & 0xff, `message ${i} in order`);
    }
    s.close();
    await s.closed;
  });

  test("a writer waits on the socket's drain: a peer that does not read holds the writer back", async (t) => {
    // A raw server that completes the handshake and then stops reading.
    const { createHash } = await import("node:crypto");
    let peer: Socket | null = null;
    const server = createServer((socket) => {
      socket.on("error", () => {});
      peer = socket;
      socket.once("data", (head: Buffer) => {
        const key = /sec-websocket-key: *(\S+)/i.exec(head.toString("latin1"))![1];
        const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        socket.pause();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    t.after(
      () =>
        new Promise<void>((r) => {
          peer?.destroy();
          server.close(() => r());
        }),
    );
    const s = new WebSocketStream(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, {}, { closeTimeout: 200 });
    const { writable } = await s.opened;
    const writer = writable.getWriter();
    const CHUNK = 1 << 20;
    const N = 64;
    let settled = 0;
    const writes = Array.from({ length: N }, () => writer.write(new Uint8Array(CHUNK)).then(() => void settled++, () => undefined));
    const transport = webSocketStreamTransport(s)!;
    await until("the socket to need a drain", () => transport.socket.writableNeedDrain);
    // Only what the kernel took plus one message is out of the writable's queue.
    assert.ok(settled < N / 2, `${settled} of ${N} writes settled while the peer does not read`);
    assert.ok(transport.bufferedAmount <= 2 * CHUNK, `the client holds ${transport.bufferedAmount} bytes, not the whole backlog`);
    // The peer reads again: every write completes.
    peer!.resume();
    peer!.on("data", () => {});
    await Promise.all(writes);
    assert.equal(settled, N);
    s.close();
    await s.closed.catch(() => undefined);
  });
});
