// Type test: the client's TypeScript shape follows the DOM's (lib.dom.d.ts): typed on*
// handlers, an event map, and addEventListener overloads. tsc compiling this file is the
// test; `@ts-expect-error` lines fail the build if they ever start to compile. The runtime
// part checks that what the types promise is what a listener receives.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloseEvent, WebSocketMessageEvent, type WebSocketEventMap } from "../../src/client/events.js";
import { WebSocket } from "../../src/client/websocket.js";
import { WebSocketServer } from "../../src/server/server.js";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

// Compile-time checks only: never called.
function typeChecks(ws: WebSocket): void {
  ws.addEventListener("message", (e) => e.data);
  ws.addEventListener("message", (e) => {
    assertType<Equals<typeof e, WebSocketMessageEvent>>();
  });
  ws.addEventListener("close", (e) => {
    const code: number = e.code;
    const clean: boolean = e.wasClean;
    const reason: string = e.reason;
    void [code, clean, reason];
    // @ts-expect-error a CloseEvent has no data
    void e.data;
  });
  ws.addEventListener("open", function (e) {
    assertType<Equals<typeof this, WebSocket>>();
    assertType<Equals<typeof e, Event>>();
  });
  // Unknown types fall back to the EventTarget signature.
  ws.addEventListener("custom", (e: Event) => void e.type, { once: true });
  ws.addEventListener("message", { handleEvent: (e: Event) => void e });
  ws.removeEventListener("message", (e) => void e.data);
  ws.onmessage = (ev) => {
    assertType<Equals<typeof ev, WebSocketMessageEvent>>();
    void ev.origin;
  };
  ws.onclose = function (ev) {
    assertType<Equals<typeof ev, CloseEvent>>();
    assertType<Equals<typeof this, WebSocket>>();
  };
  ws.onerror = (ev) => assertType<Equals<typeof ev, Event>>();
  ws.onopen = null;
  // @ts-expect-error a handler is a function or null
  ws.onopen = 5;
  // @ts-expect-error the close event is a CloseEvent, which has no origin
  ws.onclose = (ev: WebSocketMessageEvent) => void ev;
  assertType<Equals<WebSocketEventMap["close"], CloseEvent>>();
  assertType<Equals<typeof ws.readyState, number>>();
  assertType<Equals<typeof ws.binaryType, "blob" | "arraybuffer">>();
  // @ts-expect-error binaryType is an enum
  ws.binaryType = "text";
  // @ts-expect-error send takes one argument
  ws.send();
}
void typeChecks;

test("listeners receive what the types say", async (t) => {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", message: (s, data, isBinary) => void s.send(data, isBinary) });
  await server.ready();
  t.after(() => server.close());
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
  const seen: string[] = [];
  ws.onopen = function () {
    assert.equal(this, ws);
    ws.send("hi");
  };
  ws.addEventListener("message", (e) => {
    assert.ok(e instanceof WebSocketMessageEvent);
    seen.push(e.data);
    ws.close(1000);
  });
  await new Promise<void>((resolve) => {
    ws.onclose = (e) => {
      assert.ok(e instanceof CloseEvent);
      seen.push(`close ${e.code}`);
      resolve();
    };
  });
  assert.deepEqual(seen, ["hi", "close 1000"]);
});
