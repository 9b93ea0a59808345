/**
 * Parses the bytes a Connection or OutputQueue produced, independently of wsx's receiver,
 * so unit tests can check exactly what would go on the wire.
 */
import assert from "node:assert/strict";

/** One frame as found on the wire; `payload` is already unmasked. */
export interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  /** The masking key when the MASK bit was set (RFC 6455 §5.2), else null. */
  maskKey: Buffer | null;
  payload: Buffer;
  /** The header length in bytes. */
  headerLength: number;
}

/**
 * Parses `out` (as returned by `takeOutput()`: one buffer, several, or null) into frames;
 * asserts that it ends on a frame boundary and that every length uses the minimal encoding.
 */
export function parseWireFrames(out: Buffer | Buffer[] | null): WireFrame[] {
  const buf = out === null ? Buffer.alloc(0) : Buffer.isBuffer(out) ? out : Buffer.concat(out);
  const frames: WireFrame[] = [];
  let p = 0;
  while (p < buf.length) {
    assert.ok(buf.length - p >= 2, "truncated frame header");
    const b0 = buf[p];
    const b1 = buf[p + 1];
    let length = b1 & 0x7f;
    let h = 2;
    if (length === 126) {
      length = buf.readUInt16BE(p + 2);
      assert.ok(length >= 126, "RFC 6455 §5.2: minimal length encoding (16-bit form for < 126)");
      h = 4;
    } else if (length === 127) {
      const big = buf.readBigUInt64BE(p + 2);
      assert.equal(big >> 63n, 0n, "RFC 6455 §5.2: the MSB of a 64-bit length is 0");
      length = Number(big);
      assert.ok(length >= 65536, "RFC 6455 §5.2: minimal length encoding (64-bit form for < 65536)");
      h = 10;
    }
    let maskKey: Buffer | null = null;
    if ((b1 & 0x80) !== 0) {
      maskKey = Buffer.from(buf.subarray(p + h, p + h + 4));
      h += 4;
    }
    assert.ok(buf.length - p >= h + length, "truncated frame payload");
    const payload = Buffer.from(buf.subarray(p + h, p + h + length));
    if (maskKey !== null) for (let i = 0; i < payload.length; i++) payload[i] ^= maskKey[i & 3];
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      rsv2: (b0 & 0x20) !== 0,
      rsv3: (b0 & 0x10) !== 0,
      opcode: b0 & 0x0f,
      maskKey,
      payload,
      headerLength: h,
    });
    p += h + length;
  }
  return frames;
}
