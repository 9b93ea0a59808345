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
import { FIN, headerSize, RSV1, writeHeader } from "../protocol/frame.js";
import { Opcode } from "../protocol/opcode.js";
import type { PerMessageDeflateOptions } from "../protocol/extensions/permessage-deflate.js";
import { DEFAULT_SYNC_LIMIT } from "../transport/deflate-channel.js";
import { compressShared } from "../transport/permessage-deflate.js";

/**
 * Published frames of up to {@link SHARED_MAX} bytes are cut from a shared arena, one after
 * the other, so the frames of consecutive publishes are adjacent in memory: a subscriber that
 * gets them all queues one view over the run instead of copying each frame (OutputQueue
 * `pushRaw`). An arena is never written twice; a full one is left to the GC once no queue or
 * socket holds a view of it.
 */
const ARENA_SIZE = 16 * 1024;
const SHARED_MAX = 2 * 1024;
let arena = Buffer.allocUnsafeSlow(ARENA_SIZE);
let arenaUsed = 0;

/** Frames `payload` (unmasked, FIN set: RFC 6455 §5.2) into fresh bytes, from the arena when small. */
function frameOf(firstByte: number, payload: Uint8Array): Buffer {
  const length = payload.length;
  const size = headerSize(length, false) + length;
  let out: Buffer;
  if (size <= SHARED_MAX) {
    if (arenaUsed + size > ARENA_SIZE) {
      arena = Buffer.allocUnsafeSlow(ARENA_SIZE);
      arenaUsed = 0;
    }
    out = arena.subarray(arenaUsed, arenaUsed + size);
    arenaUsed += size;
  } else {
    out = Buffer.allocUnsafe(size);
  }
  out.set(payload, writeHeader(out, 0, firstByte, length));
  return out;
}

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
    return (this.plain ??= frameOf(FIN | (this.isBinary ? Opcode.Binary : Opcode.Text), this.bytes));
  }

  /**
   * The frame for a subscriber whose server-to-client window is `windowBits`, compressed when
   * the message reaches the threshold (RFC 7692 §7.2.1), compressed once per window size.
   * Publish is synchronous, so a message above `syncLimit` goes uncompressed rather than
   * holding the event loop (always allowed: RFC 7692 §6.1).
   */
  compressedFrame(windowBits: number): Buffer {
    const options = this.deflate;
    const size = this.bytes.length;
    if (options === null || size < (options.threshold ?? 1024) || size > (options.syncLimit ?? DEFAULT_SYNC_LIMIT)) return this.plainFrame();
    const cache = (this.compressed ??= new Map());
    let frame = cache.get(windowBits);
    if (frame === undefined) {
      // The codec's pooled compressor, reset after the message (RFC 7692 §7.1.1), tail stripped.
      const payload = compressShared(this.bytes, windowBits, options);
      frame = frameOf(FIN | RSV1 | (this.isBinary ? Opcode.Binary : Opcode.Text), payload);
      cache.set(windowBits, frame);
    }
    return frame;
  }
}
