/**
 * The reconnecting client as `wsx` exports it in Node: connections are wsx's own
 * `WebSocket`, with its Node-only options. The browser module is the base class itself
 * (reconnecting-websocket.ts), which uses the page's WebSocket.
 */
import type { WebSocketOptions } from "../options.js";
import { WebSocket } from "../websocket.js";
import { ReconnectingWebSocket as BrowserReconnectingWebSocket, type ReconnectingWebSocketOptions, type WebSocketLike } from "./reconnecting-websocket.js";

/** Options of wsx's {@link ReconnectingWebSocket}: the reconnection options, and those of each `WebSocket`. */
export interface NodeReconnectingWebSocketOptions extends ReconnectingWebSocketOptions {
  /** Options of every connection's `WebSocket` (headers, TLS, proxy, limits, permessage-deflate). */
  webSocket?: WebSocketOptions;
}

/**
 * A WebSocket that reconnects (see the base class in the browser module for the rules),
 * whose connections are wsx `WebSocket`s opened with `options.webSocket`.
 *
 * @example
 * const ws = new ReconnectingWebSocket("wss://example.com/feed", [], { maxDelay: 10_000 });
 * ws.addEventListener("online", (e) => console.log("online after", e.attempt, "attempts"));
 * ws.addEventListener("message", (e) => console.log(e.data));
 */
export class ReconnectingWebSocket extends BrowserReconnectingWebSocket {
  constructor(url: string | URL, protocols: string | string[] = [], options: NodeReconnectingWebSocketOptions = {}) {
    const { webSocket, ...rest } = options;
    super(url, protocols, {
      createWebSocket: (u, p) => new WebSocket(u, p, webSocket ?? {}) as unknown as WebSocketLike,
      ...rest,
    });
  }
}
