/**
 * The opening handshake over HTTP/2 (RFC 8441): the server's checks of an extended CONNECT
 * request and its 200 response. There is no `Sec-WebSocket-Key` nor `-Accept` (§5); the
 * version, subprotocol and extension headers are the ones of RFC 6455, checked by the same
 * code as over HTTP/1.1 (handshake.ts).
 */
import { HandshakeError } from "./errors.js";
import { validateWebSocketHeaders, type HeaderMap, type WebSocketOffer } from "./handshake.js";

/** RFC 8441 §3: the SETTINGS parameter a server sends to allow extended CONNECT. */
export const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8;

/** An extended CONNECT request that passed every check of RFC 8441 §4–§5. */
export interface ExtendedConnectRequest extends WebSocketOffer {
  /** `:authority` (RFC 8441 §4: the host and port the WebSocket is for). */
  authority: string;
  /** `:path`, with its query (the WebSocket's resource name, RFC 6455 §3). */
  path: string;
  /** `:scheme`: "https", or "http" over cleartext HTTP/2. */
  scheme: string;
}

function pseudo(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? undefined : v;
}

/**
 * Whether HTTP/2 request headers are an extended CONNECT for a WebSocket (RFC 8441 §4:
 * `:method` CONNECT with `:protocol` websocket), the cheap test to route a stream with.
 */
export function isExtendedConnect(headers: HeaderMap): boolean {
  return headers[":method"] === "CONNECT" && typeof headers[":protocol"] === "string" && headers[":protocol"].toLowerCase() === "websocket";
}

/**
 * Checks an extended CONNECT request (RFC 8441 §4–§5) from its HTTP/2 headers (pseudo-headers
 * included, lower-case names, as node:http2 gives them). Throws a {@link HandshakeError} with
 * the `:status` to answer: 405 for a method other than CONNECT, 400 for a missing
 * `:protocol`, `:scheme`, `:path` or `:authority`, 501 for a `:protocol` other than websocket,
 * 426 for a `sec-websocket-version` other than 13 (RFC 6455 §4.4).
 */
export function validateExtendedConnect(headers: HeaderMap): ExtendedConnectRequest {
  // RFC 8441 §4: ":method" CONNECT with a ":protocol" pseudo-header.
  if (headers[":method"] !== "CONNECT") throw new HandshakeError(405, "a WebSocket over HTTP/2 is opened with CONNECT", { allow: "CONNECT" });
  const protocol = pseudo(headers, ":protocol");
  if (protocol === undefined) throw new HandshakeError(400, "missing :protocol pseudo-header (RFC 8441 §4)");
  // RFC 8441 §5: the ":protocol" value is "websocket"; other protocols are not served here.
  if (protocol.toLowerCase() !== "websocket") throw new HandshakeError(501, `unsupported :protocol ${JSON.stringify(protocol.slice(0, 64))}`);
  // RFC 8441 §4: with ":protocol", ":scheme" and ":path" MUST be included, like ":authority".
  const scheme = pseudo(headers, ":scheme");
  const path = pseudo(headers, ":path");
  const authority = pseudo(headers, ":authority") ?? pseudo(headers, "host");
  if (scheme === undefined || scheme === "") throw new HandshakeError(400, "missing :scheme pseudo-header (RFC 8441 §4)");
  if (path === undefined || path === "") throw new HandshakeError(400, "missing :path pseudo-header (RFC 8441 §4)");
  if (authority === undefined || authority === "") throw new HandshakeError(400, "missing :authority pseudo-header (RFC 8441 §4)");
  // RFC 8441 §5: sec-websocket-version, -protocol and -extensions keep their RFC 6455 rules.
  const offer = validateWebSocketHeaders(headers);
  return { authority, path, scheme, ...offer };
}

/**
 * The response headers accepting an extended CONNECT (RFC 8441 §5: a 2xx status, here 200,
 * instead of 101; no `sec-websocket-accept`), with the selected subprotocol and extensions.
 */
export function extendedConnectResponse(protocol?: string, extensions?: string): Record<string, string | number> {
  const headers: Record<string, string | number> = { ":status": 200 };
  if (protocol) headers["sec-websocket-protocol"] = protocol;
  if (extensions) headers["sec-websocket-extensions"] = extensions;
  return headers;
}

/** Headers RFC 9113 §8.2.2 forbids in HTTP/2 (connection-specific): never put in a response. */
const CONNECTION_SPECIFIC = new Set(["connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding"]);

/**
 * The response headers refusing an extended CONNECT with `status` (4xx/5xx): `extra` headers
 * with lower-case names, minus the connection-specific ones HTTP/2 forbids (RFC 9113 §8.2.2).
 */
export function extendedConnectRejection(status: number, bodyLength: number, extra: Readonly<Record<string, string>> = {}): Record<string, string | number> {
  const headers: Record<string, string | number> = { ":status": status, "content-type": "text/plain; charset=utf-8", "content-length": bodyLength };
  for (const name of Object.keys(extra)) {
    const lower = name.toLowerCase();
    if (CONNECTION_SPECIFIC.has(lower) || lower.startsWith(":")) continue;
    headers[lower] = extra[name];
  }
  return headers;
}
