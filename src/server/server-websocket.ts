/**
 * One server-side WebSocket connection: the object handlers receive. Small and fixed-shape;
 * behaviour comes from the server's handlers, not from per-connection listeners.
 */
import { CloseCode } from "../protocol/close-code.js";
import type { ReadyStateValue } from "../protocol/connection.js";
import { ProtocolError } from "../protocol/errors.js";
import type { Transport, TransportOwner } from "../transport/transport.js";
import { parseOffset, type OffsetParts } from "./offset.js";
import type { SubscribeOptions } from "./topics-options.js";
import { WebSocketSink } from "./topics-protocol.js";
import { MessageStream, sendMessageStream, type MessageSource } from "./message-stream.js";
import { SendStatus, type SendStatusValue } from "./send-status.js";
import { ServerWebSocketState } from "./server-websocket-state.js";
import type { WebSocketServer as ServerCore } from "./server.js";

/** Data accepted by `send` and `publish`. */
export type WebSocketData = string | Buffer | ArrayBuffer | ArrayBufferView;

/** Converts accepted data to bytes or a string without copying where possible. */
export function toPayload(data: WebSocketData): Uint8Array | string {
  // A Buffer is a Uint8Array: one instanceof check covers both.
  if (typeof data === "string" || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("data must be a string, Buffer, ArrayBuffer or ArrayBufferView");
}

/** The payload length of an unmasked frame of `frameBytes` bytes (RFC 6455 §5.2: 2, 4 or 10 header bytes). */
function payloadLength(frameBytes: number): number {
  return frameBytes <= 127 ? frameBytes - 2 : frameBytes <= 65_539 ? frameBytes - 4 : frameBytes - 10;
}

/** A server-side connection, as passed to the server's handlers. */
export class ServerWebSocket<T = undefined> extends ServerWebSocketState implements TransportOwner {
  /** Per-connection data returned by the `upgrade` hook. */
  data: T;
  /** @internal */
  readonly transport: Transport;
  /** @internal */
  readonly core: ServerCore<T>;
  /** @internal */
  constructor(core: ServerCore<T>, transport: Transport, data: T, protocol: string, extensions: string, peerSource?: object, httpVersion = "1.1") {
    // Over HTTP/2 the peer is the session's socket, not the stream.
    super(protocol, extensions, peerSource ?? transport.socket, httpVersion);
    this.core = core;
    this.transport = transport;
    this.data = data;
  }

  /** The connection state (0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED). */
  get readyState(): ReadyStateValue {
    return this.transport.readyState as ReadyStateValue;
  }

  /** Bytes queued for this connection and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /**
   * Sends a message. Strings go as text unless `isBinary` is true; bytes go as binary unless
   * `isBinary` is false (then they must be UTF-8). `compress` deflates it when
   * permessage-deflate was negotiated (default: true when negotiated).
   */
  send(data: WebSocketData, isBinary?: boolean, compress = true): SendStatusValue {
    const payload = toPayload(data);
    const binary = isBinary ?? typeof payload !== "string";
    const t = this.transport;
    const limit = this.core.options.maxBackpressure;
    const before = t.bufferedAmount;
    if (before > limit) {
      this.overLimit();
      return SendStatus.Dropped;
    }
    if (!t.send(payload, binary, compress)) return SendStatus.Dropped;
    if (typeof payload !== "string" && this.extensions === "") {
      // Bytes without an extension: queued just now as one frame of known size.
      const n = payload.length;
      this.countOut(n);
      return before + n + (n < 126 ? 2 : n < 65536 ? 4 : 10) > limit ? SendStatus.Backpressure : SendStatus.Sent;
    }
    const after = t.bufferedAmount;
    // Text: the UTF-8 length without a second encoding pass. Without compression the frame
    // was queued whole just now (written out later in this tick), so it is the growth of
    // the buffer less the header.
    this.countOut(typeof payload !== "string" ? payload.length : this.extensions === "" ? payloadLength(after - before) : Buffer.byteLength(payload));
    return after > this.core.options.maxBackpressure ? SendStatus.Backpressure : SendStatus.Sent;
  }

  /** @internal Counts a message queued for sending (stats). */
  countOut(bytes: number): void {
    const c = this.core.counters;
    c.messagesOut++;
    c.bytesOut += bytes;
    if (this.extensions !== "") c.deflateBytesOut += bytes;
  }

  /**
   * Sends one message whose payload `source` produces (an async iterable such as a
   * `Readable`, or an iterable) as fragments, each as soon as it comes (RFC 6455 §5.4),
   * waiting for the socket's drain when more than 1 MiB is queued: a message of any size
   * goes out in bounded memory. Streamed messages are not compressed. Messages sent
   * meanwhile wait until it is complete. Resolves true once its last fragment is queued,
   * false if the connection closed first; if `source` throws, the connection is closed
   * with 1011 and the promise rejects with that error.
   */
  sendStream(source: MessageSource, isBinary = true): Promise<boolean> {
    return sendMessageStream(this.transport, source, isBinary, () => this.waitDrain(), (bytes) => this.countOut(bytes));
  }

  /** @internal Resolves at the socket's next drain, or when the connection closes. */
  waitDrain(): Promise<void> {
    if (this.transport.closed) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /** @internal Counts a message dropped for backpressure and applies the policy. */
  overLimit(): void {
    this.core.droppedMessages++;
    if (this.core.options.backpressurePolicy === "close") {
      this.transport.close(CloseCode.PolicyViolation, "backpressure limit exceeded");
    }
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2); the state is CLOSING at once, and messages
   * already accepted (even those still being compressed) go before the close frame. `code`
   * (default 1000) must be one that may be sent (1000-1003, 1007-1014, 3000-4999) and `reason`
   * at most 123 UTF-8 bytes, else a `LocalProtocolError` (a RangeError) is thrown.
   */
  close(code: number = CloseCode.NormalClosure, reason = ""): void {
    this.transport.close(code, reason);
  }

  /** Destroys the connection at once, without a close handshake. */
  terminate(): void {
    this.transport.terminate();
  }

  /** Sends a ping; a payload over 125 bytes throws a `LocalProtocolError` (a RangeError). */
  ping(data: WebSocketData = ""): boolean {
    return this.transport.ping(toPayload(data));
  }

  /** Sends an unsolicited pong; a payload over 125 bytes throws a `LocalProtocolError` (a RangeError). */
  pong(data: WebSocketData = ""): boolean {
    return this.transport.pong(toPayload(data));
  }

  // ---- topics ---------------------------------------------------------------------------

  /**
   * Subscribes to `topic`; returns false if already subscribed or closed. On a durable topic
   * (server option `topics.durable`), `options.from` (the last offset this subscriber has)
   * replays what followed it, or `options.last` the latest messages, before live ones; the
   * connection then gets the `topics.format` frames, and `topics.unrecoverable` when the
   * history cannot reach `from` (docs/TOPICS.md). An invalid `from` throws a RangeError.
   */
  subscribe(topic: string, options?: SubscribeOptions): boolean {
    if (this.transport.closed) return false;
    const durable = this.core.durable;
    if (durable !== null && durable.isDurable(topic)) {
      if (typeof topic !== "string") throw new TypeError("topic must be a string");
      let from: OffsetParts | null = null;
      if (options?.from !== undefined) {
        from = parseOffset(options.from);
        if (from === null) throw new RangeError(`invalid offset ${JSON.stringify(options.from)}: expected "<epoch>-<seq>"`);
      }
      if (this.durableSubs?.has(topic)) return false;
      return this.subscribeDurable(topic, from, options?.last ?? 0);
    }
    return this.core.topics.subscribe(this, topic);
  }

  /** @internal a durable subscription; false past `topics.maxSubscriptions` */
  subscribeDurable(topic: string, from: OffsetParts | null, last: number): boolean {
    const durable = this.core.durable!;
    const subs = (this.durableSubs ??= new Map());
    const old = subs.get(topic);
    if (old !== undefined) durable.unsubscribe(old);
    else if (subs.size >= durable.limits.maxSubscriptions) return false;
    subs.set(topic, durable.subscribe(topic, new WebSocketSink(this, durable.options), from, last));
    return true;
  }

  /** Unsubscribes from `topic`; returns false if not subscribed. */
  unsubscribe(topic: string): boolean {
    const sub = this.durableSubs?.get(topic);
    if (sub !== undefined) {
      this.durableSubs!.delete(topic);
      this.core.durable!.unsubscribe(sub);
      return true;
    }
    return this.core.topics.unsubscribe(this, topic);
  }

  /** Whether this connection subscribes to `topic`. */
  isSubscribed(topic: string): boolean {
    return (this.topicSet !== null && this.topicSet.has(topic)) || (this.durableSubs?.has(topic) ?? false);
  }

  /** The topics this connection subscribes to. */
  get topics(): string[] {
    const own = this.topicSet === null ? [] : [...this.topicSet];
    return this.durableSubs === null ? own : [...own, ...this.durableSubs.keys()];
  }

  /**
   * Publishes to every subscriber of `topic` except this connection, on this node and (with an
   * adapter) on the others. Returns the number of local deliveries queued.
   */
  publish(topic: string, data: WebSocketData, isBinary?: boolean, compress = true): number {
    return this.core.publish(topic, data, isBinary, compress, this);
  }

  // ---- TransportOwner -------------------------------------------------------------------

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean): void {
    const c = this.core.counters;
    c.messagesIn++;
    c.bytesIn += data.length;
    if (this.extensions !== "") c.deflateBytesIn += data.length;
    if (this.topicsV1) return this.core.topicsProtocol!.frame(this, data, isBinary);
    if (this.core.handlers.messageStream !== undefined) {
      // A compressed message under streaming receive: inflated whole, one chunk.
      const stream = this.startMessage(isBinary);
      stream.deliver(data);
      stream.finish();
      return;
    }
    const h = this.core.handlers.message;
    if (h !== undefined) h(this, data, isBinary);
  }

  /** @internal */
  onMessageChunk(data: Buffer, isBinary: boolean, first: boolean, fin: boolean): void {
    const c = this.core.counters;
    if (first) c.messagesIn++;
    c.bytesIn += data.length;
    const stream = first ? (this.currentMessage = this.startMessage(isBinary)) : this.currentMessage;
    if (stream === null) return;
    if (data.length > 0) stream.deliver(data);
    if (fin) {
      this.currentMessage = null;
      stream.finish();
    }
  }

  /** Creates a message stream and hands it to the `messageStream` handler. */
  private startMessage(isBinary: boolean): MessageStream {
    const stream = new MessageStream(this.transport, isBinary);
    try {
      const result = this.core.handlers.messageStream!(this, stream, isBinary);
      if (result !== undefined && typeof (result as Promise<void>).then === "function") {
        // A rejection counts as a throw: reported, and the connection closes with 1011.
        (result as Promise<void>).then(undefined, (error: unknown) => this.transport.handlerFailed(error));
      }
    } catch (error) {
      this.transport.handlerFailed(error);
    }
    return stream;
  }


  /** @internal */
  onPing(data: Buffer): void {
    // The automatic pong counts like any send: a peer that keeps us over the limit by pinging
    // and not reading meets the backpressure policy (pending pongs coalesce meanwhile).
    if (this.transport.bufferedAmount > this.core.options.maxBackpressure) this.overLimit();
    const h = this.core.handlers.ping;
    if (h !== undefined) h(this, data);
  }

  /** @internal */
  onPong(data: Buffer): void {
    const h = this.core.handlers.pong;
    if (h !== undefined) h(this, data);
  }

  /** @internal */
  onCloseFrame(): void {
    // Reported once the socket is closed (onClosed).
  }

  /** @internal */
  onDrain(): void {
    const waiters = this.drainWaiters;
    if (waiters !== null) {
      this.drainWaiters = null;
      for (const w of waiters) w();
    }
    const h = this.core.handlers.drain;
    if (h !== undefined) h(this);
  }

  /** @internal */
  onError(error: Error): void {
    const h = this.core.handlers.error;
    if (h === undefined) return;
    try {
      h(this, error);
    } catch (err) {
      reportUncaught("the error handler threw:", err);
    }
  }

  /** @internal A handler threw: to the `error` handler, or to stderr when there is none. */
  onHandlerError(error: unknown): void {
    const h = this.core.handlers.error;
    if (h === undefined) return reportUncaught("a handler threw (its connection is closed with 1011):", error);
    try {
      h(this, error instanceof Error ? error : new Error(String(error)));
    } catch (err) {
      reportUncaught("the error handler threw:", err);
    }
  }

  /** @internal */
  onClosed(): void {
    const stream = this.currentMessage;
    this.currentMessage = null;
    stream?.abort();
    const waiters = this.drainWaiters;
    this.drainWaiters = null;
    if (waiters !== null) for (const w of waiters) w();
    this.core.connectionClosed(this);
    const conn = this.transport.connection;
    const err = this.transport.error;
    let code: number = CloseCode.AbnormalClosure;
    if (conn.closeReceived) code = conn.closeCode;
    else if (err instanceof ProtocolError) code = err.closeCode;
    const h = this.core.handlers.close;
    if (h !== undefined) h(this, code, conn.closeReceived ? conn.closeReason : "");
  }
}

/** Last resort for an error no handler took: stderr, never a crash. */
function reportUncaught(what: string, error: unknown): void {
  console.error(`wsx: ${what}`, error);
}
