/**
 * The connection state machine after the opening handshake (RFC 6455 §4-§7): it owns the
 * receiver and the output queue, answers pings, runs the close handshake, and turns protocol
 * errors into a close frame. Sans-I/O: bytes in through {@link Connection.receive}, bytes out
 * through {@link Connection.takeOutput}; the transport moves them and keeps the timers.
 */
import { CloseCode, isValidWireCloseCode } from "./close-code.js";
import { LocalProtocolError, type ProtocolError } from "./errors.js";
import { FIN, RSV1 } from "./frame.js";
import { Opcode } from "./opcode.js";
import { type MaskSource, OutputQueue } from "./output-queue.js";
import { Receiver, type ReceiverHandler } from "./receiver.js";

/** The WebSocket ready states (WHATWG WebSockets §readyState; RFC 6455 §4-§7). */
export const ReadyState = {
  /** The opening handshake is in progress. */
  CONNECTING: 0,
  /** The connection is open: messages flow both ways. */
  OPEN: 1,
  /** A close frame was sent or received; the close handshake is in progress. */
  CLOSING: 2,
  /** The close handshake is done or the connection failed. */
  CLOSED: 3,
} as const;

/** A value of {@link ReadyState}. */
export type ReadyStateValue = (typeof ReadyState)[keyof typeof ReadyState];

/** What a connection reports to the layer that drives it. */
export interface ConnectionHandler {
  /** A complete data message; `compressed` when it must be inflated first (RFC 7692). */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void;
  /** A ping arrived (the pong is already queued when `autoPong` is on). */
  onPing(data: Buffer): void;
  /** A pong arrived. */
  onPong(data: Buffer): void;
  /**
   * The peer's close frame arrived (RFC 6455 §5.5.1). Our answering close frame, if one was
   * due, is queued; the close handshake is complete.
   */
  onCloseFrame(code: number, reason: string): void;
  /** The peer broke the protocol; a close frame with `error.closeCode` is queued. */
  onProtocolError(error: ProtocolError): void;
  /** Bytes were queued into an empty output queue: the transport should schedule a flush. */
  onOutput(): void;
  /** With `streamMessages`: a piece of a data message as it arrives (see {@link ReceiverHandler.onMessageChunk}). */
  onMessageChunk?(data: Buffer, isBinary: boolean, first: boolean, fin: boolean): void;
}

/** Connection settings. */
export interface ConnectionOptions {
  /** True for the server side of the connection. */
  isServer: boolean;
  /** Largest incoming message payload in bytes (1009 above it). */
  maxPayload: number;
  /** Most frames per incoming data message (1008 above it); see `DEFAULT_MAX_FRAGMENTS`. */
  maxFragments?: number;
  /** Answer pings with pongs automatically (RFC 6455 §5.5.2); default true. */
  autoPong?: boolean;
  /** Whether permessage-deflate was negotiated (RSV1 allowed on data frames). */
  allowRsv1?: boolean;
  /** Random bytes for masking keys; required on the client side (RFC 6455 §5.3). */
  maskSource?: MaskSource;
  /** Hand uncompressed data messages on piece by piece (`onMessageChunk`). Default false. */
  streamMessages?: boolean;
}

/** One WebSocket connection's protocol state, without any I/O. */
export class Connection implements ReceiverHandler {
  /**
   * The ready state, the flags and the close code we sent, packed in one number (one field
   * instead of six: an idle connection's size; see the accessors at the end of the class).
   */
  private bits: number = ReadyState.OPEN;
  /** The close code the peer sent (1005 if none), or 0 before its close frame. */
  closeCode = 0;
  /** The close reason the peer sent. */
  closeReason = "";
  /**
   * The receiver and the output queue are created on first use: an idle connection (the
   * common case for chat and notification servers) carries neither.
   */
  private receiver: Receiver | null = null;
  private output: OutputQueue | null = null;
  /** The automatic answer to the most recent ping, until the transport takes the output. */
  private pendingPong: Buffer | null = null;
  private readonly handler: ConnectionHandler;
  /** Settings, usually one object shared by every connection of a server. */
  private readonly options: ConnectionOptions;

  constructor(handler: ConnectionHandler, options: ConnectionOptions) {
    this.handler = handler;
    this.options = options;
    if (options.isServer) this.bits |= IS_SERVER;
    if (!options.isServer && options.maskSource === undefined) {
      throw new TypeError("a client connection needs a maskSource (RFC 6455 §5.3)");
    }
  }

  private get input(): Receiver {
    return (this.receiver ??= new Receiver(this, this.options));
  }

  private get queueOut(): OutputQueue {
    return (this.output ??= new OutputQueue(this.isServer ? null : this.options.maskSource!));
  }

  // ---- input ----------------------------------------------------------------------------

  /** Feeds bytes received from the peer; `chunk` must not be reused afterwards (see Receiver.push). */
  receive(chunk: Buffer): void {
    // After destroy() no receiver may be created again: input is over.
    if (this.receiver === null && this.readyState === ReadyState.CLOSED) return;
    this.input.push(chunk);
  }

  /** Holds back further events (e.g. while a compressed message inflates). */
  pauseReceiving(): void {
    this.input.pause();
  }

  /** Delivers events again, starting with the bytes held back. */
  resumeReceiving(): void {
    this.input.resume();
  }

  /** Ignores all further input (the layer above failed the connection). */
  stopReceiving(): void {
    this.input.stop();
  }

  /** Whether no more input will be processed (after a close frame or an error). */
  get receiveDone(): boolean {
    return this.receiver === null ? this.readyState === ReadyState.CLOSED : this.receiver.done;
  }

  /** @internal ReceiverHandler */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void {
    this.handler.onMessage(data, isBinary, compressed);
  }

  /** @internal ReceiverHandler */
  onMessageChunk(data: Buffer, isBinary: boolean, first: boolean, fin: boolean): void {
    this.handler.onMessageChunk!(data, isBinary, first, fin);
  }

  /** @internal ReceiverHandler */
  onPing(data: Buffer): void {
    // RFC 6455 §5.5.2: answer with a pong carrying the same application data, unless our
    // close frame has already gone out. §5.5.3: while an earlier answer has not been sent,
    // only the most recent ping needs one, so a peer that pings and never reads holds at most
    // one pong here (its payload copied: `data` is a view of the socket's chunk).
    if (this.options.autoPong !== false && !this.closeSent) {
      if (!this.coalescePongs && this.pendingPong === null) {
        this.queue(FIN | Opcode.Pong, data);
      } else {
        const wasEmpty = this.queuedBytes === 0;
        this.pendingPong = data.length === 0 ? EMPTY : Buffer.from(data);
        if (wasEmpty) this.handler.onOutput();
      }
    }
    this.handler.onPing(data);
  }

  /** @internal ReceiverHandler */
  onPong(data: Buffer): void {
    // RFC 6455 §5.5.3: an unsolicited pong needs no answer.
    this.handler.onPong(data);
  }

  /** @internal ReceiverHandler */
  onClose(code: number, reason: string): void {
    this.closeReceived = true;
    this.closeCode = code;
    this.closeReason = reason;
    if (!this.closeSent) {
      // RFC 6455 §5.5.1: answer with a close frame, typically echoing the status code.
      this.writeClose(code === CloseCode.NoStatusReceived ? 0 : code, "");
    }
    this.readyState = ReadyState.CLOSED;
    this.handler.onCloseFrame(code, reason);
  }

  /** @internal ReceiverHandler */
  onProtocolError(error: ProtocolError): void {
    // RFC 6455 §7.1.7: fail the connection; send a close frame first if we still may.
    if (!this.closeSent) this.writeClose(error.closeCode, "");
    this.readyState = ReadyState.CLOSING;
    this.handler.onProtocolError(error);
  }

  // ---- output ---------------------------------------------------------------------------

  /** Bytes queued and not yet taken by the transport. */
  get queuedBytes(): number {
    const pong = this.pendingPong === null ? 0 : 2 + this.pendingPong.length + (this.isServer ? 0 : 4);
    return (this.output === null ? 0 : this.output.length) + pong;
  }

  /**
   * Queues a data message (one frame). Returns false, queuing nothing, once our close frame
   * has been sent (RFC 6455 §5.5.1).
   */
  send(data: Uint8Array | string, isBinary: boolean, compressed = false): boolean {
    if (this.closeSent) return false;
    this.queue(FIN | (compressed ? RSV1 : 0) | (isBinary ? Opcode.Binary : Opcode.Text), data);
    return true;
  }

  /**
   * Queues one frame of a fragmented message (RFC 6455 §5.4): `opcode` is Text/Binary for
   * the first fragment and Continuation after it.
   */
  sendFragment(opcode: number, data: Uint8Array | string, fin: boolean, compressed = false): boolean {
    if (this.closeSent) return false;
    this.queue((fin ? FIN : 0) | (compressed ? RSV1 : 0) | opcode, data);
    return true;
  }

  /** Queues bytes that already form complete frames (an encoded-once published message). */
  sendRaw(frame: Buffer): boolean {
    if (this.closeSent) return false;
    const out = this.queueOut;
    const wasEmpty = out.length === 0;
    out.pushRaw(frame);
    if (wasEmpty) this.handler.onOutput();
    return true;
  }

  /**
   * Queues a ping (RFC 6455 §5.5.2). Throws {@link LocalProtocolError} for a payload over
   * 125 bytes (§5.5), queuing nothing.
   */
  ping(data: Uint8Array | string = EMPTY): boolean {
    assertControlPayload(data);
    if (this.closeSent) return false;
    this.queue(FIN | Opcode.Ping, data);
    return true;
  }

  /**
   * Queues an unsolicited pong (RFC 6455 §5.5.3: a unidirectional heartbeat). Throws
   * {@link LocalProtocolError} for a payload over 125 bytes (§5.5), queuing nothing.
   */
  pong(data: Uint8Array | string = EMPTY): boolean {
    assertControlPayload(data);
    if (this.closeSent) return false;
    this.queue(FIN | Opcode.Pong, data);
    return true;
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2): queues a close frame with `code` (0 for
   * none) and `reason`. Returns false if a close frame was already sent. Throws
   * {@link LocalProtocolError}, queuing nothing, for a code that may not be sent (RFC 6455
   * §7.4), a reason over 123 bytes of UTF-8 or a reason without a code (§5.5.1).
   */
  close(code = 0, reason = ""): boolean {
    assertCloseFrame(code, reason);
    if (this.closeSent) return false;
    this.writeClose(code, reason);
    if (this.readyState === ReadyState.OPEN) this.readyState = ReadyState.CLOSING;
    return true;
  }

  /**
   * Drops the receiver and output queue if they hold nothing (between messages, nothing
   * queued); they are recreated on next use. Lets long-idle connections shrink.
   */
  releaseIdle(): void {
    if (this.receiver !== null && this.receiver.idle) this.receiver = null;
    if (this.output !== null && this.output.length === 0 && this.pendingPong === null) this.output = null;
  }

  /** The bytes last taken were written out at once: their buffer may be reused. */
  recycleOutput(): void {
    this.output?.recycle();
  }

  /** Takes the queued bytes for the transport (see {@link OutputQueue.take}). */
  takeOutput(): Buffer | Buffer[] | null {
    this.queuePendingPong();
    return this.output === null ? null : this.output.take();
  }

  /** Marks the connection CLOSED and drops anything queued (the transport is gone). */
  destroy(): void {
    this.readyState = ReadyState.CLOSED;
    this.receiver?.stop();
    this.output?.clear();
    this.pendingPong = null;
  }

  /** Moves the pending pong into the output queue (before anything queued after it). */
  private queuePendingPong(): void {
    const pong = this.pendingPong;
    if (pong === null) return;
    this.pendingPong = null;
    this.queueOut.pushFrame(FIN | Opcode.Pong, pong);
  }

  private writeClose(code: number, reason: string): void {
    // RFC 6455 §5.5.1: nothing may follow our close frame; a pong still due goes before it.
    this.queuePendingPong();
    this.closeSent = true;
    this.sentCloseCode = code;
    let payload: Buffer = EMPTY;
    if (code !== 0) {
      const reasonLength = reason.length === 0 ? 0 : Buffer.byteLength(reason);
      payload = Buffer.allocUnsafe(2 + reasonLength);
      payload[0] = code >>> 8;
      payload[1] = code & 0xff;
      if (reasonLength > 0) payload.write(reason, 2, "utf8");
    }
    this.queue(FIN | Opcode.Close, payload);
  }

  private queue(firstByte: number, data: Uint8Array | string): void {
    const out = this.queueOut;
    const wasEmpty = out.length === 0;
    out.pushFrame(firstByte, data);
    if (wasEmpty) this.handler.onOutput();
  }

  // ---- packed state (one `bits` field) ----------------------------------------------------

  /** The current state; starts OPEN (the handshake is done before the connection exists). */
  get readyState(): ReadyStateValue {
    return (this.bits & STATE_MASK) as ReadyStateValue;
  }
  set readyState(v: ReadyStateValue) {
    this.bits = (this.bits & ~STATE_MASK) | v;
  }

  /** Whether we have queued our close frame (RFC 6455 §5.5.1: nothing may follow it). */
  get closeSent(): boolean {
    return (this.bits & CLOSE_SENT) !== 0;
  }
  set closeSent(v: boolean) {
    this.bits = v ? this.bits | CLOSE_SENT : this.bits & ~CLOSE_SENT;
  }

  /** Whether the peer's close frame has arrived. */
  get closeReceived(): boolean {
    return (this.bits & CLOSE_RECEIVED) !== 0;
  }
  set closeReceived(v: boolean) {
    this.bits = v ? this.bits | CLOSE_RECEIVED : this.bits & ~CLOSE_RECEIVED;
  }

  /**
   * Set by the transport while the peer is not reading (its socket is over the high-water
   * mark): pongs then coalesce into one instead of queuing one per ping (RFC 6455 §5.5.3).
   */
  get coalescePongs(): boolean {
    return (this.bits & COALESCE_PONGS) !== 0;
  }
  set coalescePongs(v: boolean) {
    this.bits = v ? this.bits | COALESCE_PONGS : this.bits & ~COALESCE_PONGS;
  }

  /** True for the server side of the connection. */
  get isServer(): boolean {
    return (this.bits & IS_SERVER) !== 0;
  }

  /** The close code we sent, or 0. */
  get sentCloseCode(): number {
    return this.bits >>> SENT_CODE_SHIFT;
  }
  set sentCloseCode(code: number) {
    this.bits = (this.bits & ~(0xffff << SENT_CODE_SHIFT)) | ((code & 0xffff) << SENT_CODE_SHIFT);
  }
}

// Bits of Connection.bits: the ready state, four flags, then the close code we sent (16 bits).
const STATE_MASK = 3;
const CLOSE_SENT = 4;
const CLOSE_RECEIVED = 8;
const COALESCE_PONGS = 16;
const IS_SERVER = 32;
const SENT_CODE_SHIFT = 6;

const EMPTY = Buffer.alloc(0);

function byteLength(data: Uint8Array | string): number {
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

/**
 * RFC 6455 §5.5: all control frames have a payload of at most 125 bytes. Throws
 * {@link LocalProtocolError} otherwise. The one check every layer relies on.
 */
export function assertControlPayload(data: Uint8Array | string): void {
  if (data.length > 41 && byteLength(data) > 125) {
    throw new LocalProtocolError("WSX_ERR_CONTROL_PAYLOAD_TOO_LONG", "a control frame payload must be at most 125 bytes (RFC 6455 §5.5)");
  }
}

/**
 * RFC 6455 §5.5.1, §7.4: what a close frame may carry (code 0: a close frame without a body).
 * Throws {@link LocalProtocolError} otherwise. The one check every layer relies on.
 */
export function assertCloseFrame(code: number, reason: string): void {
  if (code === 0) {
    if (reason.length > 0) throw new LocalProtocolError("WSX_ERR_CLOSE_REASON_WITHOUT_CODE", "a close reason needs a close code (RFC 6455 §5.5.1)");
    return;
  }
  if (!isValidWireCloseCode(code)) throw new LocalProtocolError("WSX_ERR_INVALID_CLOSE_CODE", `close code ${code} may not be sent (RFC 6455 §7.4)`);
  if (reason.length > 41 && Buffer.byteLength(reason) > 123) {
    throw new LocalProtocolError("WSX_ERR_CLOSE_REASON_TOO_LONG", "a close reason must be at most 123 bytes of UTF-8 (RFC 6455 §5.5.1)");
  }
}
