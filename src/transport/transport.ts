/**
 * Binds a protocol {@link Connection} to any `stream.Duplex` (net.Socket, tls.TLSSocket …):
 * feeds it what the socket reads, writes what it queues (batched, one write per callback),
 * and tracks backpressure. The receive and send paths of a plain message are here; how a
 * connection ends (closing.ts), compression (message-compression.ts) and the sends held back
 * to keep order (pending-sends.ts) are beside it.
 */
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { assertControlPayload, Connection, ReadyState, type ConnectionHandler } from "../protocol/connection.js";
import type { ProtocolError } from "../protocol/errors.js";
import { type Flushable, scheduleFlush } from "./flush.js";
import { closeFrameReceived, failConnection, handlerFailed, idleTick, releaseClosed, report, startClose } from "./closing.js";
import { receiveCompressed, sendCompressed } from "./message-compression.js";
import { drainPendingSends, reserveSending } from "./pending-sends.js";
import { coarseNow, joinWheel, readClock, type WheelMember } from "./timer-wheel.js";
import { connectionOptions, type MessageCodec, type TransportOptions, type TransportOwner } from "./transport-options.js";

import { COPIES_WRITES, TransportState } from "./transport-state.js";

export type { MessageCodec, TransportOptions, TransportOwner } from "./transport-options.js";

const kTransport = Symbol("wsx.transport");

type TransportSocket = Duplex & { [kTransport]?: Transport };

function onSocketData(this: TransportSocket, chunk: Buffer): void {
  this[kTransport]!.onData(chunk);
}
function onSocketEnd(this: TransportSocket): void {
  this[kTransport]!.onEnd();
}
function onSocketClose(this: TransportSocket): void {
  this[kTransport]!.onSocketClose();
}
function onSocketError(this: TransportSocket, err: Error): void {
  this[kTransport]!.onSocketError(err);
}
function onSocketDrain(this: TransportSocket): void {
  this[kTransport]!.onSocketDrain();
}

/**
 * A net.Socket listens to its own 'end' with `onReadableStreamEnd`, which does nothing when
 * `allowHalfOpen` is true (every node:http server socket). Removed, our 'end' listener is the
 * only one: the socket's `_events.end` stays one function instead of a two-element array
 * (~65 bytes per idle connection). Any other listener, or a socket that does not allow half
 * open, is left as it is.
 */
function dropNoOpEndListener(socket: Duplex): void {
  if (!(socket instanceof Socket) || socket.allowHalfOpen !== true || socket.listenerCount("end") !== 1) return;
  const own = socket.listeners("end")[0] as (() => void) | undefined;
  if (own !== undefined && own.name === "onReadableStreamEnd") socket.removeListener("end", own);
}

/** One WebSocket connection over a stream. */
export class Transport extends TransportState implements ConnectionHandler, Flushable, WheelMember {
  readonly socket: TransportSocket;
  readonly connection: Connection;
  owner: TransportOwner;

  /** @internal Settings, usually one object shared by all connections of a server. */
  readonly options: TransportOptions;
  /** @internal The negotiated compression codec, or null. */
  readonly codec: MessageCodec | null;
  /** @internal coarse time of the last read (the wheel's clock: a small integer) */
  lastActivity = 0;

  /**
   * `options` may be shared by many transports (nothing per connection is kept in it); the
   * codec, which is per connection, can be given apart from it.
   */
  constructor(socket: Duplex, owner: TransportOwner, options: TransportOptions, codec: MessageCodec | null = options.codec ?? null) {
    super();
    this.socket = socket as TransportSocket;
    this.owner = owner;
    this.options = options;
    this.codec = codec;
    this.connection = new Connection(this, connectionOptions(options, codec !== null));
    // A net.Socket (TLS included) hands a synchronously completed write to the kernel or to
    // OpenSSL, which copy it; another Duplex (an HTTP/2 stream, an in-memory pair) may keep
    // the chunk by reference, so its bytes must never change after write().
    if (socket instanceof Socket) this.bits = COPIES_WRITES;
  }

  /** Starts reading. `head` holds bytes that arrived with the handshake. */
  start(head?: Buffer): void {
    const socket = this.socket;
    socket[kTransport] = this;
    socket.on("data", onSocketData);
    dropNoOpEndListener(socket);
    socket.on("end", onSocketEnd);
    socket.on("close", onSocketClose);
    socket.on("error", onSocketError);
    socket.on("drain", onSocketDrain);
    if (this.options.idleTimeout > 0) {
      if (this.options.wheelByOwner === true) readClock();
      else joinWheel(this, this.options.idleTimeout / 4);
      this.lastActivity = coarseNow;
    }
    if (head !== undefined && head.length > 0) this.onData(head);
    if (socket.isPaused()) socket.resume();
  }

  // ---- reading --------------------------------------------------------------------------

  /** @internal */
  onData(chunk: Buffer): void {
    this.lastActivity = coarseNow;
    this.pingOutstanding = false;
    // Replies queued while handling this read leave in one write, right after it.
    this.reading = true;
    try {
      this.connection.receive(chunk);
    } finally {
      this.reading = false;
    }
    if (this.connection.queuedBytes > 0) this.flush();
  }

  /** @internal */
  onEnd(): void {
    // The peer half-closed. RFC 6455 §7.1.1: after the close handshake TCP goes down; if it
    // closed without one, the connection is over too (1006 abnormal closure).
    this.flush(true);
    this.socket.end();
  }

  /** @internal */
  onSocketError(err: Error): void {
    // 'close' follows 'error' on net sockets. A reset (ECONNRESET, EPIPE) is reported once,
    // unless the connection had already failed or closed for another reason.
    if (this.error !== null || this.closed) return;
    this.error = err;
    report(this, err, false);
  }

  /** @internal */
  onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    releaseClosed(this);
    const socket = this.socket;
    socket.removeListener("data", onSocketData);
    socket.removeListener("end", onSocketEnd);
    socket.removeListener("drain", onSocketDrain);
    // Keep the error listener: a late error on a destroyed socket must not crash the process.
    try {
      this.owner.onClosed();
    } catch (err) {
      this.owner.onHandlerError(err);
    }
  }

  /** @internal */
  onSocketDrain(): void {
    if (!this.waitingDrain) return;
    this.waitingDrain = false;
    this.connection.coalescePongs = false;
    // What waited in our queue while the socket was full goes now (pongs coalesced meanwhile).
    this.flush();
    if (this.waitingDrain || this.closed) return;
    try {
      this.owner.onDrain();
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  // ---- ConnectionHandler ------------------------------------------------------------------

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void {
    if (!compressed) {
      try {
        this.owner.onMessage(data, isBinary);
      } catch (err) {
        this.handlerFailed(err);
      }
      return;
    }
    const codec = this.codec;
    if (codec === null) return; // unreachable: RSV1 is refused when nothing was negotiated
    receiveCompressed(this, codec, data, isBinary);
  }

  /** @internal */
  onMessageChunk(data: Buffer, isBinary: boolean, first: boolean, fin: boolean): void {
    try {
      this.owner.onMessageChunk!(data, isBinary, first, fin);
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  /**
   * Stops reading: the socket is paused and the parser holds back what it already has.
   * Pauses nest (an inflating message, a consumer that is not reading); each needs its
   * {@link resumeInput}.
   */
  pauseInput(): void {
    if (this.inputPauses++ > 0) return;
    this.connection.pauseReceiving();
    this.socket.pause();
  }

  /** Undoes one {@link pauseInput}; reading restarts when none is left. */
  resumeInput(): void {
    if (this.inputPauses === 0 || --this.inputPauses > 0 || this.closed) return;
    this.socket.resume();
    this.connection.resumeReceiving();
  }

  /** @internal */
  onPing(data: Buffer): void {
    try {
      this.owner.onPing(data);
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  /** @internal */
  onPong(data: Buffer): void {
    try {
      this.owner.onPong(data);
    } catch (err) {
      this.handlerFailed(err);
    }
  }

  /** @internal */
  onCloseFrame(code: number, reason: string): void {
    closeFrameReceived(this, code, reason);
  }

  /** @internal */
  onProtocolError(error: ProtocolError): void {
    this.fail(error);
  }

  /** @internal */
  onOutput(): void {
    // Inside our own read the flush follows the read; otherwise after the current callback.
    if (!this.reading) scheduleFlush(this);
  }

  // ---- writing --------------------------------------------------------------------------

  /**
   * Bytes accepted for sending and not yet handed to the operating system: waiting for
   * compression (counted before compression), framed in our queue, and in the stream's buffer.
   */
  get bufferedAmount(): number {
    return this.pendingBytes + this.connection.queuedBytes + this.socket.writableLength;
  }

  /** The ready state: CLOSING as soon as close() was called, even behind a compression. */
  get readyState(): number {
    if (this.closed) return ReadyState.CLOSED;
    const state = this.connection.readyState;
    return state === ReadyState.OPEN && this.closeRequested ? ReadyState.CLOSING : state;
  }

  /**
   * Writes everything queued to the socket. While the socket is over its high-water mark (a
   * write returned false) bytes stay in our queue until 'drain', so control replies can
   * coalesce there (RFC 6455 §5.5.3) instead of piling up in the stream; `force` writes anyway
   * (before ending the socket).
   */
  flush(force = false): void {
    if (this.waitingDrain && !force) return;
    const out = this.connection.takeOutput();
    if (out === null) return;
    const socket = this.socket;
    if (this.closed || socket.destroyed || !socket.writable) return;
    let ok: boolean;
    if (Buffer.isBuffer(out)) {
      ok = socket.write(out);
    } else {
      socket.cork();
      for (let i = 0; i < out.length - 1; i++) socket.write(out[i]);
      ok = socket.write(out[out.length - 1]);
      socket.uncork();
    }
    // Written synchronously (nothing left in the stream) to a socket that copies: the kernel
    // has the bytes, so the segment can take the next replies without a new allocation, and
    // published frames may be queued by reference again (OutputQueue.recycle).
    if (this.copiesWrites && socket.writableLength === 0) this.connection.recycleOutput();
    if (!ok) {
      this.waitingDrain = true;
      this.connection.coalescePongs = true;
    }
  }

  /**
   * Sends a data message. With `compress` and a codec, messages at or above the codec's
   * threshold are deflated (RFC 7692 §7.2.1); order is kept either way.
   * Returns false when the message cannot be sent (closing or closed).
   */
  send(data: Uint8Array | string, isBinary: boolean, compress = false): boolean {
    const conn = this.connection;
    if (conn.closeSent || this.closed || this.closeRequested) return false;
    const codec = this.codec;
    if (codec !== null && compress) {
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.length;
      if (size >= codec.threshold) {
        sendCompressed(this, codec, data, isBinary, size);
        return true;
      }
    }
    if (this.pendingSends !== null) {
      // Behind a compression in flight: copy now (the caller may reuse its buffer).
      const copy = typeof data === "string" ? data : Buffer.from(data);
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.length;
      this.pendingBytes += size;
      this.pendingSends.push({ ready: true, size, run: () => conn.send(copy, isBinary) });
      return true;
    }
    return conn.send(data, isBinary);
  }

  /** Sends bytes that already form a complete frame (a published message encoded once). */
  sendRaw(frame: Buffer): boolean {
    if (this.closed || this.closeRequested) return false;
    if (this.pendingSends !== null) {
      this.pendingBytes += frame.length;
      this.pendingSends.push({ ready: true, size: frame.length, run: () => this.connection.sendRaw(frame) });
      return !this.connection.closeSent;
    }
    return this.connection.sendRaw(frame);
  }

  /**
   * Reserves the connection for one fragmented message (RFC 6455 §5.4: its fragments are
   * not interleaved with other data frames): resolves true once everything queued before
   * has gone out, then holds later sends until {@link releaseSending}; false if closed.
   */
  reserveSending(): Promise<boolean> {
    return reserveSending(this);
  }

  /** Ends a {@link reserveSending}: the sends held meanwhile go out, in order. */
  releaseSending(): void {
    if (!this.sendingReserved) return;
    this.sendingReserved = false;
    if (!this.closed) drainPendingSends(this);
  }

  /** Sends one fragment of the message being sent under {@link reserveSending} (never compressed). */
  sendFragment(opcode: number, data: Uint8Array | string, fin: boolean): boolean {
    if (this.closed) return false;
    return this.connection.sendFragment(opcode, data, fin);
  }

  /** Queues a ping (RFC 6455 §5.5.2). */
  ping(data?: Uint8Array | string): boolean {
    if (data !== undefined) assertControlPayload(data);
    if (this.closed) return false;
    return this.connection.ping(data);
  }

  /** Queues an unsolicited pong (RFC 6455 §5.5.3). */
  pong(data?: Uint8Array | string): boolean {
    if (data !== undefined) assertControlPayload(data);
    if (this.closed) return false;
    return this.connection.pong(data);
  }

  // ---- closing --------------------------------------------------------------------------

  /**
   * Starts the close handshake (RFC 6455 §7.1.2) with `code` (0 for none) and `reason`; the
   * socket is destroyed if the peer has not completed it within the close timeout.
   */
  close(code = 0, reason = ""): void {
    startClose(this, code, reason);
  }

  /** Destroys the socket at once (no close handshake). */
  terminate(): void {
    if (this.closed) return;
    this.connection.destroy();
    this.socket.destroy();
  }

  /** RFC 6455 §7.1.7: fail the connection: send a close frame if we may, then close TCP. */
  fail(error: Error): void {
    failConnection(this, error);
  }

  /**
   * A handler threw (the one boundary for user code): report it, deliver no further event,
   * and close with 1011 after what was already accepted for sending (RFC 6455 §7.4.1: "an
   * unexpected condition"). `onClosed` follows once, reporting 1011.
   */
  handlerFailed(thrown: unknown): void {
    handlerFailed(this, thrown);
  }

  /** @internal timer wheel */
  onTick(now: number): void {
    idleTick(this, now);
  }
}
