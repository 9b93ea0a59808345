/**
 * One data message's bytes while its frames arrive (RFC 6455 §5.4), for the receiver: the
 * pieces of a message that does not lie whole inside one socket chunk.
 *
 * Memory: one buffer that grows by doubling, never past the message's bound (the exact final
 * size once the last frame's length is known, else the limit), so it ends exactly the
 * message's size when it arrives in one frame and the layer above may hand its ArrayBuffer on
 * without a copy ({@link takeMessageBuffer}). Before that buffer exists, the first quarter of a
 * one-frame message may be held as views of the reads (see {@link MessageAssembly.append}).
 */

/** ArrayBuffers allocated for one message and let go of once it was delivered. */
const released = new WeakSet<ArrayBuffer>();

/**
 * The ArrayBuffer behind a delivered message when nothing else can see it: the receiver
 * allocated it for this message alone (not a socket chunk, not Node's buffer pool) and it is
 * exactly the message. The caller may hand it out without a copy (WHATWG `binaryType`
 * "arraybuffer"); later calls for the same buffer return null. Null in every other case.
 */
export function takeMessageBuffer(data: Buffer): ArrayBuffer | null {
  const ab = data.buffer as ArrayBuffer;
  if (data.byteOffset !== 0 || data.length !== ab.byteLength || !released.delete(ab)) return null;
  return ab;
}

/** From this size Buffer.allocUnsafe gives a buffer its own ArrayBuffer (Node's pool is 8 KiB, used below half). */
const POOL_LIMIT = Buffer.poolSize >>> 1;
/** Smallest allocation of a message buffer (it grows by doubling up to the message's bound). */
const MIN_MESSAGE_BUFFER = 16 * 1024;
/** Pieces of a message held by reference before its buffer is allocated. */
const MAX_HELD = 32;

/** A copy of `piece` in memory of its own (not Node's shared pool, which would keep 8 KiB alive). */
function copyOf(piece: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(piece.length);
  piece.copy(copy);
  return copy;
}

/** The bytes of one message in progress. Made for a message, dropped once it is delivered. */
export class MessageAssembly {
  private buf: Buffer | null = null;
  /** The first pieces of a one-frame message, held until its buffer is allocated. */
  private held: Buffer[] | null = null;
  private length = 0;

  /**
   * Adds a piece (unmasked, validated). `fin`: it belongs to the message's last frame, which
   * ends the message at `frameEnd` bytes; `bound`: the most the message may reach (`frameEnd`
   * when `fin`, else maxPayload or the compressed limit).
   *
   * While the message is one frame and less than a quarter of it has arrived, the piece is
   * held instead of copied, so that the buffer, allocated at the exact size once a quarter is
   * here, receives every byte in one copy (a 1 MiB message in 64 KiB reads would otherwise be
   * copied into 64, 128 and 256 KiB buffers first). Bounded like the doubling it replaces: a
   * piece that is less than half of its read's memory (the read also held other frames, or a
   * Duplex hands out views of larger buffers) is held as a copy, so what held pieces keep
   * alive is at most twice what arrived; and at most {@link MAX_HELD} pieces.
   */
  append(piece: Buffer, fin: boolean, frameEnd: number, bound: number): void {
    const need = this.length + piece.length;
    let buf = this.buf;
    if (buf === null && fin && need * 4 < frameEnd && this.hold(piece)) {
      this.length = need;
      return;
    }
    if (buf === null || buf.length < need) {
      let size = buf === null ? MIN_MESSAGE_BUFFER : buf.length * 2;
      if (size < need) size = need;
      // The last frame's end is known: once a quarter of the message is here, allocate it
      // whole (skips the last doublings and their copies; still at most 4x what was sent).
      if (size > bound || (fin && need * 4 >= bound)) size = bound;
      const next = Buffer.allocUnsafe(size);
      if (buf !== null && this.length > 0) buf.copy(next, 0, 0, this.length);
      const held = this.held;
      if (held !== null) {
        // The pieces held by reference go in first, each copied once.
        this.held = null;
        let at = 0;
        for (let i = 0; i < held.length; i++) at += held[i].copy(next, at);
      }
      this.buf = buf = next;
    }
    piece.copy(buf, this.length);
    this.length = need;
  }

  /**
   * The whole message, once its last piece is in: a view of its buffer, which from then on
   * belongs to the caller (and, when it is the buffer's exact size, to {@link takeMessageBuffer}).
   */
  take(): Buffer {
    const buf = this.buf;
    // A message's last piece always allocates the buffer (it reaches a quarter of the message).
    if (buf === null) return Buffer.alloc(0);
    if (buf.length >= POOL_LIMIT) released.add(buf.buffer as ArrayBuffer);
    return buf.subarray(0, this.length);
  }

  private hold(piece: Buffer): boolean {
    let held = this.held;
    if (held !== null && held.length >= MAX_HELD) return false;
    const kept = piece.buffer.byteLength <= 2 * piece.length ? piece : copyOf(piece);
    if (held === null) this.held = held = [];
    held.push(kept);
    return true;
  }
}
