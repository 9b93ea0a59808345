// Web IDL details of WebSocket, CloseEvent and MessageEvent, in the spirit of the
// web-platform-tests' idlharness and websockets/ tests: where members live and how they are
// shaped, Symbol.toStringTag, argument counts before conversions before the steps, and the
// WHATWG subprotocol rule (offered but not acknowledged fails the connection).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocketServer as WsServer } from "ws";
import { CloseEvent, WebSocketMessageEvent } from "../../src/client/events.js";
import { WebSocket } from "../../src/client/websocket.js";
import { WebSocketServer } from "../../src/server/server.js";

let wss: WebSocketServer<unknown>;
const server = { url: "" };
before(async () => {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1", protocols: ["chat"], message: (ws, data, isBinary) => void ws.send(data, isBinary) });
  await wss.ready();
  server.url = `ws://127.0.0.1:${wss.port}/`;
});
after(() => wss.close());

/** Resolves with the next event of `type` on `target`. */
function once<T = any>(target: EventTarget, type: string): Promise<T> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as T), { once: true }));
}

/** Records "open", "error", "message", "close:<code>" in order; `closed` resolves with the close event. */
function record(ws: WebSocket): { log: string[]; closed: Promise<CloseEvent> } {
  const log: string[] = [];
  for (const type of ["open", "error", "message"]) ws.addEventListener(type, () => log.push(type));
  const closed = new Promise<CloseEvent>((resolve) =>
    ws.addEventListener("close", (e) => {
      log.push(`close:${e.code}`);
      resolve(e);
    }),
  );
  return { log, closed };
}

function throwsDom(fn: () => unknown, name: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DOMException && e.name === name, `expected a ${name} DOMException`);
}

/** A client that is closed right away (for checks that need an instance). */
function throwaway(): WebSocket {
  const ws = new WebSocket(server.url);
  ws.onerror = () => {};
  ws.close();
  return ws;
}

describe("interface shape (Web IDL §3.7)", { timeout: 120_000 }, () => {
  const shapes: Array<[string, object, string[], Record<string, number>]> = [
    ["WebSocket", WebSocket.prototype, ["url", "readyState", "bufferedAmount", "onopen", "onerror", "onclose", "extensions", "protocol", "onmessage", "binaryType"], { close: 0, send: 1 }],
    ["CloseEvent", CloseEvent.prototype, ["wasClean", "code", "reason"], {}],
    ["MessageEvent", WebSocketMessageEvent.prototype, ["data", "origin", "lastEventId", "source", "ports"], {}],
  ];
  for (const [name, proto, attributes, operations] of shapes) {
    test(`${name}: attributes are enumerable, configurable accessors on the prototype`, () => {
      for (const a of attributes) {
        const d = Object.getOwnPropertyDescriptor(proto, a);
        assert.ok(d !== undefined, `${name}.prototype.${a} exists`);
        assert.equal(typeof d.get, "function", `${a} has a getter`);
        assert.deepEqual([d.enumerable, d.configurable], [true, true], `${a} is enumerable and configurable`);
      }
    });

    test(`${name}: operations are enumerable, writable methods with Web IDL lengths`, () => {
      for (const [op, length] of Object.entries(operations)) {
        const d = Object.getOwnPropertyDescriptor(proto, op)!;
        assert.deepEqual([typeof d.value, d.enumerable, d.writable, d.configurable], ["function", true, true, true], op);
        assert.equal((d.value as Function).length, length, `${op}.length`);
      }
    });

    test(`${name}: Symbol.toStringTag is "${name}", on the prototype only`, () => {
      const d = Object.getOwnPropertyDescriptor(proto, Symbol.toStringTag)!;
      assert.deepEqual([d.value, d.writable, d.enumerable, d.configurable], [name, false, false, true]);
      assert.equal(Object.prototype.toString.call(proto), `[object ${name}]`);
    });
  }

  test("String() of instances names the interface", () => {
    const ws = throwaway();
    assert.equal(String(ws), "[object WebSocket]");
    assert.equal(String(new CloseEvent("close")), "[object CloseEvent]");
    assert.equal(String(new WebSocketMessageEvent("message")), "[object MessageEvent]");
  });

  test("for-in over an instance sees the attributes and operations", () => {
    const ws = throwaway();
    const keys: string[] = [];
    for (const k in ws) keys.push(k);
    for (const k of ["url", "readyState", "binaryType", "onmessage", "send", "close", "CONNECTING"]) assert.ok(keys.includes(k), k);
    const ce = new CloseEvent("close", { code: 1000 });
    const ceKeys: string[] = [];
    for (const k in ce) ceKeys.push(k);
    for (const k of ["wasClean", "code", "reason"]) assert.ok(ceKeys.includes(k), k);
  });

  test("constructor lengths: WebSocket 1, CloseEvent 1, MessageEvent 1", () => {
    assert.deepEqual([WebSocket.length, CloseEvent.length, WebSocketMessageEvent.length], [1, 1, 1]);
  });

  test("getters on a foreign object throw a TypeError (brand check)", () => {
    const url = Object.getOwnPropertyDescriptor(WebSocket.prototype, "url")!.get!;
    assert.throws(() => url.call({}), TypeError);
    const code = Object.getOwnPropertyDescriptor(CloseEvent.prototype, "code")!.get!;
    assert.throws(() => code.call(new Event("close")), TypeError);
    assert.throws(() => WebSocket.prototype.send.call({}, "x"), TypeError);
  });
});

describe("argument counts come first (Web IDL §3.7.5 step 3)", { timeout: 120_000 }, () => {
  test("new WebSocket() and new CloseEvent() without arguments are TypeErrors, not SyntaxErrors", () => {
    assert.throws(() => new (WebSocket as any)(), TypeError);
    assert.throws(() => new (CloseEvent as any)(), TypeError);
    assert.throws(() => new (WebSocketMessageEvent as any)(), TypeError);
    assert.throws(() => (WebSocket as any)(server.url), TypeError, "calling without new");
  });

  test("send() with no argument is a TypeError, even while CONNECTING", () => {
    const ws = throwaway();
    const fresh = new WebSocket(server.url);
    fresh.onerror = () => {};
    assert.throws(() => (fresh as any).send(), (e: unknown) => e instanceof TypeError && !(e instanceof DOMException));
    // One argument while CONNECTING: now the state check applies.
    throwsDom(() => fresh.send("x"), "InvalidStateError");
    // undefined is an argument: it converts to "undefined" and then meets the state check.
    throwsDom(() => fresh.send(undefined as any), "InvalidStateError");
    fresh.close();
    assert.throws(() => (ws as any).send(), TypeError);
  });

  test("send(): the argument's conversion comes before the state check", () => {
    const ws = new WebSocket(server.url);
    ws.onerror = () => {};
    const bad = { toString(): string { throw new RangeError("conversion"); } };
    assert.throws(() => ws.send(bad as any), RangeError);
    assert.throws(() => ws.send(Symbol("s") as any), TypeError);
    ws.close();
  });

  test("send(): a SharedArrayBuffer is not a BufferSource: sent as its string; a view of one is a TypeError", async () => {
    const ws = new WebSocket(server.url);
    await once(ws, "open");
    assert.throws(() => ws.send(new Uint8Array(new SharedArrayBuffer(4))), TypeError);
    ws.send(new SharedArrayBuffer(4) as any);
    const e = await once(ws, "message");
    assert.equal(e.data, "[object SharedArrayBuffer]");
    ws.close();
    await once(ws, "close");
  });

  test("close(): both arguments are converted before the code is checked", () => {
    const ws = new WebSocket(server.url);
    ws.onerror = () => {};
    const bad = { toString(): string { throw new RangeError("reason conversion"); } };
    assert.throws(() => ws.close(1, bad as any), RangeError, "the reason's conversion precedes InvalidAccessError");
    assert.throws(() => ws.close(Symbol("c") as any), TypeError, "ToNumber of a Symbol");
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    ws.close();
  });

  test("new WebSocket(): both arguments are converted before the URL is parsed", () => {
    const bad = { toString(): string { throw new RangeError("protocol conversion"); } };
    assert.throws(() => new WebSocket("not a url", [bad as any]), RangeError);
    assert.throws(() => new WebSocket(server.url, Symbol("p") as any), TypeError);
    assert.throws(() => new WebSocket(server.url, { [Symbol.iterator]: 5 } as any), TypeError);
  });

  test("URL and reason are USVStrings: lone surrogates become U+FFFD", () => {
    const ws = new WebSocket(`${server.url}?\ud800`);
    ws.onerror = () => {};
    assert.equal(ws.url, `${server.url}?%EF%BF%BD`);
    ws.close();
    assert.equal(new CloseEvent("close", { reason: "a\udc00" }).reason, "a\ufffd");
  });
});

describe("attributes", { timeout: 120_000 }, () => {
  test("binaryType converts its value to a string before the enum check", () => {
    const ws = throwaway();
    ws.binaryType = { toString: () => "arraybuffer" } as any;
    assert.equal(ws.binaryType, "arraybuffer");
    ws.binaryType = "BLOB" as any;
    assert.equal(ws.binaryType, "arraybuffer", "not a value of the enum: ignored");
    assert.throws(() => {
      ws.binaryType = Symbol("b") as any;
    }, TypeError);
  });

  test("event handlers keep their place among listeners when replaced (HTML §8.1.8.1)", async () => {
    const ws = new WebSocket(server.url);
    const order: string[] = [];
    ws.onopen = () => order.push("handler-1");
    ws.addEventListener("open", () => order.push("listener"));
    ws.onopen = () => order.push("handler-2"); // replaces, stays first
    await once(ws, "open");
    assert.deepEqual(order, ["handler-2", "listener"]);
    ws.close();
    await once(ws, "close");
  });

  test("an object handler is kept and returned; a handler returning false cancels the event", () => {
    const ws = throwaway();
    const obj = { handleEvent() {} };
    ws.onmessage = obj as any;
    assert.equal(ws.onmessage, obj);
    ws.onmessage = 5 as any;
    assert.equal(ws.onmessage, null);
    ws.onopen = () => false;
    const e = new Event("open", { cancelable: true });
    ws.dispatchEvent(e);
    assert.equal(e.defaultPrevented, true);
  });

  test("CloseEvent init: unsigned short code wraps modulo 2^16; dictionary must be an object", () => {
    assert.equal(new CloseEvent("close", { code: 65536 + 1000 }).code, 1000);
    assert.equal(new CloseEvent("close", { code: -1 }).code, 65535);
    assert.equal(new CloseEvent("close", { code: NaN }).code, 0);
    assert.equal(new CloseEvent("close", null as any).code, 0);
    assert.throws(() => new CloseEvent("close", 5 as any), TypeError);
    const e = new CloseEvent("close", { bubbles: true, cancelable: true, wasClean: 1 as any, reason: 7 as any });
    assert.deepEqual([e.bubbles, e.cancelable, e.wasClean, e.reason], [true, true, true, "7"]);
  });
});

describe("subprotocols offered but none acknowledged (WHATWG: establish a WebSocket connection)", { timeout: 120_000 }, () => {
  test("wsx server: error, then close 1006, not clean; never open", async () => {
    const ws = new WebSocket(server.url, ["nope"]);
    const r = record(ws);
    const e = await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
    assert.deepEqual([e.wasClean, e.reason, ws.protocol], [false, "", ""]);
  });

  test("ws server that ignores the offer: the same failure", async (t) => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1", handleProtocols: () => false });
    t.after(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const port = (wss.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ["a", "b"]);
    const r = record(ws);
    await r.closed;
    assert.deepEqual(r.log, ["error", "close:1006"]);
  });

  test("no subprotocol offered and none selected still opens", async () => {
    const ws = new WebSocket(server.url);
    const r = record(ws);
    await once(ws, "open");
    assert.equal(ws.protocol, "");
    ws.close();
    await r.closed;
    assert.deepEqual(r.log, ["open", "close:1005"]);
  });
});
