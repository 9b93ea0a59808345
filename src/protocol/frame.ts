/**
 * Frame header encoding and masking (RFC 6455 §5.2, §5.3). Decoding lives in the receiver,
 * which parses headers in place from incoming chunks.
 */

/** The largest possible frame header: 2 + 8 (64-bit length) + 4 (masking key). */
export const MAX_HEADER_SIZE = 14;

/** RFC 6455 §5.2: FIN is the most significant bit of the first byte. */
export const FIN = 0x80;
/** RFC 6455 §5.2: RSV1, used by permessage-deflate (RFC 7692 §6). */
export const RSV1 = 0x40;
/** RFC 6455 §5.2: RSV2, no extension of ours uses it. */
export const RSV2 = 0x20;
/** RFC 6455 §5.2: RSV3, no extension of ours uses it. */
export const RSV3 = 0x10;

import { simdMasker } from "./mask-simd.js";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * From this many bytes a masked copy (a client's send) goes through WebAssembly SIMD when
 * available (see mask-simd.ts); below it the call and the copies cost more than the JavaScript
 * loop saves. Measured with bench/mask.mjs.
 */
export const SIMD_MASK_MIN = 256;
/** The same for unmasking in place, where the JavaScript word loop needs no copy: 1 KiB. */
export const SIMD_UNMASK_MIN = 1024;

/** Size of a frame header for a payload of `payloadLength` bytes (RFC 6455 §5.2). */
export function headerSize(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Writes a frame header into `target` at `offset` and returns the offset after it.
 * `firstByte` is FIN | RSV1-3 | opcode. When `mask` is given (client frames, RFC 6455 §5.3)
 * the 4 bytes at `mask[maskOffset..+4]` are written as the masking key.
 */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  firstByte: number,
  payloadLength: number,
  mask?: Uint8Array,
  maskOffset = 0,
): number {
  target[offset++] = firstByte;
  const maskBit = mask === undefined ? 0 : 0x80;
  // RFC 6455 §5.2: 7-bit, 16-bit or 64-bit payload length, always the minimal encoding.
  if (payloadLength < 126) {
    target[offset++] = maskBit | payloadLength;
  } else if (payloadLength < 65536) {
    target[offset++] = maskBit | 126;
    target[offset++] = payloadLength >>> 8;
    target[offset++] = payloadLength & 0xff;
  } else {
    target[offset++] = maskBit | 127;
    const hi = Math.floor(payloadLength / 0x100000000);
    const lo = payloadLength >>> 0;
    target[offset++] = hi >>> 24;
    target[offset++] = (hi >>> 16) & 0xff;
    target[offset++] = (hi >>> 8) & 0xff;
    target[offset++] = hi & 0xff;
    target[offset++] = lo >>> 24;
    target[offset++] = (lo >>> 16) & 0xff;
    target[offset++] = (lo >>> 8) & 0xff;
    target[offset++] = lo & 0xff;
  }
  if (mask !== undefined) {
    target[offset++] = mask[maskOffset];
    target[offset++] = mask[maskOffset + 1];
    target[offset++] = mask[maskOffset + 2];
    target[offset++] = mask[maskOffset + 3];
  }
  return offset;
}

/**
 * XORs `data[start..end)` in place with the 4-byte masking key at `mask[maskOffset..+4]`
 * (RFC 6455 §5.3). `phase` is the index (mod 4) of the key byte that applies to `data[start]`,
 * so a payload split across chunks can be unmasked piece by piece.
 */
export function applyMask(
  data: Uint8Array,
  start: number,
  end: number,
  mask: Uint8Array,
  maskOffset = 0,
  phase = 0,
): void {
  applyMaskKey(data, start, end, packMaskKey(mask, maskOffset), phase);
}

/** Packs the 4 key bytes at `mask[offset..+4]` into one int: byte j is `(key >>> 8j) & 0xff`. */
export function packMaskKey(mask: Uint8Array, offset = 0): number {
  return (mask[offset] | (mask[offset + 1] << 8) | (mask[offset + 2] << 16) | (mask[offset + 3] << 24)) | 0;
}

/**
 * {@link applyMask} with the key packed by {@link packMaskKey}: no key buffer needed, so a
 * receiver keeps its current key in one number field. Works 4 bytes at a time on the aligned
 * middle of the range.
 */
export function applyMaskKey(data: Uint8Array, start: number, end: number, key: number, phase = 0): void {
  if (end - start >= SIMD_UNMASK_MIN) {
    const simd = simdMasker();
    if (simd !== null) return simd(data, start, end, data, start, key, phase);
  }
  if (end - start < 48 || !LITTLE_ENDIAN) {
    // Below ~48 bytes a byte loop beats creating a word view (measured: 27 vs 40 ns at 32 B);
    // unrolled by 4 with the key's bytes in locals, rotated so that k0 applies to data[start].
    const shift = (phase & 3) << 3;
    const k = shift === 0 ? key : (key >>> shift) | (key << (32 - shift));
    const k0 = k & 0xff;
    const k1 = (k >>> 8) & 0xff;
    const k2 = (k >>> 16) & 0xff;
    const k3 = k >>> 24;
    let j = start;
    for (const end4 = end - 3; j < end4; j += 4) {
      data[j] ^= k0;
      data[j + 1] ^= k1;
      data[j + 2] ^= k2;
      data[j + 3] ^= k3;
    }
    if (j < end) data[j++] ^= k0;
    if (j < end) data[j++] ^= k1;
    if (j < end) data[j] ^= k2;
    return;
  }
  let i = start;
  // Byte-wise up to a 4-byte boundary of the underlying ArrayBuffer.
  while (((data.byteOffset + i) & 3) !== 0) {
    data[i] ^= key >>> (((phase + i - start) & 3) << 3);
    i++;
  }
  // Rotate the key so that its byte 0 applies to data[i].
  const shift = ((phase + i - start) & 3) << 3;
  const word = shift === 0 ? key | 0 : ((key >>> shift) | (key << (32 - shift))) | 0;
  const words = (end - i) >>> 2;
  const u32 = new Int32Array(data.buffer, data.byteOffset + i, words);
  let w = 0;
  // Unrolled by 8: about twice the throughput of the plain loop in V8.
  for (; w + 8 <= words; w += 8) {
    u32[w] ^= word;
    u32[w + 1] ^= word;
    u32[w + 2] ^= word;
    u32[w + 3] ^= word;
    u32[w + 4] ^= word;
    u32[w + 5] ^= word;
    u32[w + 6] ^= word;
    u32[w + 7] ^= word;
  }
  for (; w < words; w++) u32[w] ^= word;
  i += words << 2;
  for (; i < end; i++) data[i] ^= key >>> (((phase + i - start) & 3) << 3);
}

/**
 * Copies `source[start..end)` into `target` at `offset`, masked with the key at
 * `mask[maskOffset..+4]` (RFC 6455 §5.3), in one pass. Used by clients, which must never
 * mask the caller's buffer in place.
 */
export function copyMasked(
  source: Uint8Array,
  start: number,
  end: number,
  target: Uint8Array,
  offset: number,
  mask: Uint8Array,
  maskOffset = 0,
): void {
  const n = end - start;
  if (n >= SIMD_MASK_MIN) {
    const simd = simdMasker();
    if (simd !== null) return simd(source, start, end, target, offset, packMaskKey(mask, maskOffset), 0);
  }
  if (n >= 64) {
    target.set(source.subarray(start, end), offset);
    applyMask(target, offset, offset + n, mask, maskOffset, 0);
    return;
  }
  for (let i = 0; i < n; i++) target[offset + i] = source[start + i] ^ mask[maskOffset + (i & 3)];
}

/** Options for {@link encodeFrame}. */
export interface EncodeFrameOptions {
  /** The opcode (RFC 6455 §5.2). */
  opcode: number;
  /** Payload bytes. */
  payload: Uint8Array;
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV1 bit (compressed message, RFC 7692 §6); default false. */
  rsv1?: boolean;
  /** A 4-byte masking key; when given the frame is masked (client to server). */
  mask?: Uint8Array;
}

/** Encodes one complete frame into a new Buffer (header and payload together). */
export function encodeFrame(options: EncodeFrameOptions): Buffer {
  const { opcode, payload, fin = true, rsv1 = false, mask } = options;
  const size = headerSize(payload.length, mask !== undefined);
  const out = Buffer.allocUnsafe(size + payload.length);
  const firstByte = (fin ? FIN : 0) | (rsv1 ? RSV1 : 0) | opcode;
  const offset = writeHeader(out, 0, firstByte, payload.length, mask);
  if (mask !== undefined) copyMasked(payload, 0, payload.length, out, offset, mask);
  else out.set(payload, offset);
  return out;
}

/**
 * Unmasks `data[start..end)` in place (RFC 6455 §5.3) with the 4 key bytes at `data[keyAt..]`,
 * for short payloads (a byte loop beats a word view below ~48 bytes); returns the OR of the
 * unmasked bytes: bit 7 clear means all ASCII, which is valid UTF-8.
 */
export function unmaskShort(data: Buffer, start: number, end: number, keyAt: number): number {
  const k0 = data[keyAt];
  const k1 = data[keyAt + 1];
  const k2 = data[keyAt + 2];
  const k3 = data[keyAt + 3];
  let bits = 0;
  let j = start;
  for (const end4 = end - 3; j < end4; j += 4) {
    const a = data[j] ^ k0;
    const b = data[j + 1] ^ k1;
    const c = data[j + 2] ^ k2;
    const d = data[j + 3] ^ k3;
    data[j] = a;
    data[j + 1] = b;
    data[j + 2] = c;
    data[j + 3] = d;
    bits |= a | b | c | d;
  }
  if (j < end) bits |= data[j] ^= k0;
  if (++j < end) bits |= data[j] ^= k1;
  if (++j < end) bits |= data[j] ^= k2;
  return bits;
}
