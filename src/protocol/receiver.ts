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
import { applyMaskKey, RSV1, RSV2, RSV3, unmaskShort } from "./frame.js";
import { Opcode } from "./opcode.js";
import { MessageAssembly } from "./message-assembly.js";
import { isValidUtf8, Utf8Validator } from "./utf8.js";

import { compressedLimit, DEFAULT_MAX_FRAGMENTS, type ReceiverHandler, type ReceiverOptions } from "./receiver-options.js";

export { takeMessageBuffer } from "./message-assembly.js";
export { compressedLimit, DEFAULT_MAX_FRAGMENTS, type ReceiverHandler, type ReceiverOptions } from "./receiver-options.js";

const enum State {
  Header,
  Payload,
  Done,
}

const EMPTY = Buffer.alloc(0);

/**
 * Incremental RFC 6455 frame parser. Feed it with {@link Receiver.push}.
 *
 * Memory held for a message in progress is one {@link MessageAssembly}: at most the message's
 * limit (maxPayload, or {@link compressedLimit} when compressed), whatever the fragmentation;
 * plus a 14-byte header buffer and, for a control frame split across reads, its payload (at
 * most 125 bytes).
 */
export class Receiver {
  private readonly handler: ReceiverHandler;
  private readonly isServer: boolean;
  private readonly maxPayload: number;
  private readonly maxCompressed: number;
  private readonly maxFragments: number;
  private allowRsv1: boolean;
  private readonly streamMessages: boolean;
  /** With streamMessages: whether the current message's first piece went out. */
  private streamStarted = false;

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
  /** Payload bytes of the current frame received so far. */
  private frameHave = 0;
  /** A control frame's payload split across chunks (at most 125 bytes). */
  private control: Buffer | null = null;

  // Current message (RFC 6455 §5.4: its frames, interleaved with control frames).
  private messageOpcode = 0;
  private messageCompressed = false;
  /** Data frames of the current message so far. */
  private messageFrames = 0;
  /** The message's bytes, unless it arrives as one frame inside one chunk (then a view). */
  private message: MessageAssembly | null = null;
  private messageLength = 0;
  /** What messageLength will be once the current data frame is complete. */
  private frameEnd = 0;
  private utf8: Utf8Validator | null = null;

  constructor(handler: ReceiverHandler, options: ReceiverOptions) {
    this.handler = handler;
    this.isServer = options.isServer;
    this.maxPayload = options.maxPayload > 0 ? options.maxPayload : Number.MAX_SAFE_INTEGER;
    this.maxCompressed = compressedLimit(this.maxPayload);
    const maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.maxFragments = maxFragments > 0 ? maxFragments : Number.MAX_SAFE_INTEGER;
    this.allowRsv1 = options.allowRsv1 === true;
    this.streamMessages = options.streamMessages === true;
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
      this.message === null
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
    this.control = null;
    this.message = null;
  }

  /**
   * Feeds bytes from the network. The receiver may unmask `chunk` in place, hand on views of
   * it, and keep views of it until the message they belong to is delivered: `chunk` must not
   * be reused afterwards (as with a socket's `data` chunks).
   */
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
        if (this.headerHave === 0 && this.messageOpcode === 0 && !this.streamMessages) {
          pos = this.readShortMessages(chunk, pos);
          if (pos < 0 || pos >= len) return;
        }
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

  /**
   * The common case, in one pass: whole one-frame messages with a 7-bit length (RFC 6455
   * §5.2), back to back in `chunk` from `pos`, with no message in progress. A first byte of
   * 0x81 or 0x82 is FIN, RSV1-3 clear and a text or binary opcode: every rule of §5.2 and
   * §5.4 holds for it; masking (§5.1) and maxPayload are checked here, UTF-8 (§5.6) too, on
   * the bytes as they are unmasked (ASCII needs no other check). Stops at the first frame it
   * does not take (control, fragmented, compressed, longer, incomplete, or breaking a rule)
   * and returns its position, for the general path to parse and report; -1 once the receiver
   * stopped or paused (the rest of `chunk` kept).
   */
  private readShortMessages(chunk: Buffer, pos: number): number {
    const len = chunk.length;
    const maskBit = this.isServer ? 0x80 : 0;
    const limit = this.maxPayload < 125 ? this.maxPayload : 125;
    while (pos + 2 <= len) {
      const b0 = chunk[pos];
      if (b0 !== 0x82 && b0 !== 0x81) break;
      const b1 = chunk[pos + 1];
      const length = b1 & 0x7f;
      if ((b1 & 0x80) !== maskBit || length > limit) break;
      const start = maskBit === 0 ? pos + 2 : pos + 6;
      const end = start + length;
      if (end > len) break;
      let bits = 0;
      if (maskBit !== 0) bits = unmaskShort(chunk, start, end, pos + 2);
      else if (b0 === 0x81) bits = 0x80; // not unmasked here: validated below
      const data = length === 0 ? EMPTY : chunk.subarray(start, end);
      if (b0 === 0x81 && (bits & 0x80) !== 0 && !isValidUtf8(data)) {
        this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message");
        return -1;
      }
      pos = end;
      this.handler.onMessage(data, b0 === 0x82, false);
      if (this.state === State.Done) return -1;
      if (this.paused) {
        if (pos < len) this.pending = chunk.subarray(pos);
        return -1;
      }
    }
    return pos;
  }

  /** Parses a header at `chunk[pos..]`; returns the position after it, or -1 if it needs more. */
  private readHeader(chunk: Buffer, pos: number): number {
    const available = chunk.length - pos;
    if (this.headerHave === 0 && available >= 2) {
      // Fast path: the whole header is in this chunk.
      const needed = this.neededHeader(chunk[pos + 1]);
      if (available >= needed) return this.parseHeader(chunk, pos) ? pos + needed : -1;
    }
    // Slow path: gather the header across chunks.
    const hb = (this.headerBuf ??= Buffer.allocUnsafe(14));
    let p = pos;
    while (p < chunk.length) {
      if (this.headerHave >= 2 && this.headerHave >= this.neededHeader(hb[1])) break;
      hb[this.headerHave++] = chunk[p++];
    }
    if (this.headerHave < 2 || this.headerHave < this.neededHeader(hb[1])) return -1;
    this.headerHave = 0;
    return this.parseHeader(hb, 0) ? p : -1;
  }

  /** Header length implied by the second byte (RFC 6455 §5.2). */
  private neededHeader(b1: number): number {
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
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
    } else {
      const first = opcode !== Opcode.Continuation;
      const compressed = first ? rsv1 : this.messageCompressed;
      // Checked before any payload byte is buffered; a compressed message is bounded again
      // after inflation, by the codec, at exactly maxPayload.
      if (length > (compressed ? this.maxCompressed : this.maxPayload) - this.messageLength) {
        return this.fail(CloseCode.MessageTooBig, `message exceeds maxPayload (${this.maxPayload} bytes)`);
      }
      if (first) {
        this.messageOpcode = opcode;
        this.messageCompressed = rsv1;
        this.messageFrames = 1;
        if (this.utf8 !== null) this.utf8.reset();
      } else if (++this.messageFrames > this.maxFragments) {
        // Every frame costs parsing; a bound on their number stops empty-fragment floods.
        return this.fail(CloseCode.PolicyViolation, `message exceeds ${this.maxFragments} fragments`);
      }
      this.frameEnd = this.messageLength + length;
    }
    if (masked) this.maskKey = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) | 0;
    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadLength = length;
    this.frameHave = 0;
    this.state = State.Payload;
    return true;
  }

  /** Consumes payload bytes from `chunk[pos..]`; returns the new position or -1 on error. */
  private readPayload(chunk: Buffer, pos: number): number {
    if (this.streamMessages && (this.opcode & 0x8) === 0 && !this.messageCompressed) return this.streamPayload(chunk, pos);
    const want = this.payloadLength - this.frameHave;
    const available = chunk.length - pos;
    const isControl = (this.opcode & 0x8) !== 0;
    if (available >= want && this.frameHave === 0 && (isControl || (this.fin && this.messageFrames === 1))) {
      // Fast path: a control frame or a one-frame message, whole in this chunk: a view of it.
      const end = pos + want;
      if (this.masked && want > 0) applyMaskKey(chunk, pos, end, this.maskKey, 0);
      const payload = want === 0 ? EMPTY : chunk.subarray(pos, end);
      this.state = State.Header;
      if (isControl) return this.controlFrame(this.opcode, payload) ? end : -1;
      if (this.messageOpcode === Opcode.Text && !this.messageCompressed && !isValidUtf8(payload)) {
        this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message");
        return -1;
      }
      return this.deliver(payload) ? end : -1;
    }
    // Slow path: unmask (and validate) each piece as it arrives, and copy it.
    const take = available < want ? available : want;
    const piece = chunk.subarray(pos, pos + take);
    if (this.masked && take > 0) applyMaskKey(piece, 0, take, this.maskKey, this.frameHave & 3);
    if (isControl) {
      const control = (this.control ??= Buffer.allocUnsafe(this.payloadLength));
      piece.copy(control, this.frameHave);
      this.frameHave += take;
      if (this.frameHave < this.payloadLength) return pos + take;
      this.control = null;
      this.state = State.Header;
      return this.controlFrame(this.opcode, control) ? pos + take : -1;
    }
    if (!this.validatePiece(piece)) return -1;
    if (take > 0) {
      const bound = this.fin ? this.frameEnd : this.messageCompressed ? this.maxCompressed : this.maxPayload;
      (this.message ??= new MessageAssembly()).append(piece, this.fin, this.frameEnd, bound);
      this.messageLength += take;
    }
    this.frameHave += take;
    if (this.frameHave < this.payloadLength) return pos + take;
    this.state = State.Header;
    if (!this.fin) return pos + take;
    if (this.messageOpcode === Opcode.Text && !this.messageCompressed && !this.utf8!.complete) {
      this.fail(CloseCode.InvalidFramePayloadData, "truncated UTF-8 sequence at the end of a text message");
      return -1;
    }
    const data = this.message === null ? EMPTY : this.message.take();
    return this.deliver(data) ? pos + take : -1;
  }

  /**
   * streamMessages: hands on the payload bytes of `chunk[pos..]` at once (unmasked in place,
   * UTF-8-checked for text) instead of keeping them; returns the new position or -1.
   */
  private streamPayload(chunk: Buffer, pos: number): number {
    const want = this.payloadLength - this.frameHave;
    const available = chunk.length - pos;
    const take = available < want ? available : want;
    const piece = take === 0 ? EMPTY : chunk.subarray(pos, pos + take);
    if (this.masked && take > 0) applyMaskKey(piece, 0, take, this.maskKey, this.frameHave & 3);
    const first = !this.streamStarted;
    const isText = this.messageOpcode === Opcode.Text;
    if (isText) {
      // RFC 6455 §8.1: checked as the bytes pass, across fragments.
      const v = (this.utf8 ??= new Utf8Validator());
      if (first) v.reset();
      if (!v.feed(piece)) {
        this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message");
        return -1;
      }
    }
    this.frameHave += take;
    const frameDone = this.frameHave === this.payloadLength;
    const fin = frameDone && this.fin;
    if (fin && isText && !this.utf8!.complete) {
      this.fail(CloseCode.InvalidFramePayloadData, "truncated UTF-8 sequence at the end of a text message");
      return -1;
    }
    // An empty piece says nothing unless it starts or ends the message.
    if (take === 0 && !first && !fin) {
      if (frameDone) this.state = State.Header;
      return pos;
    }
    const isBinary = this.messageOpcode === Opcode.Binary;
    this.streamStarted = true;
    if (frameDone) {
      this.state = State.Header;
      // maxPayload bounds the whole message: later fragments are checked against the rest.
      this.messageLength += this.payloadLength;
    }
    if (fin) {
      this.messageOpcode = 0;
      this.messageFrames = 0;
      this.messageLength = 0;
      this.streamStarted = false;
    }
    this.handler.onMessageChunk!(piece, isBinary, first, fin);
    return this.state === State.Done ? -1 : pos + take;
  }

  /** Fail-fast UTF-8 check of a text payload piece (RFC 6455 §8.1), not for compressed data. */
  private validatePiece(piece: Buffer): boolean {
    if (this.messageOpcode !== Opcode.Text || this.messageCompressed) return true;
    const v = (this.utf8 ??= new Utf8Validator());
    if (!v.feed(piece)) return this.fail(CloseCode.InvalidFramePayloadData, "invalid UTF-8 in a text message");
    return true;
  }

  private deliver(data: Buffer): boolean {
    const isBinary = this.messageOpcode === Opcode.Binary;
    const compressed = this.messageCompressed;
    this.messageOpcode = 0;
    this.messageCompressed = false;
    this.messageFrames = 0;
    this.message = null;
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
