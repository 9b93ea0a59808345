/**
 * Node-only functions on a client {@link WebSocket}: a ping, why it failed, the HTTP version it
 * was opened over. Browsers have none of these, so they stay off the standard interface:
 * functions taking the socket, not members of it.
 */
import type { Transport } from "../transport/transport.js";
import type { WebSocket } from "./websocket.js";

/** What a WebSocket's constructor lends to these functions. */
export interface ClientInternals {
  transport(): Transport | null;
  failure(): Error | null;
  httpVersion(): "1.1" | "2" | null;
}

/** Node-only access to a client's internals, kept off the standard interface. */
export const internals = new WeakMap<WebSocket, ClientInternals>();

/** `WebSocket.OPEN`. */
const OPEN = 1;

/**
 * Sends a ping (RFC 6455 §5.5.2) on an open client connection. Not part of the browser API
 * (browsers do not expose pings); for tools such as `wsx connect`. Returns false if not open.
 */
export function pingClient(ws: WebSocket, data: string | Uint8Array = ""): boolean {
  const t = internals.get(ws)?.transport() ?? null;
  return t !== null && ws.readyState === OPEN ? t.ping(data) : false;
}

/**
 * Why a client connection failed (handshake refused, DNS, TLS, protocol error), if it did. A
 * refused handshake is a `HandshakeError` whose `status` is the server's HTTP status and whose
 * `body` holds the start of the response body (at most 2 KiB, decoded as UTF-8).
 */
export function clientFailure(ws: WebSocket): Error | null {
  return internals.get(ws)?.failure() ?? null;
}

/**
 * The HTTP version the connection was opened over: "2" for an RFC 8441 stream (the `http2`
 * option, when the server accepted it), "1.1" for an upgrade (including a fallback), null
 * before it is open or when it never opened. Node-only, for tools such as `wsx connect`.
 */
export function clientHttpVersion(ws: WebSocket): "1.1" | "2" | null {
  return internals.get(ws)?.httpVersion() ?? null;
}
