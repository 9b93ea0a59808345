/**
 * The frames of one publish, each encoded once and shared by every subscriber that can take
 * it: an uncompressed frame, and (with permessage-deflate) one compressed frame per window
 * size for subscribers whose server-to-client direction has no context takeover.
 *
 * Why only those: with context takeover a connection's compressor and its peer's
 * decompressor share a history, and a frame compressed elsewhere would not be in it. An
 * uncompressed message is always safe, since it bypasses both (RFC 7692 §6.1), so
 * subscribers with context takeover get the uncompressed frame.
 */
import { constants, deflateRawSync } from "node:zlib";
import { encodeFrame } from "../protocol/frame.js";
import { Opcode } from "../protocol/opcode.js";
import type { PerMessageDeflateOptions } from "../protocol/extensions/permessage-deflate.js";

/** RFC 7692 §7.2.1: the empty stored block that a sync flush ends with, removed on the wire. */
const TAIL_LENGTH = 4;

/** Lazily built frames for one published message. */
export class PublishFrames {
  private plain: Buffer | null = null;
  private compressed: Map<number, Buffer> | null = null;

  constructor(
    private readonly bytes: Buffer,
    private readonly isBinary: boolean,
    private readonly deflate: PerMessageDeflateOptions | null,
  ) {}

  /** The uncompressed frame. */
  plainFrame(): Buffer {
    return (this.plain ??= encodeFrame({ opcode: this.isBinary ? Opcode.Binary : Opcode.Text, payload: this.bytes }));
  }

  /**
   * The frame for a subscriber whose server-to-client window is `windowBits`, compressed when
   * the message reaches the threshold (RFC 7692 §7.2.1), compressed once per window size.
   */
  compressedFrame(windowBits: number): Buffer {
    const options = this.deflate;
    if (options === null || this.bytes.length < (options.threshold ?? 1024)) return this.plainFrame();
    const cache = (this.compressed ??= new Map());
    let frame = cache.get(windowBits);
    if (frame === undefined) {
      // A fresh raw deflate stream, ended with a sync flush (RFC 7692 §7.2.1); zlib has no
      // 8-bit raw window, and 9 bits never reaches back beyond what an 8-bit peer keeps.
      const out = deflateRawSync(this.bytes, {
        windowBits: windowBits < 9 ? 9 : windowBits,
        level: options.level ?? constants.Z_DEFAULT_COMPRESSION,
        memLevel: options.memLevel ?? 8,
        finishFlush: constants.Z_SYNC_FLUSH,
      });
      const payload = endsWithTail(out) ? out.subarray(0, out.length - TAIL_LENGTH) : out;
      frame = encodeFrame({ opcode: this.isBinary ? Opcode.Binary : Opcode.Text, payload, rsv1: true });
      cache.set(windowBits, frame);
    }
    return frame;
  }
}

function endsWithTail(out: Buffer): boolean {
  const n = out.length;
  return n >= TAIL_LENGTH && out[n - 4] === 0x00 && out[n - 3] === 0x00 && out[n - 2] === 0xff && out[n - 1] === 0xff;
}
