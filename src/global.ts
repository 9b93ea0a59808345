/**
 * `import "wsx/global"` installs `WebSocket`, `CloseEvent`, `WebSocketStream` and
 * `WebSocketError` on `globalThis` where they are missing (Node 20 has none of them; Node
 * 22+ has its own WebSocket and CloseEvent), so code written for the browser runs
 * unchanged. Existing globals are left alone.
 */
import { CloseEvent } from "./client/events.js";
import { WebSocketError } from "./client/websocket-error.js";
import { WebSocketStream } from "./client/websocket-stream.js";
import { WebSocket } from "./client/websocket.js";

const g = globalThis as Record<string, unknown>;
// Web IDL §3.7: interface objects are writable, configurable, not enumerable globals.
for (const [name, value] of [
  ["WebSocket", WebSocket],
  ["CloseEvent", CloseEvent],
  ["WebSocketStream", WebSocketStream],
  ["WebSocketError", WebSocketError],
] as const) {
  if (g[name] === undefined) Object.defineProperty(g, name, { value, writable: true, configurable: true });
}

export {};
