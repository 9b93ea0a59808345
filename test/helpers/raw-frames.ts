/**
 * The raw peer's own frame codec (RFC 6455 §5.2), written independently of wsx's protocol
 * code so tests can check wsx against it: a frame encoder that can produce any header the
 * RFC allows or forbids, close payloads, the handshake accept value, and a parser for frames
 * a server sends (which it checks against the rules a server must follow).
 */
import { createHash, randomBytes } from "node:crypto";

/** The RFC 6455 GUID for Sec-WebSocket-Accept (§1.3). */
export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** A frame to encode with {@link encodeFrame}; every field a test may want to get wrong is settable. */
export interface FrameSpec {
  /** 4-bit opcode (any value 0-15, reserved ones included). */
  opcode: number;
  /** Payload; a string is UTF-8 encoded, an array of numbers taken as bytes. Default empty. */
  payload?: string | Uint8Array | readonly number[];
  /** FIN bit, default true. */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Mask the payload (a client MUST, RFC 6455 §5.3); default true. */
  mask?: boolean;
  /** The 4-byte masking key; default random. */
  maskKey?: Uint8Array | readonly number[];
  /** Force the length form: 0 (7-bit), 2 (16-bit) or 8 (64-bit) extra length bytes; default minimal. */
  lengthBytes?: 0 | 2 | 8;
}

/** A frame as the raw peer parsed it. */
export interface RawFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  /** The payload (unmasked). */
  payload: Buffer;
}

/**
 * Encodes one frame exactly as specified (all three length forms, optional masking).
 *
 * @example socket.write(encodeFrame({ opcode: Opcode.PING, payload: "x", mask: true }));
 */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload =
    typeof spec.payload === "string"
      ? Buffer.from(spec.payload, "utf8")
      : spec.payload === undefined
        ? Buffer.alloc(0)
        : !(spec.payload instanceof Uint8Array)
          ? Buffer.from(spec.payload)
          : Buffer.from(spec.payload.buffer, spec.payload.byteOffset, spec.payload.byteLength); // a view, not a copy
  const mask = spec.mask ?? true;
  const n = payload.length;
  const lengthBytes = spec.lengthBytes ?? (n < 126 ? 0 : n < 0x10000 ? 2 : 8);
  if (lengthBytes === 0 && n > 125) throw new RangeError(`encodeFrame: ${n} bytes do not fit the 7-bit length`);
  if (lengthBytes === 2 && n > 0xffff) throw new RangeError(`encodeFrame: ${n} bytes do not fit the 16-bit length`);
  if (spec.opcode < 0 || spec.opcode > 15) throw new RangeError(`encodeFrame: opcode ${spec.opcode} is not 4 bits`);
  const header = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  header[0] =
    ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv1 === true ? 0x40 : 0) | (spec.rsv2 === true ? 0x20 : 0) | (spec.rsv3 === true ? 0x10 : 0) | spec.opcode;
  header[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? n : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(n, 2);
  else if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(n), 2);
  if (!mask) return Buffer.concat([header, payload]);
  const key = spec.maskKey !== undefined ? Buffer.from(spec.maskKey) : randomBytes(4);
  if (key.length !== 4) throw new RangeError("encodeFrame: maskKey must be 4 bytes");
  key.copy(header, 2 + lengthBytes);
  // Masked in place into one buffer: a large payload is copied once, not three times.
  const frame = Buffer.allocUnsafe(header.length + n);
  header.copy(frame, 0);
  for (let i = 0, o = header.length; i < n; i++, o++) frame[o] = payload[i] ^ key[i & 3];
  return frame;
}

/** The payload of a close frame (RFC 6455 §5.5.1): 2-byte code then UTF-8 reason; no code gives an empty payload. */
export function closePayload(code?: number, reason: string | Uint8Array = ""): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const r = typeof reason === "string" ? Buffer.from(reason, "utf8") : Buffer.from(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

/**
 * Decodes a close frame's payload. An empty payload is code 1005 ("no status received",
 * RFC 6455 §7.1.5); a 1-byte payload is invalid and gives code null.
 */
export function parseClosePayload(payload: Buffer): { code: number | null; reason: string } {
  if (payload.length === 0) return { code: 1005, reason: "" };
  if (payload.length === 1) return { code: null, reason: "" };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString("utf8") };
}

/** The Sec-WebSocket-Accept value for a key (RFC 6455 §4.2.2, step 5.4). */
export function acceptFor(key: string): string {
  return createHash("sha1").update(key + WS_GUID).digest("base64");
}

/** Bytes received but not yet parsed, kept as chunks (no quadratic copying of large frames). */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes held. */
  length = 0;

  /** Appends a chunk (kept by reference). */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `n` bytes (n <= length), without consuming them. */
  peek(n: number): Buffer {
    if (this.chunks.length > 0 && this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const first = this.chunks[0];
      const want = n - filled;
      if (first.length <= want) {
        first.copy(out, filled);
        filled += first.length;
        this.chunks.shift();
      } else {
        first.copy(out, filled, 0, want);
        this.chunks[0] = first.subarray(want);
        filled += want;
      }
    }
    this.length -= n;
    return out;
  }
}

/**
 * Parses one server frame from the front of `queue`: the frame, null when more bytes are
 * needed, or throws on bytes a server must not send (a masked frame, RFC 6455 §5.1; a 64-bit
 * length with its most significant bit set or a non-minimal length, §5.2).
 */
export function parseServerFrame(queue: ByteQueue): RawFrame | null {
  if (queue.length < 2) return null;
  const b = queue.peek(2);
  const masked = (b[1] & 0x80) !== 0;
  const len7 = b[1] & 0x7f;
  const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const headerLength = 2 + extra + (masked ? 4 : 0);
  if (queue.length < headerLength) return null;
  const header = queue.peek(headerLength);
  if (masked) throw new Error("the server sent a masked frame (RFC 6455 5.1: a server MUST NOT mask frames)");
  let length = len7;
  if (len7 === 126) {
    length = header.readUInt16BE(2);
    if (length < 126) throw new Error(`the server used a 16-bit length for ${length} bytes (RFC 6455 5.2: minimal encoding)`);
  } else if (len7 === 127) {
    const big = header.readBigUInt64BE(2);
    if (big >> 63n !== 0n) throw new Error("the server sent a 64-bit length with the most significant bit set (RFC 6455 5.2)");
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`the server announced a ${big}-byte frame`);
    length = Number(big);
    if (length <= 0xffff) throw new Error(`the server used a 64-bit length for ${length} bytes (RFC 6455 5.2: minimal encoding)`);
  }
  if (queue.length < headerLength + length) return null;
  const first = header[0];
  queue.take(headerLength);
  const payload = queue.take(length);
  return {
    fin: (first & 0x80) !== 0,
    rsv1: (first & 0x40) !== 0,
    rsv2: (first & 0x20) !== 0,
    rsv3: (first & 0x10) !== 0,
    opcode: first & 0x0f,
    payload,
  };
}

/** `b` as `12 bytes: "text\x00…"`, for error messages. */
export function describeBytes(b: Buffer): string {
  const text = b
    .subarray(0, 200)
    .toString("latin1")
    .replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `${b.length} bytes: "${text}${b.length > 200 ? "…" : ""}"`;
}
