/**
 * Where a {@link WebSocketServer}'s handshakes come from: its own HTTP/1.1 server listening on
 * `port` (with `http2`, behind a front server that hands HTTP/2 connections to node:http2),
 * an attached `node:http`/`node:https`/`node:http2` server whose `upgrade` event several wsx
 * servers share by path, or none (`noServer`).
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { HandshakeError } from "../protocol/errors.js";
import { attachHttp2, Http2Listener, isHttp2Server, type AnyHttp2Server } from "./http2.js";
import type { ResolvedOptions, WebSocketServerOptions } from "./options.js";
import { abortHandshake } from "./pending-handshake.js";
import type { WebSocketServer } from "./server.js";

/** Upgrade listeners shared per HTTP server, so several wsx servers can split it by path. */
const attached = new WeakMap<HttpServer, Array<WebSocketServer<any>>>();

function onHttpUpgrade(this: HttpServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const servers = attached.get(this) ?? [];
  for (const wss of servers) {
    if (wss.shouldHandle(req)) {
      wss.handleUpgrade(req, socket, head);
      return;
    }
  }
  // No wsx server wants this path; leave it to other upgrade listeners if there are any.
  if (this.listenerCount("upgrade") > 1) return;
  abortHandshake(socket, new HandshakeError(400, "no WebSocket endpoint at this path"), 1000);
}

function onOwnServerRequest(_req: IncomingMessage, res: ServerResponse): void {
  // RFC 6455 §4.2.2: plain HTTP requests to a WebSocket-only server get 426; RFC 7230 §6.7:
  // with Upgrade goes Connection: upgrade, and we close since nothing else is served here.
  const body = "426 Upgrade Required: this endpoint speaks WebSocket\n";
  res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket", Connection: "Upgrade, close", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** Shares `server`'s 'upgrade' event with the other wsx servers attached to it. */
function attachUpgrades(wss: WebSocketServer<any>, server: HttpServer): void {
  let list = attached.get(server);
  if (list === undefined) {
    list = [];
    attached.set(server, list);
    server.on("upgrade", onHttpUpgrade);
  }
  list.push(wss);
}

/** Undoes {@link attachUpgrades} (the last wsx server removes the shared listener). */
export function detachUpgrades(wss: WebSocketServer<any>, server: HttpServer): void {
  const list = attached.get(server);
  if (list !== undefined) {
    const i = list.indexOf(wss);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) {
      attached.delete(server);
      server.removeListener("upgrade", onHttpUpgrade);
    }
  }
}

/** The servers a {@link WebSocketServer} takes its handshakes from, as {@link bindServer} set them up. */
export interface ServerBinding {
  /** The HTTP/1.1 server in use (created or attached), or null. */
  httpServer: HttpServer | null;
  /** The `node:http2` server whose streams are accepted, or null. */
  http2Server: AnyHttp2Server | null;
  /** Whether wsx created the HTTP server (and so closes it). */
  ownServer: boolean;
  /** The own listener when `http2` is on, else null. */
  h2Listener: Http2Listener | null;
  /** Settles once listening (at once unless wsx created its server). */
  listening: Promise<void>;
}

/**
 * Sets up where `wss` takes its handshakes from, per its options (exactly one of `port`,
 * `server`, `noServer`, checked by the caller): creates and starts listening on its own
 * server, or attaches to the given one.
 */
export function bindServer<T>(wss: WebSocketServer<T>, options: WebSocketServerOptions<T>, o: ResolvedOptions): ServerBinding {
  if (options.noServer) {
    return { httpServer: null, http2Server: null, ownServer: false, h2Listener: null, listening: Promise.resolve() };
  }
  if (options.server !== undefined && isHttp2Server(options.server)) {
    // A node:http2 server: RFC 8441 streams on 'stream', and HTTP/1.1 upgrades on 'upgrade'
    // when it was created with allowHTTP1.
    attachHttp2(wss, options.server);
    attachUpgrades(wss, options.server as unknown as HttpServer);
    return { httpServer: null, http2Server: options.server, ownServer: false, h2Listener: null, listening: Promise.resolve() };
  }
  // Node checks header/request timeouts on an interval (30 s by default): make it a
  // fraction of the handshake timeout so slow handshakes are dropped near their deadline.
  const checkEvery = Math.max(100, Math.min(1000, Math.floor(o.handshakeTimeout / 4)));
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!wss.handleSse(req, res)) onOwnServerRequest(req, res);
  };
  const server = (options.server as HttpServer | undefined) ?? createServer({ connectionsCheckingInterval: checkEvery, maxHeaderSize: o.maxHeaderBytes }, onRequest);
  const ownServer = options.server === undefined;
  attachUpgrades(wss, server);
  if (!ownServer) return { httpServer: server, http2Server: null, ownServer, h2Listener: null, listening: Promise.resolve() };
  // Bound the time a client may take to send its request head (slowloris).
  server.headersTimeout = o.handshakeTimeout;
  server.requestTimeout = o.handshakeTimeout;
  let listening: Promise<void>;
  let h2Listener: Http2Listener | null = null;
  if (options.http2 !== undefined && options.http2 !== false) {
    // One port for both: the front server hands each connection to HTTP/1.1 or HTTP/2.
    const listener = new Http2Listener(server, options.http2 === true ? {} : options.http2, {
      handshakeTimeout: o.handshakeTimeout,
      maxHeaderBytes: o.maxHeaderBytes,
      idleTimeout: o.idleTimeout,
    });
    h2Listener = listener;
    attachHttp2(wss, listener.http2);
    listening = listener.listen(options.port, options.host).then(() => {
      listener.front.on("error", (err) => wss.emit("error", err));
      wss.emit("listening");
    });
  } else {
    listening = new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.removeListener("error", reject);
        server.on("error", (err) => wss.emit("error", err));
        wss.emit("listening");
        resolve();
      });
    });
  }
  listening.catch((err) => wss.emit("error", err));
  return { httpServer: server, http2Server: h2Listener?.http2 ?? null, ownServer, h2Listener, listening };
}
