/**
 * WebSocketServer options, with their defaults. Times are in milliseconds, sizes in bytes.
 */
import type { Server as HttpServer } from "node:http";
import type { Http2SecureServer, Http2Server } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import type { PerMessageDeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import { SHARED_DEFAULTS } from "../protocol/limits.js";
import type { PubSubAdapter } from "./adapter.js";
import type { Http2ListenOptions } from "./http2.js";
import type { MessageStream } from "./message-stream.js";
import type { UpgradeRequestMessage } from "./pending-handshake.js";
import type { ServerWebSocket } from "./server-websocket.js";
import type { TopicsOptions } from "./topics-options.js";

/** What the `upgrade` hook learns about a handshake before it is accepted. */
export interface UpgradeInfo {
  /** Subprotocols the client offered, in its order. */
  protocols: string[];
  /** The `Origin` header, if any. */
  origin: string | undefined;
  /** The subprotocol the server will select ("" for none). */
  protocol: string;
  /** The `Sec-WebSocket-Extensions` the client offered, raw ("" for none). */
  extensions: string;
  /** The target host: the `Host` header, or `:authority` over HTTP/2. */
  authority: string;
  /** The request target with its query: `req.url`, or `:path` over HTTP/2. */
  path: string;
  /** True for an RFC 8441 extended CONNECT stream over HTTP/2, false for an HTTP/1.1 upgrade. */
  http2: boolean;
}

/** What happens to a message for a connection whose buffered bytes exceed `maxBackpressure`. */
export type BackpressurePolicy = "drop" | "close";

/** Handlers, defined once per server (not per connection). */
export interface ServerHandlers<T> {
  /** A connection is open; `ws.data` holds what the `upgrade` hook returned. */
  open?(ws: ServerWebSocket<T>): void;
  /** A message arrived. `data` is a view of the received bytes; text is UTF-8 (`data.toString()`). */
  message?(ws: ServerWebSocket<T>, data: Buffer, isBinary: boolean): void;
  /**
   * Opt-in streaming receive: when given, every message is delivered here (instead of to
   * `message`) as soon as its first bytes arrive, as a {@link MessageStream} of its pieces.
   * The socket is not read while the stream's buffer (64 KiB) is full, so a message never
   * has to fit in memory; `maxPayload` still bounds the whole message. Consume or destroy
   * each stream. Compressed (permessage-deflate) messages arrive whole, as one chunk. A
   * throw or a rejected promise closes the connection with 1011.
   */
  messageStream?(ws: ServerWebSocket<T>, message: MessageStream, isBinary: boolean): void | Promise<void>;
  /**
   * The connection is closed (the socket is gone). `code` is the peer's close code, 1005 if its
   * close frame had none, the code we failed the connection with after a protocol error, or
   * 1006 when it ended without a close frame.
   */
  close?(ws: ServerWebSocket<T>, code: number, reason: string): void;
  /** Buffered output was written out after `send` reported backpressure. */
  drain?(ws: ServerWebSocket<T>): void;
  /** A ping arrived (the pong is sent automatically unless `autoPong` is false). */
  ping?(ws: ServerWebSocket<T>, data: Buffer): void;
  /** A pong arrived. */
  pong?(ws: ServerWebSocket<T>, data: Buffer): void;
  /** The connection failed (protocol error, socket error, idle timeout); `close` follows. */
  error?(ws: ServerWebSocket<T>, error: Error): void;
}

/** Options of {@link WebSocketServer}. */
export interface WebSocketServerOptions<T = undefined> extends ServerHandlers<T> {
  /** Create and listen on an HTTP server on this port (0 for any free port). */
  port?: number;
  /** Host to listen on with `port`. Default: all interfaces (as `net.Server.listen`). */
  host?: string;
  /**
   * Attach to this existing server: an `http`/`https` server's `upgrade` event, or a
   * `node:http2` server's RFC 8441 extended CONNECT streams (and its `upgrade` event when it
   * has `allowHTTP1`). An http2 server is asked for `enableConnectProtocol` (new sessions).
   */
  server?: HttpServer | HttpsServer | Http2Server | Http2SecureServer;
  /**
   * With `port`: the own listener speaks HTTP/2 too, with WebSockets as RFC 8441 extended
   * CONNECT streams beside HTTP/1.1 upgrades on the same port. `true`: cleartext (HTTP/2 with
   * prior knowledge, h2c); an object with `key` and `cert` (any TLS option): TLS, ALPN
   * choosing h2 or http/1.1, as browsers need. Default false.
   */
  http2?: boolean | Http2ListenOptions;
  /** Neither listen nor attach; call {@link WebSocketServer.handleUpgrade} yourself. */
  noServer?: boolean;
  /** Accept upgrades only on this path (query string ignored). Default: any path. */
  path?: string;
  /**
   * Subprotocols the server speaks. An array: the first protocol in the client's offer that is
   * in the array is selected. A function: returns the protocol to select, or "" for none.
   * Default: none selected.
   */
  protocols?: readonly string[] | ((offered: string[], req: UpgradeRequestMessage) => string);
  /** Allowed `Origin` values (exact, ASCII case-insensitive). Others get 403. Default: any origin. */
  origins?: readonly string[];
  /**
   * Async hook run before the handshake is accepted: authenticate, check the origin, and
   * return the per-connection data (`ws.data`). Throw a `HandshakeError(status, message,
   * headers)` to reject with that HTTP status; any other error rejects with 500. `req` is the
   * `IncomingMessage` of an HTTP/1.1 upgrade, or an `Http2UpgradeRequest` (`info.http2`).
   */
  upgrade?: (req: UpgradeRequestMessage, info: UpgradeInfo) => T | Promise<T>;
  /**
   * Largest incoming message in bytes, as the handler receives it (after inflation when
   * compressed); larger ones close the connection with 1009. Default 16 MiB. The memory a
   * message in progress holds is bounded by it, whatever its fragmentation.
   */
  maxPayload?: number;
  /** Most frames one incoming message may arrive in; more close the connection with 1008. Default 131072. */
  maxFragments?: number;
  /** Buffered bytes per connection above which `backpressurePolicy` applies. Default 1 MiB. */
  maxBackpressure?: number;
  /** "drop": messages are dropped while over the limit (send returns `SendStatus.Dropped`); "close": the connection is closed with 1008. Default "drop". */
  backpressurePolicy?: BackpressurePolicy;
  /** Close a connection that received nothing for this long (ms); 0 disables. Default 120000. */
  idleTimeout?: number;
  /** Ping a quiet peer after half the idle timeout so live peers stay connected. Default true. */
  sendPings?: boolean;
  /** Answer pings automatically (RFC 6455 §5.5.2). Default true. */
  autoPong?: boolean;
  /** Time allowed for the `upgrade` hook, and for the HTTP request head on a server we create (ms). Default 10000. */
  handshakeTimeout?: number;
  /** Time to wait for the peer's close frame and TCP close before destroying the socket (ms). Default 5000. */
  closeTimeout?: number;
  /** Largest request head (request line and headers) on a server wsx creates, in bytes; larger ones get 431. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Most request headers a handshake may carry; more get 431. Default 100. */
  maxHeaderCount?: number;
  /** Largest number of open connections; further handshakes get 503. Default: unlimited. */
  maxConnections?: number;
  /** Largest number of handshakes waiting on the `upgrade` hook; further ones get 503. Default 1000. */
  maxPendingHandshakes?: number;
  /** permessage-deflate (RFC 7692): true for defaults, or options. Default false. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Pub/sub adapter for scale-out across processes (e.g. `RedisAdapter`). Default: in-memory only. */
  adapter?: PubSubAdapter;
  /**
   * Durable topics (history, offsets, resume), the wsx.topics.v1 subprotocol and the SSE
   * endpoint; see docs/TOPICS.md. Default: off (topics are ephemeral, at-most-once).
   */
  topics?: TopicsOptions<T>;
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  maxPayload: number;
  maxFragments: number;
  maxBackpressure: number;
  backpressurePolicy: BackpressurePolicy;
  idleTimeout: number;
  sendPings: boolean;
  autoPong: boolean;
  handshakeTimeout: number;
  closeTimeout: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  maxConnections: number;
  maxPendingHandshakes: number;
}

/** The defaults, in one place (documented in README and docs/SECURITY.md). */
export const DEFAULTS: ResolvedOptions = {
  maxPayload: SHARED_DEFAULTS.maxPayload,
  maxFragments: SHARED_DEFAULTS.maxFragments,
  maxBackpressure: 1024 * 1024,
  backpressurePolicy: "drop",
  idleTimeout: 120_000,
  sendPings: true,
  autoPong: true,
  handshakeTimeout: SHARED_DEFAULTS.handshakeTimeout,
  closeTimeout: SHARED_DEFAULTS.closeTimeout,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxConnections: Infinity,
  maxPendingHandshakes: 1000,
};

/** Applies defaults and checks values. */
export function resolveOptions(options: WebSocketServerOptions<unknown>): ResolvedOptions {
  const r: ResolvedOptions = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof ResolvedOptions>) {
    const v = (options as Record<string, unknown>)[key];
    if (v !== undefined) (r as unknown as Record<string, unknown>)[key] = v;
  }
  for (const key of ["maxPayload", "maxFragments", "maxBackpressure", "idleTimeout", "handshakeTimeout", "closeTimeout", "maxHeaderBytes", "maxHeaderCount", "maxConnections", "maxPendingHandshakes"] as const) {
    const v = r[key];
    if (typeof v !== "number" || Number.isNaN(v) || v < 0) throw new RangeError(`option ${key} must be a non-negative number`);
  }
  if (r.backpressurePolicy !== "drop" && r.backpressurePolicy !== "close") {
    throw new RangeError('option backpressurePolicy must be "drop" or "close"');
  }
  return r;
}
