/**
 * WebSocketServer: accepts RFC 6455 opening handshakes on an `http`/`https` server (its own,
 * an existing one, or none with `handleUpgrade`: listen.ts) and RFC 8441 extended CONNECT
 * streams on an HTTP/2 one (http2.ts), through one acceptance path (admission.ts): limits,
 * origins, the `upgrade` hook; then binds each accepted socket or stream to a transport whose
 * events go to handlers defined once per server.
 */
import { isUtf8 } from "node:buffer";
import { EventEmitter } from "node:events";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { CloseCode } from "../protocol/close-code.js";
import { Transport, type TransportOptions, type TransportOwner } from "../transport/transport.js";
import { joinWheel, leaveWheel, type WheelMember } from "../transport/timer-wheel.js";
import type { PubSubAdapter } from "./adapter.js";
import { HandshakeAdmission } from "./admission.js";
import { negotiateDeflate, type DeflateSetup } from "./deflate-setup.js";
import { resolveOptions, type ResolvedOptions, type ServerHandlers, type WebSocketServerOptions } from "./options.js";
import { detachHttp2, type Http2Listener, type AnyHttp2Server } from "./http2.js";
import { Http2Handshake } from "./http2-request.js";
import { bindServer, detachUpgrades } from "./listen.js";
import { Http1Handshake, type PendingHandshake, type ValidatedOffer } from "./pending-handshake.js";
import { PublishFrames } from "./publish-frames.js";
import { SendStatus } from "./send-status.js";
import { snapshot, StatsCounters, type ServerStats } from "./stats.js";
import { ServerWebSocket, toPayload, type WebSocketData } from "./server-websocket.js";
import { TopicRegistry } from "./topics.js";
import { DurableTopics } from "./durable-topics.js";
import type { Offset } from "./offset.js";
import { binaryMsgFrame, msgFrame, TOPICS_PROTOCOL, TopicsProtocol } from "./topics-protocol.js";
import { SseEndpoint } from "./sse.js";

function swallow(): void {}

/** Placeholder owner until the ServerWebSocket exists (no events can arrive before start()). */
const NO_OWNER: TransportOwner = {
  onMessage: swallow,
  onPing: swallow,
  onPong: swallow,
  onCloseFrame: swallow,
  onDrain: swallow,
  onError: swallow,
  onHandlerError: swallow,
  onClosed: swallow,
};

/**
 * A WebSocket server.
 *
 * Events: `listening` (own server), `error` (server-level errors, e.g. from `listen` or an
 * `upgrade` hook that threw something other than a `HandshakeError`), `connection` (ws, req).
 */
export class WebSocketServer<T = undefined> extends EventEmitter {
  /** Connections currently open. */
  readonly clients = new Set<ServerWebSocket<T>>();
  /**
   * The HTTP/1.1 server in use (created or attached), or null with `noServer` or an attached
   * `node:http2` server. With `http2`, the server's own HTTP/1.1 server does not listen itself.
   */
  readonly httpServer: HttpServer | null;
  /** The `node:http2` server whose streams are accepted (created with `http2`, or attached), else null. */
  readonly http2Server: AnyHttp2Server | null = null;
  /** @internal */
  readonly options: ResolvedOptions;
  /** @internal */
  readonly handlers: ServerHandlers<T>;
  /** @internal */
  readonly topics = new TopicRegistry<T>();
  /** @internal durable topics (server option `topics`), or null */
  readonly durable: DurableTopics | null = null;
  /** @internal the wsx.topics.v1 frame handler, or null */
  readonly topicsProtocol: TopicsProtocol | null = null;
  /** @internal the SSE endpoint (option `topics.sse`), or null */
  readonly sse: SseEndpoint | null = null;
  /** Messages dropped because a connection was over `maxBackpressure` (sends and publishes). */
  droppedMessages = 0;
  /** @internal counters behind {@link WebSocketServer.stats} */
  readonly counters = new StatsCounters();

  private readonly path: string | undefined;
  private readonly userOptions: WebSocketServerOptions<T>;
  private readonly ownServer: boolean;
  private readonly deflate: DeflateSetup | null;
  private readonly adapter: PubSubAdapter | null;
  private readonly admission: HandshakeAdmission<T>;
  /** One settings object for every connection's transport. */
  private readonly transportOptions: TransportOptions;
  private closing: Promise<void> | null = null;
  /** The own listener when `http2` is on. */
  private readonly h2Listener: Http2Listener | null = null;
  private readonly listening: Promise<void>;
  /**
   * The server's one member of the timer wheel while it has connections: it visits each
   * open connection's idle deadlines (the transports do not join the wheel one by one).
   */
  private readonly idleVisitor: WheelMember = {
    onTick: (now) => {
      for (const ws of this.clients) ws.transport.onTick(now);
    },
  };

  constructor(options: WebSocketServerOptions<T> = {}) {
    super();
    this.userOptions = options;
    this.options = resolveOptions(options as WebSocketServerOptions<unknown>);
    this.handlers = options;
    const o = this.options;
    this.transportOptions = {
      isServer: true,
      maxPayload: o.maxPayload,
      maxFragments: o.maxFragments,
      autoPong: o.autoPong,
      closeTimeout: o.closeTimeout,
      idleTimeout: o.idleTimeout,
      sendPings: o.sendPings,
      streamMessages: options.messageStream !== undefined,
      // One wheel member for the whole server (below), not one per connection.
      wheelByOwner: true,
    };
    this.path = options.path;
    this.deflate = negotiateDeflate(options.perMessageDeflate, this.options.maxPayload);
    this.adapter = options.adapter ?? null;
    if (this.adapter !== null) {
      this.topics.setAdapter(this.adapter);
      this.adapter.attach((topic, data, isBinary) => this.deliverLocal(topic, data, isBinary, undefined));
    }
    if (options.topics !== undefined) {
      const durable = new DurableTopics(options.topics);
      durable.onError = (error) => {
        if (this.listenerCount("error") > 0) this.emit("error", error);
      };
      (this as { durable: DurableTopics | null }).durable = durable;
      (this as { topicsProtocol: TopicsProtocol | null }).topicsProtocol = new TopicsProtocol(durable, options.topics, (topic, json) => void this.publish(topic, json, false));
      if (options.topics.sse !== undefined) (this as { sse: SseEndpoint | null }).sse = new SseEndpoint(durable, options.topics.sse, options.topics);
    }
    const modes = Number(options.port !== undefined) + Number(options.server !== undefined) + Number(options.noServer === true);
    if (modes !== 1) throw new TypeError("exactly one of `port`, `server` or `noServer` must be given");
    if (options.http2 !== undefined && options.http2 !== false && options.port === undefined) {
      throw new TypeError("`http2` configures the server's own listener (with `port`); attach to an http2 server with `server`");
    }

    this.admission = new HandshakeAdmission(this, options, {
      closing: () => this.closing !== null,
      complete: (h, request, protocol, data) => this.completeUpgrade(h, request, protocol, data),
    });
    const binding = bindServer(this, options, o);
    this.httpServer = binding.httpServer;
    this.http2Server = binding.http2Server;
    this.ownServer = binding.ownServer;
    this.h2Listener = binding.h2Listener;
    this.listening = binding.listening;
  }

  /** Resolves once the server listens (immediately unless it created its own server). */
  async ready(): Promise<void> {
    await this.listening;
  }

  /** The address the own or attached server listens on. */
  address(): AddressInfo | string | null {
    if (this.h2Listener !== null) return this.h2Listener.address();
    return (this.httpServer ?? this.http2Server)?.address() ?? null;
  }

  /** The port the server listens on (own or attached server). */
  get port(): number {
    const a = this.address();
    return a !== null && typeof a === "object" ? a.port : 0;
  }

  /**
   * Serves `req` as a Server-Sent Events stream of durable topics if it is for the
   * `topics.sse.path` (docs/TOPICS.md); returns false, touching nothing, otherwise. A server
   * that creates its own HTTP server calls it itself; with `server`, call it from your request
   * handler.
   */
  handleSse(req: IncomingMessage, res: import("node:http").ServerResponse): boolean {
    if (this.sse === null) return false;
    if (this.closing !== null) {
      const path = (req.url ?? "/").split("?")[0];
      if (path !== this.userOptions.topics?.sse?.path) return false;
      res.writeHead(503, { "Content-Type": "text/plain", "Retry-After": "1" });
      res.end("server is shutting down\n");
      return true;
    }
    return this.sse.handle(req, res);
  }

  /** Whether this server handles a request for `req.url` (path match, query string ignored). */
  shouldHandle(req: { url?: string }): boolean {
    if (this.path === undefined) return true;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    return (q === -1 ? url : url.slice(0, q)) === this.path;
  }

  /**
   * Runs the opening handshake on a socket taken from an HTTP `upgrade` event (for `noServer`,
   * or when attaching by hand). Rejected handshakes are answered with an HTTP status and
   * closed; accepted ones go to the `open` handler.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.admission.admit(new Http1Handshake(req, socket, head));
  }

  /**
   * Runs the opening handshake on an HTTP/2 stream (RFC 8441 extended CONNECT: `:method`
   * CONNECT, `:protocol` websocket), from a `node:http2` server's `stream` event, for servers
   * wsx did not create or attach to. The session must have been created with
   * `settings: { enableConnectProtocol: true }`. Rejected handshakes are answered with an
   * HTTP status; accepted ones get 200 and go to the `open` handler.
   */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders?: string[]): void {
    this.admission.admit(new Http2Handshake(stream, headers, rawHeaders));
  }

  private completeUpgrade(h: PendingHandshake, request: ValidatedOffer, protocol: string, data: T): void {
    const negotiated = this.deflate?.negotiate(request.extensions) ?? null;
    const socket = h.accept(protocol, negotiated?.response ?? "");
    const transport = new Transport(socket, NO_OWNER, this.transportOptions, negotiated?.codec ?? null);
    const ws = new ServerWebSocket<T>(this, transport, data, protocol, negotiated?.response ?? "", h.peer, h.req.httpVersion === "2.0" ? "2.0" : "1.1");
    transport.owner = ws;
    if (protocol === TOPICS_PROTOCOL && this.topicsProtocol !== null && this.handlers.messageStream === undefined) ws.topicsV1 = true;
    if (negotiated !== null && negotiated.params.serverNoContextTakeover) ws.publishWindowBits = negotiated.params.serverMaxWindowBits;
    this.clients.add(ws);
    if (this.clients.size === 1 && this.options.idleTimeout > 0) joinWheel(this.idleVisitor, this.options.idleTimeout / 4);
    this.counters.handshakesAccepted++;
    transport.start();
    // The one boundary for user code: a throw in a listener or `open` closes this connection
    // with 1011 and is reported; it never reaches the HTTP server's 'upgrade' event.
    try {
      this.emit("connection", ws, h.req);
      this.handlers.open?.(ws);
    } catch (err) {
      transport.handlerFailed(err);
    }
    // Bytes that came with the handshake are processed after `open`.
    const head = h.head;
    if (head.length > 0 && !transport.closed) transport.onData(head);
  }

  /** @internal called once when a connection's socket has closed */
  connectionClosed(ws: ServerWebSocket<T>): void {
    this.clients.delete(ws);
    if (this.clients.size === 0) leaveWheel(this.idleVisitor);
    this.counters.socketClosed(ws.transport.socket, ws.extensions !== "");
    this.topics.unsubscribeAll(ws);
    if (ws.durableSubs !== null) {
      for (const sub of ws.durableSubs.values()) this.durable!.unsubscribe(sub);
      ws.durableSubs = null;
    }
    if (this.closing !== null && this.clients.size === 0) this.emit("drained");
  }

  // ---- pub/sub --------------------------------------------------------------------------

  /**
   * Publishes to every local subscriber of `topic` (except `sender`, if given), framing the
   * message once; and, with an adapter, to the subscribers on other nodes. Returns the number
   * of local deliveries queued. On a durable topic the message is stored first (text: bytes
   * must be UTF-8) and delivered in history order; it then returns 0.
   *
   * @throws TypeError `data` is not a string or bytes, or bytes for a durable topic are not UTF-8.
   */
  publish(topic: string, data: WebSocketData, isBinary?: boolean, compress = true, sender?: ServerWebSocket<T>): number {
    if (this.durable !== null && this.durable.isDurable(topic)) {
      // A durable topic: stored, then delivered in history order (see publishDurable).
      // History entries are JSON text: bytes are stored as the text they encode, and bytes
      // that are not UTF-8 are refused rather than stored mangled (RFC 3629).
      const payload = toPayload(data);
      if (typeof payload !== "string" && !isUtf8(payload)) throw new TypeError(`"${topic}" is a durable topic: its messages are text, and these bytes are not UTF-8`);
      const text = typeof payload === "string" ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString();
      let json: string;
      try {
        // Re-serialized: stored JSON has no raw line breaks (SSE data lines, custom formats).
        json = JSON.stringify(JSON.parse(text));
      } catch {
        json = JSON.stringify(text);
      }
      this.durable.publishJson(topic, json).catch((error: unknown) => this.durable!.onError(error));
      return 0;
    }
    const payload = toPayload(data);
    const binary = isBinary ?? typeof payload !== "string";
    const bytes = typeof payload === "string" ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    this.counters.publishes++;
    const n = this.deliverLocal(topic, bytes, binary, sender, compress);
    // The adapter may send later: give it bytes the caller cannot change under it.
    if (this.adapter !== null) this.adapter.publish(topic, typeof payload === "string" ? bytes : Buffer.from(bytes), binary);
    return n;
  }

  /**
   * Publishes `data` (any JSON value) on a durable topic: appended to the history (in memory,
   * or Redis Streams with `RedisHistory`), then delivered to every subscriber on every node in
   * history order. Resolves with its offset; rejects (a `HistoryUnavailableError` with Redis)
   * when it could not be stored. Needs the `topics` option and a topic it makes durable.
   */
  publishDurable(topic: string, data: unknown): Promise<Offset> {
    if (this.durable === null || !this.durable.isDurable(topic)) return Promise.reject(new TypeError(`"${topic}" is not a durable topic (server option topics.durable)`));
    return this.durable.publish(topic, data);
  }

  /** @internal delivers a message to local subscribers, encoding the frame once */
  deliverLocal(topic: string, bytes: Buffer, isBinary: boolean, sender: ServerWebSocket<T> | undefined, compress = true): number {
    const subs = this.topics.subscribers.get(topic);
    if (subs === undefined) return 0;
    if (subs.size === 1 && sender !== undefined && subs.has(sender)) return 0;
    // Each distinct frame is encoded (and compressed) once for all subscribers.
    const frames = new PublishFrames(bytes, isBinary, compress ? (this.deflate?.options ?? null) : null);
    const limit = this.options.maxBackpressure;
    let n = 0;
    let deflated = 0;
    let v1: PublishFrames | null = null;
    for (const ws of subs) {
      if (ws === sender) continue;
      const t = ws.transport;
      if (t.bufferedAmount > limit) {
        ws.overLimit();
        continue;
      }
      let f = frames;
      if (ws.topicsV1) {
        // wsx.topics.v1 subscribers get a `msg` frame around the message (binary as base64).
        f = v1 ??= new PublishFrames(Buffer.from(isBinary ? binaryMsgFrame(topic, bytes) : msgFrame(topic, null, asJson(bytes.toString()))), false, compress ? (this.deflate?.options ?? null) : null);
      }
      const frame = ws.publishWindowBits === 0 ? f.plainFrame() : f.compressedFrame(ws.publishWindowBits);
      if (t.sendRaw(frame)) {
        n++;
        if (ws.extensions !== "") deflated++;
      }
    }
    const c = this.counters;
    c.fanoutDeliveries += n;
    c.messagesOut += n;
    c.bytesOut += n * bytes.length;
    c.deflateBytesOut += deflated * bytes.length;
    return n;
  }

  /** @internal permessage-deflate options for frames shared by several connections, or null */
  get publishDeflate(): import("../protocol/extensions/permessage-deflate.js").PerMessageDeflateOptions | null {
    return this.deflate?.options ?? null;
  }

  /** Number of local subscribers of `topic`. */
  subscriberCount(topic: string): number {
    return this.topics.count(topic) + (this.durable?.count(topic) ?? 0);
  }

  // ---- stats ----------------------------------------------------------------------------

  /**
   * A snapshot of this server's counters: open connections, handshakes accepted and refused
   * by reason, messages and bytes in and out, the compression ratio, messages dropped for
   * backpressure, publishes and their deliveries, the adapter's failures, and durable topics'
   * subscriptions, appends, deliveries and unrecoverable signals. Cheap to
   * call (one pass over the open connections); `formatPrometheus` turns it into text.
   */
  stats(): ServerStats {
    const open = [...this.clients].map((ws) => ({ socket: ws.transport.socket, deflate: ws.extensions !== "" }));
    const d = this.durable;
    const durable = d === null ? undefined : { subscriptions: d.subscriptions(), sseStreams: this.sse?.size ?? 0, appended: d.appended, delivered: d.delivered, unrecoverable: d.unrecoverableSignals };
    return snapshot(this.counters, open, this.droppedMessages, this.adapter?.stats?.failed ?? 0, durable);
  }

  // ---- shutdown -------------------------------------------------------------------------

  /**
   * Stops accepting, sends 1001 Going Away (or `code`) to every client, waits for the close
   * handshakes up to the close timeout (then destroys what is left), closes the HTTP server
   * if it created it, closes the adapter, and resolves. Calling it again returns the same promise.
   */
  close(code: number = CloseCode.GoingAway, reason = "server shutting down"): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = (async () => {
      const server = this.httpServer ?? (this.http2Server as unknown as HttpServer | null);
      if (server !== null) detachUpgrades(this, server);
      this.sse?.close();
      const h2 = this.h2Listener;
      // An attached server's streams go back to it now; the own listener keeps routing them
      // here until it is closed, so a new stream on an open connection gets 503, not 404.
      if (this.http2Server !== null && h2 === null) detachHttp2(this, this.http2Server);
      // Stop listening now (new connections are refused); open ones are closed below.
      const serverClosed =
        h2 !== null
          ? Promise.resolve()
          : this.ownServer && server !== null && server.listening
            ? new Promise<void>((resolve) => server.close(() => resolve()))
            : Promise.resolve();
      if (h2 !== null) void h2.stopListening();
      if (this.clients.size > 0) {
        const drained = new Promise<void>((resolve) => this.once("drained", resolve));
        for (const ws of this.clients) ws.transport.close(code, reason);
        await drained;
      }
      // 1001 went on every WebSocket stream first; now GOAWAY on every HTTP/2 session.
      if (h2 !== null) {
        await h2.close();
        detachHttp2(this, h2.http2);
      }
      else if (this.ownServer && server !== null) server.closeAllConnections?.();
      await serverClosed;
      if (this.adapter !== null) await this.adapter.close();
      if (this.durable !== null) await this.durable.close();
    })();
    return this.closing;
  }
}

/** `text` if it is JSON, else `text` as a JSON string. */
function asJson(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}

export { SendStatus };
