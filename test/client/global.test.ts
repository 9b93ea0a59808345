// `wsx/global` installs WebSocket and CloseEvent on globalThis only where they are missing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CloseEvent } from "../../src/client/events.js";
import { WebSocket } from "../../src/client/websocket.js";
import { once, startWsxServer } from "./helpers.js";

test("wsx/global fills in what is missing and leaves existing globals alone", async () => {
  const g = globalThis as Record<string, unknown>;
  const nativeWebSocket = g.WebSocket; // undefined on Node 20; Node 22+ has its own
  // An existing CloseEvent (here a stand-in) must survive the import.
  const existingCloseEvent = g.CloseEvent ?? class StandIn {};
  g.CloseEvent = existingCloseEvent;

  await import("../../src/global.js");

  assert.equal(g.CloseEvent, existingCloseEvent, "an existing CloseEvent is kept");
  if (nativeWebSocket === undefined) {
    assert.equal(g.WebSocket, WebSocket, "a missing WebSocket is installed");
    const d = Object.getOwnPropertyDescriptor(globalThis, "WebSocket")!;
    assert.deepEqual([d.writable, d.enumerable, d.configurable], [true, false, true], "like other Web IDL globals");
  } else {
    assert.equal(g.WebSocket, nativeWebSocket, "an existing WebSocket is kept");
  }
  // WebSocketStream and WebSocketError: Node has neither (Chromium ships both).
  const { WebSocketStream } = await import("../../src/client/websocket-stream.js");
  const { WebSocketError } = await import("../../src/client/websocket-error.js");
  for (const [name, value] of [["WebSocketStream", WebSocketStream], ["WebSocketError", WebSocketError]] as const) {
    assert.equal(g[name], value, `${name} is installed`);
    const d = Object.getOwnPropertyDescriptor(globalThis, name)!;
    assert.deepEqual([d.writable, d.enumerable, d.configurable], [true, false, true]);
  }
});

test("browser-style code runs unchanged against the installed global", async () => {
  await import("../../src/global.js");
  const G = (globalThis as Record<string, unknown>).WebSocket as typeof WebSocket;
  const server = await startWsxServer();
  try {
    const ws = new G(server.url);
    await once(ws, "open");
    ws.send("hello from a global");
    assert.equal((await once(ws, "message")).data, "hello from a global");
    ws.close(1000);
    const e = await once(ws, "close");
    assert.equal(e.code, 1000);
    if (G === WebSocket) assert.ok(e instanceof CloseEvent);
  } finally {
    await server.close();
  }
});
