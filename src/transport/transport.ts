/**
 * Binds a protocol {@link Connection} to any `stream.Duplex` (net.Socket, tls.TLSSocket …):
 * feeds it what the socket reads, writes what it queues (batched, one write per callback),
 * tracks backpressure, and keeps the close, idle and keepalive timers.
 */
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { CloseCode } from "../protocol/close-code.js";
import { assertCloseFrame, assertControlPayload, Connection, ReadyState, type ConnectionHandler, type ConnectionOptions } from "../protocol/connection.js";
import { ProtocolError } from "../protocol/errors.js";
import { OutputQueue, type MaskSource } from "../protocol/output-queue.js";
import { isValidUtf8 } from "../protocol/utf8.js";
import { type Flushable, scheduleFlush } from "./flush.js";
import { coarseNow, joinWheel, leaveWheel, type WheelMember } from "./timer-wheel.js";

/** What a transport reports to the API object on top of it (server socket or client). */
export interface TransportOwner {
  /** A complete (and, if compressed, inflated and validated) data message. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** A ping arrived (already answered when autoPong is on). */
  onPing(data: Buffer): void;
  /** A pong arrived. */
  onPong(data: Buffer): void;
  /** The peer's close frame arrived (the close handshake is under way). */
  onCloseFrame(code: number, reason: string): void;
  /** The socket's write buffer emptied after a write had to wait. */
  onDrain(): void;
  /**
   * Something went wrong; `onClosed` follows. `failed` is true when the connection was failed
   * (RFC 6455 §7.1.7: a protocol violation, a codec failure), false for an error of the socket
   * or an idle timeout (an abnormal closure, 1006).
   */
  onError(error: Error, failed: boolean): void;
  /**
   * A handler of the owner threw `error` (it never unwinds into the parser or the codec): the
   * transport has stopped delivering events and is closing the connection with 1011.
   */
  onHandlerError(error: unknown): void;
  /** The socket is closed; called exactly once. */
  onClosed(): void;
  /** With `streamMessages`: a piece of an uncompressed data message as it arrives. */
  onMessageChunk?(data: Buffer, isBinary: boolean, first: boolean, fin: boolean): void;
}

/** The compression codec a transport drives (permessage-deflate, RFC 7692). */
export interface MessageCodec {
  /** Messages smaller than this many bytes are sent uncompressed. */
  readonly threshold: number;
  compress(data: Buffer, callback: (err: Error | null, result?: Buffer) => void): void;
  decompress(data: Buffer, callback: (err: ProtocolError | null, result?: Buffer) => void): void;
  /** Compresses now (small message, nothing queued) or returns null: then use `compress`. */
  compressNow?(data: Buffer): Buffer | null;
  /**
   * Inflates now and returns the message, or returns null and calls `callback` later; throws
   * the ProtocolError that fails the connection (1009, 1007).
   */
  decompressNow?(data: Buffer, callback: (err: ProtocolError | null, result?: Buffer) => void): Buffer | null;
  /** Frees zlib state that can be rebuilt (called when the connection is quiet). */
  releaseIfIdle(): void;
  close(): void;
}

/** Transport settings; times in milliseconds. */
export interface TransportOptions {
  /** True on the server side. */
  isServer: boolean;
  /** Largest incoming message in bytes. */
  maxPayload: number;
  /** Most frames per incoming message (1008 above it); default `DEFAULT_MAX_FRAGMENTS`. */
  maxFragments?: number;
  /** Answer pings automatically; default true. */
  autoPong?: boolean;
  /** How long to wait for the peer's close frame and TCP close before destroying the socket. */
  closeTimeout: number;
  /** Close a connection that received nothing for this long; 0 disables. */
  idleTimeout: number;
  /** Send a ping after half the idle timeout, so live peers answer and stay (default true). */
  sendPings?: boolean;
  /** Random source for client masking keys. */
  maskSource?: MaskSource;
  /** The negotiated compression codec, if any. */
  codec?: MessageCodec | null;
  /** Hand uncompressed data messages to `owner.onMessageChunk` piece by piece. Default false. */
  streamMessages?: boolean;
  /**
   * Client: end our side of the Duplex as soon as the close handshake is done, instead of
   * waiting for the server to close first. For an HTTP/2 stream: RFC 6455 §7.1.1 has the
   * server close TCP first so that the server holds TIME_WAIT, which a stream does not have,
   * and some servers (Apache httpd) end the stream only after the client does. Default false.
   */
  endAfterCloseHandshake?: boolean;
}

const kTransport = Symbol("wsx.transport");
/** Payloads below this are copied into the send queue at once (so may live in a scratch buffer). */
const COPY_LIMIT = OutputQueue.COPY_LIMIT;

/** Connection settings derived from transport settings, shared like them. */
const derived = new WeakMap<TransportOptions, [plain: ConnectionOptions, rsv1: ConnectionOptions]>();

function connectionOptions(options: TransportOptions, allowRsv1: boolean): ConnectionOptions {
  let pair = derived.get(options);
  if (pair === undefined) {
    const base = {
      isServer: options.isServer,
      maxPayload: options.maxPayload,
      maxFragments: options.maxFragments,
      autoPong: options.autoPong,
      maskSource: options.maskSource,
      streamMessages: options.streamMessages,
    };
    pair = [{ ...base, allowRsv1: false }, { ...base, allowRsv1: true }];
    derived.set(options, pair);
  }
  return pair[allowRsv1 ? 1 : 0];
}

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

/** One WebSocket connection over a stream. */
export class Transport implements ConnectionHandler, Flushable, WheelMember {
  readonly socket: TransportSocket;
  readonly connection: Connection;
  owner: TransportOwner;

  /** @internal flush list membership */
  flushQueued = false;
  /** Whether the socket has closed. */
  closed = false;
  /** The error that failed the connection, if any. */
  error: Error | null = null;
  /**
   * close() was called (or a handler failed) while sends still wait for compression: the
   * close frame is queued behind them, and nothing more may be sent (WHATWG: CLOSING).
   */
  closeRequested = false;

  /** Settings, usually one object shared by all connections of a server. */
  private readonly options: TransportOptions;
  private readonly codec: MessageCodec | null;
  private closeTimer: NodeJS.Timeout | null = null;
  private lastActivity = 0;
  private pingOutstanding = false;
  private waitingDrain = false;
  /** True while a socket read is being processed. */
  private reading = false;
  /** Compressions in flight; sends wait behind them to keep message order. */
  private pendingSends: PendingSend[] | null = null;
  /** Bytes of the sends in `pendingSends` (before compression): they count as buffered. */
  private pendingBytes = 0;
  /** Whether the socket's own buffers may be reused once a write completes synchronously. */
  private readonly copiesWrites: boolean;
  /** A fragmented message is being sent: other data messages wait (RFC 6455 §5.4). */
  private sendingReserved = false;
  /** Callers of reserveSending still waiting for their turn (answered false on close). */
  private reserveWaiters: Array<(ok: boolean) => void> | null = null;
  /** Reasons input is paused (a message inflating, a consumer not reading): a count. */
  private inputPauses = 0;

  /**
   * `options` may be shared by many transports (nothing per connection is kept in it); the
   * codec, which is per connection, can be given apart from it.
   */
  constructor(socket: Duplex, owner: TransportOwner, options: TransportOptions, codec: MessageCodec | null = options.codec ?? null) {
    this.socket = socket as TransportSocket;
    this.owner = owner;
    this.options = options;
    this.codec = codec;
    this.connection = new Connection(this, connectionOptions(options, codec !== null));
    // A net.Socket (TLS included) hands a synchronously completed write to the kernel or to
    // OpenSSL, which copy it; another Duplex (an HTTP/2 stream, an in-memory pair) may keep
    // the chunk by reference, so its bytes must never change after write().
    this.copiesWrites = socket instanceof Socket;
  }

  /** Starts reading. `head` holds bytes that arrived with the handshake. */
  start(head?: Buffer): void {
    const socket = this.socket;
    socket[kTransport] = this;
    socket.on("data", onSocketData);
    socket.on("end", onSocketEnd);
    socket.on("close", onSocketClose);
    socket.on("error", onSocketError);
    socket.on("drain", onSocketDrain);
    if (this.options.idleTimeout > 0) {
      joinWheel(this, this.options.idleTimeout / 4);
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
    this.report(err, false);
  }

  /** @internal */
  onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    if (this.options.idleTimeout > 0) leaveWheel(this);
    this.connection.destroy();
    this.pendingSends = null;
    this.sendingReserved = false;
    const waiters = this.reserveWaiters;
    this.reserveWaiters = null;
    if (waiters !== null) for (const w of waiters) w(false);
    if (this.codec !== null) this.codec.close();
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
    // RFC 7692: inflate, keeping later messages behind this one (input paused meanwhile).
    const inflated = (err: ProtocolError | null, result?: Buffer): void => {
      if (this.closed) return;
      if (this.inflatedMessage(err, result, isBinary)) return;
      this.resumeInput();
      // Replies queued while the held-back bytes were processed.
      if (this.connection.queuedBytes > 0) this.flush();
    };
    if (codec.decompressNow === undefined) {
      this.pauseInput();
      codec.decompress(data, inflated);
      return;
    }
    // A small message is inflated on the event loop, like an uncompressed one is delivered.
    let now: Buffer | null;
    try {
      now = codec.decompressNow(data, inflated);
    } catch (err) {
      this.inflateFailed(err instanceof Error ? err : new ProtocolError(CloseCode.InternalError, "decompression failed"));
      return;
    }
    if (now === null) this.pauseInput();
    else this.inflatedMessage(null, now, isBinary);
  }

  /**
   * A message could not be inflated (a bomb, 1009; corrupt data, 1007): fail the connection and
   * process nothing more it sent (no further bomb is inflated), but read on, so the peer's FIN is
   * seen at once instead of the paused socket waiting for the close timer.
   */
  private inflateFailed(error: Error): void {
    this.fail(error);
    if (this.closed) return;
    this.connection.stopReceiving();
    this.socket.resume();
  }

  /** Delivers an inflated message; true when the connection failed or a handler threw. */
  private inflatedMessage(err: ProtocolError | null, result: Buffer | undefined, isBinary: boolean): boolean {
    if (err !== null || result === undefined) {
      this.inflateFailed(err ?? new ProtocolError(CloseCode.InternalError, "decompression failed"));
      return true;
    }
    // RFC 6455 §8.1: text must be UTF-8, checked after inflation.
    if (!isBinary && !isValidUtf8(result)) {
      this.fail(new ProtocolError(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message"));
      return true;
    }
    try {
      this.owner.onMessage(result, isBinary);
    } catch (err) {
      this.handlerFailed(err);
      return true;
    }
    return this.closed;
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
    try {
      this.owner.onCloseFrame(code, reason);
    } catch (err) {
      this.owner.onHandlerError(err);
    }
    if (this.connection.isServer || (this.options.endAfterCloseHandshake === true && this.connection.closeSent)) {
      // RFC 6455 §7.1.1: the server closes the TCP connection first, after its close frame
      // (a client on an HTTP/2 stream may end its half now too: see endAfterCloseHandshake).
      this.endAfterFlush();
    } else {
      // The client waits for the server to close TCP, but not forever.
      this.armCloseTimer();
    }
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
        this.sendCompressed(codec, data, isBinary, size);
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

  private sendCompressed(codec: MessageCodec, data: Uint8Array | string, isBinary: boolean, size: number): void {
    let input: Buffer | null = null;
    if (codec.compressNow !== undefined) {
      // Small and nothing of this direction queued: compressed now, on the event loop (the
      // caller's bytes are read before send() returns, so they need no copy).
      const view = typeof data === "string" ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const now = codec.compressNow(view);
      if (now !== null) {
        // `now` may be the codec's scratch: send() copies small payloads at once, else copy.
        if (this.pendingSends === null) this.connection.send(now.length < COPY_LIMIT ? now : Buffer.from(now), isBinary, true);
        else {
          const copy = Buffer.from(now);
          this.pendingBytes += size;
          this.pendingSends.push({ ready: true, size, run: () => this.connection.send(copy, isBinary, true) });
        }
        return;
      }
      if (typeof data === "string") input = view; // already a copy
    }
    input ??= typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
    const entry: PendingSend = { ready: false, size, run: noop };
    this.pendingBytes += size;
    (this.pendingSends ??= []).push(entry);
    codec.compress(input, (err, result) => {
      if (this.closed) return;
      if (err !== null || result === undefined) {
        this.fail(new ProtocolError(CloseCode.InternalError, "compression failed"));
        return;
      }
      entry.run = () => this.connection.send(result, isBinary, true);
      entry.ready = true;
      this.drainPendingSends();
    });
  }

  /** Runs queued sends in order, up to the first compression still in flight. */
  private drainPendingSends(): void {
    const queue = this.pendingSends;
    if (queue === null) return;
    let i = 0;
    while (i < queue.length && queue[i].ready && !this.sendingReserved) {
      const entry = queue[i++];
      this.pendingBytes -= entry.size;
      entry.run();
    }
    queue.splice(0, i);
    if (queue.length === 0 && !this.sendingReserved) this.pendingSends = null;
  }

  /**
   * Reserves the connection for one fragmented message (RFC 6455 §5.4: its fragments are
   * not interleaved with other data frames): resolves true once everything queued before
   * has gone out, then holds later sends until {@link releaseSending}; false if closed.
   */
  reserveSending(): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed || this.connection.closeSent) return resolve(false);
      const take = (): void => {
        const at = this.reserveWaiters?.indexOf(resolve) ?? -1;
        if (at >= 0) this.reserveWaiters!.splice(at, 1);
        this.sendingReserved = true;
        this.pendingSends ??= [];
        resolve(true);
      };
      if (this.pendingSends === null) return take();
      (this.reserveWaiters ??= []).push(resolve);
      this.pendingSends.push({ ready: true, size: 0, run: take });
    });
  }

  /** Ends a {@link reserveSending}: the sends held meanwhile go out, in order. */
  releaseSending(): void {
    if (!this.sendingReserved) return;
    this.sendingReserved = false;
    if (!this.closed) this.drainPendingSends();
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
    // Checked now, even when the close frame has to wait behind a compression.
    assertCloseFrame(code, reason);
    if (this.closed) return;
    const conn = this.connection;
    if (this.pendingSends !== null) {
      if (this.closeRequested) return;
      // Let queued messages go first (no data is lost), then the close frame; from now on
      // the connection is CLOSING and accepts nothing more.
      this.closeRequested = true;
      this.pendingSends.push({ ready: true, size: 0, run: () => this.closeNow(code, reason) });
      this.armCloseTimer();
      return;
    }
    if (conn.closeSent) return;
    this.closeNow(code, reason);
  }

  private closeNow(code: number, reason: string): void {
    const conn = this.connection;
    if (conn.closeSent || this.closed) return;
    conn.close(code, reason);
    if (conn.closeReceived) this.endAfterFlush();
    else this.armCloseTimer();
  }

  /** Destroys the socket at once (no close handshake). */
  terminate(): void {
    if (this.closed) return;
    this.connection.destroy();
    this.socket.destroy();
  }

  /** RFC 6455 §7.1.7: fail the connection: send a close frame if we may, then close TCP. */
  fail(error: Error): void {
    if (this.closed) return;
    if (this.error === null) this.error = error;
    const conn = this.connection;
    if (!conn.closeSent) conn.close(error instanceof ProtocolError ? error.closeCode : CloseCode.InternalError, "");
    this.report(error, true);
    this.endAfterFlush();
  }

  /**
   * A handler threw (the one boundary for user code): report it, deliver no further event,
   * and close with 1011 after what was already accepted for sending (RFC 6455 §7.4.1: "an
   * unexpected condition"). `onClosed` follows once, reporting 1011.
   */
  handlerFailed(thrown: unknown): void {
    this.owner.onHandlerError(thrown);
    if (this.closed) return;
    const conn = this.connection;
    if (this.error === null) {
      this.error = new ProtocolError(CloseCode.InternalError, "a handler threw", { cause: thrown });
    }
    conn.stopReceiving();
    // Reading on lets the socket's end and close be seen (the bytes are ignored).
    this.socket.resume();
    const failNow = (): void => {
      if (this.closed) return;
      if (!conn.closeSent) conn.close(CloseCode.InternalError, "");
      this.endAfterFlush();
    };
    if (this.pendingSends !== null && !this.closeRequested) {
      this.closeRequested = true;
      this.pendingSends.push({ ready: true, size: 0, run: failNow });
      this.armCloseTimer();
    } else {
      failNow();
    }
  }

  /** Tells the owner about an error; a throw there is reported, never propagated. */
  private report(error: Error, failed: boolean): void {
    try {
      this.owner.onError(error, failed);
    } catch (err) {
      this.owner.onHandlerError(err);
    }
  }

  private endAfterFlush(): void {
    this.flush(true);
    if (!this.socket.writableEnded) this.socket.end();
    this.armCloseTimer();
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== null || this.closed) return;
    this.closeTimer = setTimeout(onCloseTimeout, this.options.closeTimeout, this);
  }

  /** @internal timer wheel */
  onTick(now: number): void {
    if (this.closed || this.connection.readyState !== ReadyState.OPEN) return;
    const idle = now - this.lastActivity;
    // Quiet for a quarter of the idle timeout: shed per-connection parser and queue state.
    if (idle >= this.options.idleTimeout / 4 && !this.reading) {
      this.connection.releaseIdle();
      if (this.codec !== null && this.pendingSends === null) this.codec.releaseIfIdle();
    }
    if (idle >= this.options.idleTimeout) {
      // RFC 6455 §5.5.2 keepalive failed: the peer is gone or stuck; free its buffers now.
      if (this.error === null) {
        this.error = new Error(`idle timeout: nothing received for ${this.options.idleTimeout} ms`);
        this.report(this.error, false);
      }
      this.terminate();
    } else if (this.options.sendPings !== false && !this.pingOutstanding && idle >= this.options.idleTimeout / 2) {
      this.pingOutstanding = true;
      this.connection.ping();
    }
  }
}

function onCloseTimeout(t: Transport): void {
  t.terminate();
}

/** A send waiting behind a compression in flight. */
interface PendingSend {
  ready: boolean;
  /** Bytes it counts in bufferedAmount until it runs. */
  size: number;
  run: () => void;
}

function noop(): void {}
