/**
 * The incremental frame reader (RFC 6455 §5): bytes in, message and control events out.
 *
 * It parses from arbitrary chunk boundaries (one byte at a time works), enforces every framing
 * rule with the close code the RFC implies, validates UTF-8 as bytes arrive, and never buffers
 * past `maxPayload`. A frame that lies whole inside one chunk is unmasked in place and handed
 * on as a view of that chunk: no copy and no allocation beyond the view itself.
 */
import { CloseCode, isValidWireCloseCode } from "./close-code.js";
import { ProtocolError } from "./errors.js";
import { applyMaskKey, RSV1, RSV2, RSV3 } from "./frame.js";
import { Opcode } from "./opcode.js";
import { isValidUtf8, Utf8Validator } from "./utf8.js";

/** What the receiver reports. Implemented by the connection. */
export interface ReceiverHandler {
  /** A complete data message. `compressed` when RSV1 was set (permessage-deflate, RFC 7692 §6.1). */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void;
  /** A ping (RFC 6455 §5.5.2). */
  onPing(data: Buffer): void;
  /** A pong (RFC 6455 §5.5.3). */
  onPong(data: Buffer): void;
  /** A close frame (RFC 6455 §5.5.1); code 1005 when it carried no status code. */
  onClose(code: number, reason: string): void;
  /** The peer broke the protocol; the connection must be failed with `error.closeCode`. */
  onProtocolError(error: ProtocolError): void;
}

/** Receiver settings. */
export interface ReceiverOptions {
  /** True on the server: frames must be masked (RFC 6455 §5.1). */
  isServer: boolean;
  /** Largest message (and so frame) payload accepted, in bytes; larger gives 1009. */
  maxPayload: number;
  /** Whether an extension that uses RSV1 (permessage-deflate) was negotiated. */
  allowRsv1?: boolean;
}

const enum State {
  Header,
  Payload,
  Done,
}

const EMPTY = Buffer.alloc(0);

/** Incremental RFC 6455 frame parser. Feed it with {@link Receiver.push}. */
export class Receiver {
  private readonly handler: ReceiverHandler;
  private readonly isServer: boolean;
  private readonly maxPayload: number;
  private allowRsv1: boolean;

  private state = State.Header;
  private paused = false;
  /** Unparsed bytes kept while paused. */
  private pending: Buffer | null = null;
  /** A header split across chunks is gathered here (at most 14 bytes). */
  private headerBuf: Buffer | null = null;
  private headerHave = 0;

  // Current frame.
  private fin = false;
  private opcode = 0;
  private masked = false;
  /** The frame's masking key, packed (see packMaskKey): a number, not a buffer per connection. */
  private maskKey = 0;
  private payloadLength = 0;
  /** Payload bytes of the current frame received so far (when split across chunks). */
  private frameParts: Buffer[] | null = null;
  private frameHave = 0;

  // Current (fragmented) message.
  private messageOpcode = 0;
  private messageCompressed = false;
  private messageParts: Buffer[] | null = null;
  private messageLength = 0;
  private utf8: Utf8Validator | null = null;

  constructor(handler: ReceiverHandler, options: ReceiverOptions) {
    this.handler = handler;
    this.isServer = options.isServer;
    this.maxPayload = options.maxPayload > 0 ? options.maxPayload : Number.MAX_SAFE_INTEGER;
    this.allowRsv1 = options.allowRsv1 === true;
  }

  /** Enables RSV1 once permessage-deflate is negotiated. */
  setAllowRsv1(allow: boolean): void {
    this.allowRsv1 = allow;
  }

  /** Whether the receiver has stopped for good (after a close frame or a protocol error). */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** Whether the receiver sits between messages with nothing buffered (it may be dropped). */
  get idle(): boolean {
    return (
      this.state === State.Header &&
      this.headerHave === 0 &&
      this.messageOpcode === 0 &&
      !this.paused &&
      this.pending === null &&
      this.frameParts === null
    );
  }

  /** Stops delivering events after the current one until {@link resume}; bytes are kept. */
  pause(): void {
    this.paused = true;
  }

  /** Resumes delivery, first from the bytes kept while paused. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      this.push(pending);
    }
  }

  /** Stops the receiver for good: later bytes are ignored. */
  stop(): void {
    this.state = State.Done;
    this.pending = null;
    this.frameParts = null;
    this.messageParts = null;
  }

  /** Feeds bytes from the network. The receiver may unmask `chunk` in place. */
  push(chunk: Buffer): void {
    if (this.state === State.Done) return;
    if (this.paused) {
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
      return;
    }
    let pos = 0;
    const len = chunk.length;
    for (;;) {
      const state = this.state as State;
      if (state === State.Header) {
        if (pos >= len) return;
        pos = this.readHeader(chunk, pos);
        if (pos < 0) return; // a protocol error, or the header is incomplete
      } else if (state === State.Payload) {
        // A zero-length payload completes even at the end of a chunk.
        if (pos >= len && this.payloadLength > this.frameHave) return;
        pos = this.readPayload(chunk, pos);
        if (pos < 0) return;
        if (this.paused) {
          if (pos < len) this.pending = chunk.subarray(pos);
          return;
        }
      } else {
        return;
      }
    }
  }

  /** Parses a header at `chunk[pos..]`; returns the position after it, or -1 if it needs more. */
  private readHeader(chunk: Buffer, pos: number): number {
    let buf = chunk;
    let at = pos;
    const available = chunk.length - pos;
    if (this.headerHave > 0 || available < 2 || available < this.neededHeader(chunk[pos + 1])) {
      // Slow path: gather the header across chunks.
      const hb = (this.headerBuf ??= Buffer.allocUnsafe(14));
      let p = pos;
      while (p < chunk.length) {
        if (this.headerHave >= 2 && this.headerHave >= this.neededHeader(hb[1])) break;
        hb[this.headerHave++] = chunk[p++];
      }
      if (this.headerHave < 2 || this.headerHave < this.neededHeader(hb[1])) return -1;
      buf = hb;
      at = 0;
      this.headerHave = 0;
      if (!this.parseHeader(buf, at)) return -1;
      return p;
    }
    const next = this.parseHeaderAt(buf, at);
    return next;
  }

  /** Header length implied by the second byte (RFC 6455 §5.2). */
  private neededHeader(b1: number): number {
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  private parseHeaderAt(buf: Buffer, at: number): number {
    if (!this.parseHeader(buf, at)) return -1;
    return at + this.neededHeader(buf[at + 1]);
  }

  /** Validates and records a complete header at `buf[at..]`. False after a protocol error. */
  private parseHeader(buf: Buffer, at: number): boolean {
    const b0 = buf[at];
    const b1 = buf[at + 1];
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const rsv1 = (b0 & RSV1) !== 0;
    const masked = (b1 & 0x80) !== 0;

    // RFC 6455 §5.2: RSV2/RSV3 must be 0 with no extension defining them.
    if ((b0 & (RSV2 | RSV3)) !== 0) return this.fail(CloseCode.ProtocolError, "RSV2 and RSV3 must be clear");
    const isControl = (opcode & 0x8) !== 0;
    if (isControl) {
      // RFC 6455 §5.2: opcodes %xB-F are reserved.
      if (opcode > Opcode.Pong) return this.fail(CloseCode.ProtocolError, `reserved opcode 0x${opcode.toString(16)}`);
      // RFC 6455 §5.5: control frames must not be fragmented.
      if (!fin) return this.fail(CloseCode.ProtocolError, "fragmented control frame");
      // RFC 7692 §6.1: RSV1 is only meaningful on the first frame of a data message.
      if (rsv1) return this.fail(CloseCode.ProtocolError, "RSV1 set on a control frame");
    } else if (opcode === Opcode.Continuation) {
      // RFC 6455 §5.4: a continuation needs a message in progress.
      if (this.messageOpcode === 0) return this.fail(CloseCode.ProtocolError, "continuation frame without a message in progress");
      if (rsv1) return this.fail(CloseCode.ProtocolError, "RSV1 set on a continuation frame");
    } else {
      // RFC 6455 §5.2: opcodes %x3-7 are reserved.
      if (opcode > Opcode.Binary) return this.fail(CloseCode.ProtocolError, `reserved opcode 0x${opcode.toString(16)}`);
      // RFC 6455 §5.4: a new data frame inside a fragmented message is an error.
      if (this.messageOpcode !== 0) return this.fail(CloseCode.ProtocolError, "new data frame inside a fragmented message");
      // RFC 6455 §5.2: RSV1 needs a negotiated extension (RFC 7692 §6).
      if (rsv1 && !this.allowRsv1) return this.fail(CloseCode.ProtocolError, "RSV1 set without a negotiated extension");
    }
    // RFC 6455 §5.1: client frames are masked, server frames are not.
    if (masked !== this.isServer) {
      return this.fail(CloseCode.ProtocolError, this.isServer ? "unmasked frame from a client" : "masked frame from a server");
    }

    let length = b1 & 0x7f;
    let p = at + 2;
    if (length === 126) {
      length = (buf[p] << 8) | buf[p + 1];
      p += 2;
    } else if (length === 127) {
      const hi = buf.readUInt32BE(p);
      const lo = buf.readUInt32BE(p + 4);
      p += 8;
      // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
      if (hi & 0x80000000) return this.fail(CloseCode.ProtocolError, "64-bit payload length with the most significant bit set");
      length = hi * 0x100000000 + lo;
    }
    if (isControl) {
      // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
      if (length > 125) return this.fail(CloseCode.ProtocolError, "control frame payload over 125 bytes");
    } else if (length > this.maxPayload - this.messageLength) {
      // Checked before any payload byte is buffered.
      return this.fail(CloseCode.MessageTooBig, `message exceeds maxPayload (${this.maxPayload} bytes)`);
    }
    if (masked) this.maskKey = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) | 0;
    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadLength = length;
    this.frameHave = 0;
    if (!isControl && opcode !== Opcode.Continuation) {
      this.messageOpcode = opcode;
      this.messageCompressed = rsv1;
    }
    this.state = State.Payload;
    return true;
  }

  /** Consumes payload bytes from `chunk[pos..]`; returns the new position or -1 on error. */
  private readPayload(chunk: Buffer, pos: number): number {
    const want = this.payloadLength - this.frameHave;
    const available = chunk.length - pos;
    if (this.frameParts === null && available >= want) {
      // Fast path: the whole payload is in this chunk.
      const end = pos + want;
      if (this.masked && want > 0) applyMaskKey(chunk, pos, end, this.maskKey, 0);
      const payload = want === 0 ? EMPTY : chunk.subarray(pos, end);
      this.state = State.Header;
      return this.frameComplete(payload, true) ? end : -1;
    }
    // Slow path: the payload spans chunks; unmask and validate each piece as it arrives.
    const take = available < want ? available : want;
    const piece = chunk.subarray(pos, pos + take);
    if (this.masked && take > 0) applyMaskKey(piece, 0, take, this.maskKey, this.frameHave & 3);
    if (!this.validatePiece(piece)) return -1;
    (this.frameParts ??= []).push(piece);
    this.frameHave += take;
    if (this.frameHave < this.payloadLength) return pos + take;
    const parts = this.frameParts;
    this.frameParts = null;
    const payload = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.payloadLength);
    this.state = State.Header;
    return this.frameComplete(payload, false) ? pos + take : -1;
  }

  /** Fail-fast UTF-8 check of a text payload piece (RFC 6455 §8.1), not for compressed data. */
  private validatePiece(piece: Buffer): boolean {
    if ((this.opcode & 0x8) !== 0 || this.messageOpcode !== Opcode.Text || this.messageCompressed) return true;
    const v = (this.utf8 ??= new Utf8Validator());
    if (this.messageParts === null && this.frameHave === 0) v.reset();
    if (!v.feed(piece)) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message");
    return true;
  }

  /** A whole frame payload is in; `fresh` when it was not yet UTF-8-validated piecewise. */
  private frameComplete(payload: Buffer, fresh: boolean): boolean {
    const opcode = this.opcode;
    if ((opcode & 0x8) !== 0) return this.controlFrame(opcode, payload);

    const isText = this.messageOpcode === Opcode.Text && !this.messageCompressed;
    if (this.fin && this.messageParts === null) {
      // A whole message in one frame.
      if (isText && fresh && !isValidUtf8(payload)) {
        return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message");
      }
      if (isText && !fresh && !this.utf8!.complete) {
        return this.fail(CloseCode.InvalidFramePayloadData, "truncated UTF-8 sequence at the end of a text message");
      }
      return this.deliver(payload);
    }
    // A fragment: validate now (fail fast), keep, and deliver at FIN.
    if (isText && fresh) {
      const v = (this.utf8 ??= new Utf8Validator());
      if (this.messageParts === null) v.reset();
      if (!v.feed(payload)) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message");
    }
    if (payload.length > 0) {
      // Fragments are kept as views and copied once, at FIN.
      (this.messageParts ??= []).push(payload);
    } else {
      this.messageParts ??= [];
    }
    this.messageLength += payload.length;
    if (!this.fin) return true;
    if (isText && !this.utf8!.complete) {
      return this.fail(CloseCode.InvalidFramePayloadData, "truncated UTF-8 sequence at the end of a text message");
    }
    const parts = this.messageParts!;
    const data = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.messageLength);
    return this.deliver(data);
  }

  private deliver(data: Buffer): boolean {
    const isBinary = this.messageOpcode === Opcode.Binary;
    const compressed = this.messageCompressed;
    this.messageOpcode = 0;
    this.messageCompressed = false;
    this.messageParts = null;
    this.messageLength = 0;
    this.handler.onMessage(data, isBinary, compressed);
    return this.state !== State.Done;
  }

  private controlFrame(opcode: number, payload: Buffer): boolean {
    if (opcode === Opcode.Ping) {
      this.handler.onPing(payload);
    } else if (opcode === Opcode.Pong) {
      this.handler.onPong(payload);
    } else {
      // RFC 6455 §5.5.1: an optional 2-byte code, then an optional UTF-8 reason.
      if (payload.length === 1) return this.fail(CloseCode.ProtocolError, "close frame with a 1-byte payload");
      let code: number = CloseCode.NoStatusReceived;
      let reason = "";
      if (payload.length >= 2) {
        code = (payload[0] << 8) | payload[1];
        // RFC 6455 §7.4: reserved and undefined codes are a protocol error.
        if (!isValidWireCloseCode(code)) return this.fail(CloseCode.ProtocolError, `invalid close code ${code}`);
        if (payload.length > 2) {
          const raw = payload.subarray(2);
          // RFC 6455 §5.5.1: the reason is UTF-8.
          if (!isValidUtf8(raw)) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in the close reason");
          reason = raw.toString("utf8");
        }
      }
      this.stop();
      this.handler.onClose(code, reason);
      return false;
    }
    return this.state !== State.Done;
  }

  private fail(code: number, message: string): false {
    this.stop();
    this.handler.onProtocolError(new ProtocolError(code, message));
    return false;
  }
}
