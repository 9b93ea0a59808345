/**
 * WebSocket over HTTP/2 (RFC 8441) for {@link WebSocketServer}: the server's own listener
 * (TLS with ALPN "h2"/"http/1.1", or cleartext with HTTP/2 prior knowledge beside HTTP/1.1,
 * both on one port), attaching to a user's `node:http2` server, and routing extended CONNECT
 * streams to the acceptance path the HTTP/1.1 upgrades take.
 */
import type { Server as HttpServer } from "node:http";
import {
  constants,
  createServer as createHttp2Server,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from "node:tls";
import { isExtendedConnect } from "../protocol/handshake-h2.js";
import { rejectStream } from "./http2-request.js";
import type { WebSocketServer } from "./server.js";

/**
 * The `http2` option: the server's own listener speaks HTTP/2 too. With `key` and `cert`
 * (or `pfx`), TLS with ALPN: browsers get "h2", older clients "http/1.1" (both on one port);
 * without, cleartext: HTTP/2 with prior knowledge (h2c) and HTTP/1.1 upgrades on one port.
 */
export interface Http2ListenOptions extends TlsOptions {
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §6.5.2): WebSockets (and other streams) one
   * HTTP/2 connection may have open at once; further streams are refused. Default 256.
   */
  maxConcurrentStreams?: number;
  /**
   * Memory one HTTP/2 connection may use for its HTTP/2 state, in MB (node:http2's
   * `maxSessionMemory`); past it, new streams are refused. Default 10.
   */
  maxSessionMemory?: number;
  /**
   * The connection-level receive window (RFC 9113 §6.9), bytes: what all streams together may
   * have in flight towards the server. node:http2 returns it as bytes arrive, so it does not
   * bound memory (each stream's window does: SETTINGS_INITIAL_WINDOW_SIZE, 65535 unless
   * `settings` says otherwise); it only keeps busy streams from waiting on each other.
   * Default 1 MiB.
   */
  connectionWindowSize?: number;
  /** More HTTP/2 SETTINGS for the connections (RFC 9113 §6.5.2); `enableConnectProtocol` is always on. */
  settings?: import("node:http2").Settings;
}

/** Defaults of {@link Http2ListenOptions}. */
export const HTTP2_DEFAULTS = { maxConcurrentStreams: 256, maxSessionMemory: 10, connectionWindowSize: 1024 * 1024 } as const;

/** A `node:http2` server, cleartext or secure. */
export type AnyHttp2Server = Http2Server | Http2SecureServer;

/** Whether `server` is a `node:http2` server (they alone have `updateSettings`). */
export function isHttp2Server(server: unknown): server is AnyHttp2Server {
  return typeof (server as { updateSettings?: unknown }).updateSettings === "function";
}

// ---- routing streams to wsx servers ---------------------------------------------------------

/** wsx servers per HTTP/2 server, so several can split it by path. */
const attached = new WeakMap<AnyHttp2Server, Array<WebSocketServer<any>>>();

function pathOf(headers: IncomingHttpHeaders): string {
  const p = headers[":path"];
  return typeof p === "string" ? p : "/";
}

function route(server: AnyHttp2Server, headers: IncomingHttpHeaders): WebSocketServer<any> | undefined {
  const list = attached.get(server);
  if (list === undefined) return undefined;
  const path = pathOf(headers);
  for (const wss of list) if (wss.shouldHandle({ url: path })) return wss;
  return undefined;
}

function onStream(this: AnyHttp2Server, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders?: string[]): void {
  if (!isExtendedConnect(headers)) return; // not ours: other listeners (or ownStreams) answer it
  const wss = route(this, headers);
  if (wss !== undefined) {
    wss.handleStream(stream, headers, rawHeaders);
    return;
  }
  // No wsx server wants this path. With the compatibility API, 'connect' decides (below);
  // else leave it to other 'stream' listeners if there are any.
  if (this.listenerCount("request") > 0 || this.listenerCount("stream") > 1) return;
  rejectStream(stream, 404, "no WebSocket endpoint at this path", {}, 1000);
}

/**
 * The compatibility API (a `request` listener) answers every CONNECT stream with 405 unless a
 * `connect` listener takes it: take the WebSocket ones (handled on `stream`) and answer other
 * CONNECTs as Node would when nobody else listens.
 */
function onCompatConnect(this: AnyHttp2Server, req: Http2ServerRequest, res: Http2ServerResponse): void {
  const websocket = isExtendedConnect(req.headers);
  if (websocket && route(this, req.headers) !== undefined) return;
  if (this.listenerCount("connect") > 1) return;
  if (websocket) return rejectStream(req.stream, 404, "no WebSocket endpoint at this path", {}, 1000);
  res.statusCode = constants.HTTP_STATUS_METHOD_NOT_ALLOWED;
  res.end();
}

/**
 * Routes extended CONNECT streams of `server` to `wss`, and asks new sessions for
 * SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3; sessions already open keep their settings).
 */
export function attachHttp2(wss: WebSocketServer<any>, server: AnyHttp2Server): void {
  let list = attached.get(server);
  if (list === undefined) {
    list = [];
    attached.set(server, list);
    server.updateSettings({ enableConnectProtocol: true });
    server.prependListener("stream", onStream);
    server.on("connect", onCompatConnect);
  }
  list.push(wss);
}

/** Undoes {@link attachHttp2}. */
export function detachHttp2(wss: WebSocketServer<any>, server: AnyHttp2Server): void {
  const list = attached.get(server);
  if (list === undefined) return;
  const i = list.indexOf(wss);
  if (i !== -1) list.splice(i, 1);
  if (list.length === 0) {
    attached.delete(server);
    server.removeListener("stream", onStream);
    server.removeListener("connect", onCompatConnect);
  }
}

/** Streams of the own server that no wsx server took: nothing else is served here. */
function ownStreams(this: AnyHttp2Server, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  if (!isExtendedConnect(headers)) {
    rejectStream(stream, 400, "this endpoint speaks WebSocket (RFC 8441 extended CONNECT)\n", {}, 1000);
  } else if (route(this, headers) === undefined) {
    rejectStream(stream, 404, "no WebSocket endpoint at this path", {}, 1000);
  }
}

// ---- the own listener -----------------------------------------------------------------------

/** RFC 9113 §3.4: the client connection preface (prior knowledge). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Settings of the own listener, resolved. */
export interface Http2ListenerSettings {
  /** Time a connection may take for its TLS handshake or first bytes, ms. */
  handshakeTimeout: number;
  /** Largest request head (header list) in bytes. */
  maxHeaderBytes: number;
  /** HTTP/2 sessions with no frame for this long are closed (0: never), ms. */
  idleTimeout: number;
}

/**
 * The own listener with HTTP/2: one port, one front server (TCP or TLS) that hands each
 * connection to an HTTP/1.1 server (upgrades) or an HTTP/2 server (extended CONNECT).
 */
export class Http2Listener {
  /** The server that listens. */
  readonly front: NetServer | TlsServer;
  /** Sessions open now, to send GOAWAY on shutdown. */
  readonly sessions = new Set<ServerHttp2Session>();
  /** The HTTP/2 server connections are handed to. */
  readonly http2: Http2Server;
  /** Whether the listener speaks TLS. */
  readonly secure: boolean;
  private readonly http1: HttpServer;

  constructor(http1: HttpServer, options: Http2ListenOptions, settings: Http2ListenerSettings) {
    this.http1 = http1;
    const {
      maxConcurrentStreams = HTTP2_DEFAULTS.maxConcurrentStreams,
      maxSessionMemory = HTTP2_DEFAULTS.maxSessionMemory,
      connectionWindowSize = HTTP2_DEFAULTS.connectionWindowSize,
      settings: extraSettings,
      ...tls
    } = options;
    this.http2 = createHttp2Server({
      maxSessionMemory,
      settings: { maxHeaderListSize: settings.maxHeaderBytes, ...extraSettings, maxConcurrentStreams, enableConnectProtocol: true },
    });
    this.http2.on("stream", ownStreams);
    this.http2.on("session", (session: ServerHttp2Session) => {
      // RFC 9113 §6.9.2: only a WINDOW_UPDATE raises the connection window past 65535.
      if (connectionWindowSize > 65_535) session.setLocalWindowSize(connectionWindowSize);
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
      session.on("error", swallow);
    });
    // A connection with nothing on it for twice the idle timeout is closed (its WebSockets,
    // pinged at half the idle timeout, keep a live one busy).
    if (settings.idleTimeout > 0) this.http2.setTimeout(2 * settings.idleTimeout);
    this.secure = tls.cert !== undefined || tls.pfx !== undefined || tls.SNICallback !== undefined;
    if (this.secure) {
      // ALPN (RFC 7301) chooses: "h2" for HTTP/2, "http/1.1" for the upgrade.
      const front = createTlsServer({ ...tls, ALPNProtocols: ["h2", "http/1.1"], handshakeTimeout: settings.handshakeTimeout });
      front.on("secureConnection", (socket: TLSSocket) => {
        socket.setNoDelay(true);
        (socket.alpnProtocol === "h2" ? this.http2 : this.http1).emit("connection", socket);
      });
      front.on("tlsClientError", swallow);
      this.front = front;
    } else {
      this.front = createNetServer({ noDelay: true }, (socket) => this.sniff(socket, settings.handshakeTimeout));
    }
  }

  /**
   * Cleartext: a connection that starts with the HTTP/2 preface is HTTP/2 with prior
   * knowledge (RFC 9113 §3.3), anything else HTTP/1.1. The bytes read are put back.
   */
  private sniff(socket: Socket, timeoutMs: number): void {
    let seen: Buffer = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const prefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (prefix && seen.length < PREFACE.length) return; // a prefix of the preface: wait for more
      done();
      socket.pause();
      socket.unshift(seen);
      if (prefix) {
        // node:http2 reads what the socket holds already, then the handle (no resume).
        this.http2.emit("connection", socket);
      } else {
        this.http1.emit("connection", socket);
        socket.resume();
      }
    };
    const onClose = (): void => done();
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    socket.on("error", swallow);
    socket.on("data", onData);
    socket.on("close", onClose);
  }

  /** Listens; resolves once listening. */
  listen(port: number | undefined, host: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.front.once("error", reject);
      this.front.listen(port, host, () => {
        this.front.removeListener("error", reject);
        // The inner HTTP/1.1 server never listens itself: start its request-timeout checks
        // (headersTimeout, requestTimeout), which node:http starts on "listening".
        this.http1.emit("listening");
        resolve();
      });
    });
  }

  /** The address the front server listens on. */
  address(): AddressInfo | string | null {
    return this.front.address();
  }

  /** Whether the front server listens. */
  get listening(): boolean {
    return this.front.listening;
  }

  private stopped: Promise<void> | null = null;

  /** Stops accepting connections; resolves once every connection has closed. */
  stopListening(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      if (!this.front.listening) return resolve();
      this.front.close(() => resolve());
    });
    return this.stopped;
  }

  /**
   * Stops listening; GOAWAY (RFC 9113 §6.8) on every HTTP/2 session, which closes once its
   * streams are done; HTTP/1.1 connections are closed. Resolves when all are gone.
   */
  async close(): Promise<void> {
    const stopped = this.stopListening();
    for (const session of this.sessions) if (!session.closed) session.close();
    this.http1.closeAllConnections?.();
    this.http1.close(swallow);
    await stopped;
  }
}

function swallow(): void {}
