/**
 * One server-side WebSocket connection: the object handlers receive. Small and fixed-shape;
 * behaviour comes from the server's handlers, not from per-connection listeners.
 */
import { CloseCode, isValidWireCloseCode } from "../protocol/close-code.js";
import { ReadyState, type ReadyStateValue } from "../protocol/connection.js";
import { ProtocolError } from "../protocol/errors.js";
import type { Transport, TransportOwner } from "../transport/transport.js";
import { SendStatus, type SendStatusValue } from "./send-status.js";
import type { WebSocketServer as ServerCore } from "./server.js";

/** Data accepted by `send` and `publish`. */
export type WebSocketData = string | Buffer | ArrayBuffer | ArrayBufferView;

/** Converts accepted data to bytes or a string without copying where possible. */
export function toPayload(data: WebSocketData): Uint8Array | string {
  if (typeof data === "string" || Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("data must be a string, Buffer, ArrayBuffer or ArrayBufferView");
}

/** A server-side connection, as passed to the server's handlers. */
export class ServerWebSocket<T = undefined> implements TransportOwner {
  /** Per-connection data returned by the `upgrade` hook. */
  data: T;
  /** The negotiated subprotocol, or "". */
  readonly protocol: string;
  /** The negotiated extensions (the `Sec-WebSocket-Extensions` response value), or "". */
  readonly extensions: string;

  /** @internal */
  readonly transport: Transport;
  /** @internal */
  readonly core: ServerCore<T>;
  /** @internal topics this connection subscribes to */
  topicSet: Set<string> | null = null;
  /**
   * @internal server-to-client window bits when this connection can take a shared compressed
   * publish frame (permessage-deflate without server context takeover), else 0
   */
  publishWindowBits = 0;

  /** @internal */
  constructor(core: ServerCore<T>, transport: Transport, data: T, protocol: string, extensions: string) {
    this.core = core;
    this.transport = transport;
    this.data = data;
    this.protocol = protocol;
    this.extensions = extensions;
  }

  /** The connection state (0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED). */
  get readyState(): ReadyStateValue {
    return this.transport.closed ? ReadyState.CLOSED : this.transport.connection.readyState;
  }

  /** Bytes queued for this connection and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /** The peer's IP address ("" once the socket is gone). */
  get remoteAddress(): string {
    return (this.transport.socket as { remoteAddress?: string }).remoteAddress ?? "";
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
    if (t.bufferedAmount > this.core.options.maxBackpressure) {
      this.overLimit();
      return SendStatus.Dropped;
    }
    if (!t.send(payload, binary, compress)) return SendStatus.Dropped;
    return t.bufferedAmount > this.core.options.maxBackpressure ? SendStatus.Backpressure : SendStatus.Sent;
  }

  /** @internal Counts a message dropped for backpressure and applies the policy. */
  overLimit(): void {
    this.core.droppedMessages++;
    if (this.core.options.backpressurePolicy === "close") {
      this.transport.close(CloseCode.PolicyViolation, "backpressure limit exceeded");
    }
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2). `code` must be a code that may be sent
   * (1000-1003, 1007-1014, 3000-4999); `reason` at most 123 UTF-8 bytes.
   */
  close(code?: number, reason = ""): void {
    if (code !== undefined && !isValidWireCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
    if (Buffer.byteLength(reason) > 123) throw new RangeError("close reason must be at most 123 UTF-8 bytes");
    if (code === undefined && reason !== "") code = CloseCode.NormalClosure;
    this.transport.close(code ?? CloseCode.NormalClosure, reason);
  }

  /** Destroys the connection at once, without a close handshake. */
  terminate(): void {
    this.transport.terminate();
  }

  /** Sends a ping (payload at most 125 bytes). */
  ping(data: WebSocketData = ""): boolean {
    const payload = toPayload(data);
    if ((typeof payload === "string" ? Buffer.byteLength(payload) : payload.length) > 125) throw new RangeError("ping payload must be at most 125 bytes");
    return this.transport.ping(payload);
  }

  /** Sends an unsolicited pong (payload at most 125 bytes). */
  pong(data: WebSocketData = ""): boolean {
    const payload = toPayload(data);
    if ((typeof payload === "string" ? Buffer.byteLength(payload) : payload.length) > 125) throw new RangeError("pong payload must be at most 125 bytes");
    return this.transport.pong(payload);
  }

  // ---- topics ---------------------------------------------------------------------------

  /** Subscribes to `topic`; returns false if already subscribed or closed. */
  subscribe(topic: string): boolean {
    if (this.transport.closed) return false;
    return this.core.topics.subscribe(this, topic);
  }

  /** Unsubscribes from `topic`; returns false if not subscribed. */
  unsubscribe(topic: string): boolean {
    return this.core.topics.unsubscribe(this, topic);
  }

  /** Whether this connection subscribes to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.topicSet !== null && this.topicSet.has(topic);
  }

  /** The topics this connection subscribes to. */
  get topics(): string[] {
    return this.topicSet === null ? [] : [...this.topicSet];
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
    const h = this.core.handlers.message;
    if (h !== undefined) h(this, data, isBinary);
  }

  /** @internal */
  onPing(data: Buffer): void {
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
    const h = this.core.handlers.drain;
    if (h !== undefined) h(this);
  }

  /** @internal */
  onError(error: Error): void {
    const h = this.core.handlers.error;
    if (h !== undefined) h(this, error);
  }

  /** @internal */
  onClosed(): void {
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
