/**
 * `import "wsx/global"` installs `WebSocket` and `CloseEvent` on `globalThis` where they are
 * missing (Node 20), so code written for the browser runs unchanged. Existing globals (Node
 * 22+ has its own) are left alone.
 */
import { CloseEvent } from "./client/events.js";
import { WebSocket } from "./client/websocket.js";

const g = globalThis as Record<string, unknown>;
if (g.WebSocket === undefined) Object.defineProperty(g, "WebSocket", { value: WebSocket, writable: true, configurable: true });
if (g.CloseEvent === undefined) Object.defineProperty(g, "CloseEvent", { value: CloseEvent, writable: true, configurable: true });

export {};
